"""A local HTTP server that plays an SMS provider for the tests: Twilio's
Messages API shape and a generic JSON gateway. It keeps every request and
answers as the test scripts it, per recipient number:

  peer.script["+15550100"] = [(500, {}, ""), (429, {"Retry-After": "120"}, ""),
                              "close", ("slow", 0.5)]  # then the default answer

An answer's body is JSON (a dict or list), text, or bytes sent as they are.
"""
import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field


@dataclass
class Request:
    path: str
    headers: dict
    body: bytes
    form: dict = field(default_factory=dict)
    json: dict = None

    @property
    def to(self):
        return self.form.get("To") or (self.json or {}).get("to")


class SmsPeer:
    def __init__(self):
        self.requests = []
        self.script = {}
        self.lock = threading.Lock()
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                req = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                ctype = req.headers.get("content-type", "")
                if ctype.startswith("application/x-www-form-urlencoded"):
                    req.form = dict(urllib.parse.parse_qsl(body.decode(), strict_parsing=True))
                elif ctype.startswith("application/json"):
                    req.json = json.loads(body)
                with peer.lock:
                    peer.requests.append(req)
                    plan = peer.script.get(req.to)
                    answer = plan.pop(0) if plan else None
                if isinstance(answer, tuple) and answer[0] == "slow":
                    time.sleep(answer[1])  # a slow gateway: the answer comes late
                    answer = None
                if answer == "close":  # no answer at all
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if answer is None:
                    answer = peer.default(req, len(peer.requests))
                status, headers, text = answer
                data = (text if isinstance(text, bytes) else text.encode()
                        if isinstance(text, str) else json.dumps(text).encode())
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def default(req, n):
        if req.form:
            return 201, {}, {"sid": "SM%032x" % n, "status": "queued", "num_segments": "1"}
        return 200, {}, {"id": "gw-%d" % n}

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def to(self, number):
        with self.lock:
            return [r for r in self.requests if r.to == number]
