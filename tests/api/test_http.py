"""The HTTP layer on raw sockets: pipelining and half-closed connections."""
import re
import socket
from urllib.parse import urlparse


def exchange(url, data, half_close):
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(data)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
        if not half_close and out.count(b"HTTP/1.1 ") == 3 and out.endswith(b"}\n"):
            break
    s.close()
    return re.findall(rb"HTTP/1\.1 (\d{3}) ", out)


GET = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


def test_pipelined_requests_are_answered_in_order(server):
    assert exchange(server.url, GET * 3, half_close=False) == [b"200"] * 3


def test_requests_pipelined_before_a_half_close_are_all_answered(server, ws):
    ev = (b'{"id":"hc1","type":"referral.joined","occurred_at":"2026-11-21T09:30:00Z",'
          b'"data":{"referral":{"id":"r1","referrer_id":"m_x","referred_name":"A"}}}')
    post = (b"POST /v1/events HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + ws.key.encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(ev) + ev)
    # an answer that waits for a commit, then one that does not
    assert exchange(server.url, post + GET + GET, half_close=True) == [b"202", b"200", b"200"]
