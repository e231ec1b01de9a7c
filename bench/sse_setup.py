"""Prepares Herald for the SSE fan-out benchmark: a workspace, members u0..uN-1,
and a file with one member token per line (HS256, signed here with the
workspace's signing secret, as a host backend would). Prints the API key."""
import base64
import hashlib
import hmac
import http.client
import json
import sys
import time
from urllib.parse import urlparse

url, admin, users, tokens_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
u = urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port)


def call(method, path, token, body):
    conn.request(method, path, body=json.dumps(body),
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit("%s %s -> %d %s" % (method, path, r.status, data[:200]))
    return json.loads(data) if data else None


ws = call("POST", "/v1/workspaces", admin, {"id": "sse", "name": "SSE bench", "timezone": "UTC"})
key, secret = ws["api_key"], ws["signing_secret"]
for i in range(users):
    call("PUT", "/v1/members/u%d" % i, key, {"name": "User %d" % i, "role": "practitioner"})


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


now = int(time.time())
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
with open(tokens_path, "w") as f:
    for i in range(users):
        body = b64(json.dumps({"sub": "u%d" % i, "ws": "sse", "iat": now, "exp": now + 86000}).encode())
        sig = b64(hmac.new(secret.encode(), (head + "." + body).encode(), hashlib.sha256).digest())
        f.write("%s.%s.%s\n" % (head, body, sig))
print(key)
