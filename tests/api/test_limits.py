"""Request limits: slow clients (a request must arrive within
request_timeout_s counted from its first byte; idle keep-alive connections
close) and rate limits per workspace API key and per member (429 with
Retry-After). Each group runs its own Herald with low limits, so the waits
are short and the budgets exact; the session server's defaults are never
reached by the rest of the suite."""
import json
import os
import shutil
import socket
import tempfile
import time
from urllib.parse import urlparse

import pytest

from conftest import (ADMIN_KEY, SSE, Client, Herald, Workspace, appointment_event,
                      store_server)  # noqa: F401  (store_server: PostgreSQL when asked)

REQUEST_TIMEOUT_S = 1
IDLE_TIMEOUT_S = 1
TRICKLE_S = 0.2  # a byte this often: every read comes well within any per-read timeout
LINGER_S = 2     # server.c: how long a refused connection reads on before closing
SLACK_S = 0.8    # scheduling on a loaded 2-core machine


def start_herald(*args):
    tmp = tempfile.mkdtemp(prefix="herald-limits-")
    return tmp, Herald(os.path.join(tmp, "h.db"), "--test-clock", *args).start()


def stop_herald(tmp, h):
    rc = h.stop()
    with open(h.db + ".log") as f:
        log = f.read()
    shutil.rmtree(tmp, ignore_errors=True)
    # under AddressSanitizer a leak or an error makes the exit non-zero
    assert rc == 0, "herald exited %s:\n%s" % (rc, log[-4000:])


def connect(url):
    u = urlparse(url)
    return socket.create_connection((u.hostname, u.port), timeout=10)


def parse_answer(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    return status, headers, body[:int(headers.get("content-length", len(body)))]


def trickle(sock, first, pieces, until_s, stop_at_eof=False):
    """Sends `first`, then one byte of `pieces` every TRICKLE_S, reading
    what comes back in between, like a slowloris client that never stops.
    Returns (answer bytes, seconds to the answer's end (EOF), seconds until
    a send failed: the server closed the connection completely), each
    None when it did not happen within until_s (or stop_at_eof)."""
    start = time.monotonic()
    sock.sendall(first)
    sock.settimeout(TRICKLE_S)
    data, eof_at, reset_at, i = b"", None, None, 0
    while time.monotonic() - start < until_s and reset_at is None:
        try:
            sock.send(pieces[i % len(pieces):i % len(pieces) + 1])
            i += 1
        except (BrokenPipeError, ConnectionResetError):
            reset_at = time.monotonic() - start
            break
        if eof_at is None:
            try:
                chunk = sock.recv(65536)
                if chunk:
                    data += chunk
                else:
                    eof_at = time.monotonic() - start
                    if stop_at_eof:
                        break
            except socket.timeout:
                pass
            except ConnectionResetError:
                eof_at = reset_at = time.monotonic() - start
        else:
            time.sleep(TRICKLE_S)
    return data, eof_at, reset_at


def check_json_error(status, headers, body, want_status, code):
    assert status == want_status, (status, body)
    assert headers.get("x-request-id"), headers
    assert headers.get("content-type", "").startswith("application/json"), headers
    err = json.loads(body)["error"]
    assert err["code"] == code, err
    assert {"code", "message", "field"} <= set(err), err
    return err


# ---- slow clients ----

@pytest.fixture(scope="module")
def slow_herald(store_server):
    tmp, h = start_herald("--request_timeout_s", str(REQUEST_TIMEOUT_S),
                          "--idle_timeout_s", str(IDLE_TIMEOUT_S))
    yield h
    stop_herald(tmp, h)


def test_slowloris_headers_get_408_at_the_deadline_and_the_connection_closes(slow_herald):
    """Header bytes trickled every 200 ms: each read would restart a per-read
    timeout, so only a deadline from the first byte ends it. The server
    answers 408 at the deadline, and closes the connection for good soon
    after, although the client keeps sending."""
    s = connect(slow_herald.url)
    try:
        data, eof_at, reset_at = trickle(
            s, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"abcdefgh",
            REQUEST_TIMEOUT_S + LINGER_S + 2 * SLACK_S + 1)
    finally:
        s.close()
    assert data, "no answer while the client trickled"
    check_json_error(*parse_answer(data), 408, "request_timeout")
    assert eof_at is not None and eof_at < REQUEST_TIMEOUT_S + SLACK_S, eof_at
    # the server keeps reading a moment so the client sees the answer, but
    # counts that moment from the answer: trickling does not extend it
    assert reset_at is not None and reset_at < REQUEST_TIMEOUT_S + LINGER_S + 2 * SLACK_S, \
        (eof_at, reset_at)


def test_slow_body_gets_408_at_the_deadline(slow_herald):
    """Content-Length 1000, the body trickled: the same deadline applies to
    the body as to the headers, and nothing reaches the handler."""
    u = urlparse(slow_herald.url)
    head = ("POST /v1/events HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer hk_000000000000_x"
            "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
            % (u.hostname, u.port)).encode()
    s = connect(slow_herald.url)
    try:
        data, eof_at, _ = trickle(s, head, b'"a": 1, ', REQUEST_TIMEOUT_S + SLACK_S + 1,
                                  stop_at_eof=True)
    finally:
        s.close()
    assert data, "no answer while the client trickled the body"
    check_json_error(*parse_answer(data), 408, "request_timeout")
    assert eof_at is not None and eof_at < REQUEST_TIMEOUT_S + SLACK_S, eof_at


def read_until_eof(sock, limit_s):
    """Everything the server sends until it closes, and when it closed."""
    start = time.monotonic()
    sock.settimeout(limit_s)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - start
        data += chunk


def test_idle_connections_close_after_the_idle_timeout(slow_herald):
    """A connection that sends nothing, and a keep-alive one after its
    answer, are closed after idle_timeout_s, without a word."""
    silent = connect(slow_herald.url)
    kept = connect(slow_herald.url)
    try:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data, waited = read_until_eof(kept, IDLE_TIMEOUT_S + 2 * SLACK_S + 1)
        status, headers, body = parse_answer(data)
        assert status == 200 and headers.get("connection") != "close", headers
        assert data.endswith(body) and len(body) == int(headers["content-length"]), data
        assert waited < IDLE_TIMEOUT_S + SLACK_S, waited
        rest, _ = read_until_eof(silent, IDLE_TIMEOUT_S + 2 * SLACK_S + 1)
        assert rest == b"", rest
    finally:
        silent.close()
        kept.close()


# ---- rate limits ----

BURST = 5
RATE = "0.01"  # one request per 100 s: the 6th waits ~100 s, whatever the machine's speed


@pytest.fixture(scope="module")
def limited(store_server):
    tmp, h = start_herald("--rate_limit_key_per_s", RATE,
                          "--rate_limit_key_burst", str(BURST),
                          "--rate_limit_member_per_s", RATE,
                          "--rate_limit_member_burst", str(BURST))
    yield h
    stop_herald(tmp, h)


def fresh_key(ws):
    """Another API key of the workspace, made with the admin key (which has
    no rate limit), so setting a test up spends no budget it measures."""
    st, out, _ = ws.admin.post("/v1/workspaces/%s/keys" % ws.id, {})
    assert st == 201, out
    return Client(ws.url, out["api_key"])


def member_token(ws, mid):
    """A token of the member, made with a fresh key."""
    st, out, _ = fresh_key(ws).post("/v1/members/%s/tokens" % mid, {})
    assert st == 201, out
    return out["token"]


def setup_member(ws, mid):
    """The member, and a token of theirs, each made with a fresh key."""
    st, out, _ = fresh_key(ws).put("/v1/members/" + mid, {"name": mid, "role": "practitioner"})
    assert st == 201, out
    return member_token(ws, mid)


def check_429(st, body, r):
    assert st == 429, (st, body)
    wait = r.headers.get("Retry-After")
    assert wait and wait.isdigit(), r.headers
    # a token every 100 s, none left: the wait is whole seconds, near 100
    assert 50 <= int(wait) <= 100, wait
    assert r.headers.get("X-Request-Id"), r.headers
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    assert body["error"]["code"] == "rate_limited", body
    assert body["error"]["field"] is None, body


def rate_limited_total(url, credential):
    st, text, _ = Client(url).get("/metrics")
    assert st == 200
    for line in text.splitlines():
        if line.startswith('herald_rate_limited_total{credential="%s"}' % credential):
            return int(line.split()[-1])
    raise AssertionError("no herald_rate_limited_total for " + credential)


def test_an_api_key_gets_429_after_its_burst_and_the_refused_event_is_not_stored(limited):
    ws = Workspace(limited.url)
    other_key = fresh_key(ws)
    token = setup_member(ws, "m_a")
    before = rate_limited_total(limited.url, "api_key")

    # bad credentials are refused before the limit, and spend nothing of it
    key_id = ws.key.split("_")[1]
    for _ in range(BURST + 3):
        st, body, _ = ws.host.get("/v1/workspace", token="hk_%s_%s" % (key_id, "x" * 43))
        assert st == 401, body

    for _ in range(BURST - 1):
        st, body, _ = ws.host.get("/v1/workspace")
        assert st == 200, body
    ev = appointment_event("appointment.booked", ["m_a"])
    st, body, _ = ws.post_event(ev)
    assert st == 202, body  # the 5th request

    refused = appointment_event("appointment.booked", ["m_a"])
    check_429(*ws.post_event(refused))
    check_429(*ws.host.get("/v1/workspace"))
    # a 429 changes nothing: the refused event was not ingested
    st, body, _ = other_key.get("/v1/events/" + refused["id"])
    assert st == 404, body
    st, body, _ = other_key.get("/v1/events/" + ev["id"])
    assert st == 200, body

    # another key of the same workspace, and a member token, are unaffected
    st, body, _ = other_key.get("/v1/workspace")
    assert st == 200, body
    st, body, _ = Client(limited.url, token).get("/v1/me/notifications/count")
    assert st == 200 and body == {"unread": 1}, body
    # and so is the admin key
    st, body, _ = ws.admin.get("/v1/workspaces/%s/keys" % ws.id)
    assert st == 200, body
    assert rate_limited_total(limited.url, "api_key") == before + 2


def test_a_member_gets_429_after_the_burst_whichever_token_and_a_refusal_changes_nothing(
        limited):
    ws = Workspace(limited.url)
    token = setup_member(ws, "m_a")
    second_token = member_token(ws, "m_a")  # another token of the same member
    other_member = setup_member(ws, "m_b")
    ev = appointment_event("appointment.booked", ["m_a"])
    st, out, _ = fresh_key(ws).post("/v1/events", ev)
    assert st == 202, out
    before = rate_limited_total(limited.url, "member")

    me = Client(limited.url, token)
    for _ in range(BURST - 1):
        st, body, _ = me.get("/v1/me/notifications/count")
        assert st == 200, body
    st, page, _ = me.get("/v1/me/notifications")
    assert st == 200 and len(page["items"]) == 1, page  # the 5th request
    nid = page["items"][0]["id"]

    # the bucket is the member's, not the token's
    again = Client(limited.url, second_token)
    check_429(*again.patch("/v1/me/notifications/" + nid, {"state": "read"}))
    check_429(*me.get("/v1/me/notifications/count"))
    # the refused PATCH changed nothing
    st, audit, _ = fresh_key(ws).get("/v1/events/" + ev["id"])
    assert st == 200, audit
    assert [n["state"] for n in audit["notifications"]] == ["unread"], audit

    # another member, and the workspace's key, are unaffected
    st, body, _ = Client(limited.url, other_member).get("/v1/me/notifications/count")
    assert st == 200, body
    st, body, _ = ws.host.get("/v1/members/m_a")
    assert st == 200, body
    assert rate_limited_total(limited.url, "member") == before + 2


def test_a_stream_connect_counts_as_one_request(limited):
    """The stream is one request when it opens, however long it stays:
    its events are not requests."""
    ws = Workspace(limited.url)
    token = setup_member(ws, "m_s")
    me = Client(limited.url, token)
    for _ in range(BURST - 2):
        st, body, _ = me.get("/v1/me")
        assert st == 200, body
    s = SSE(limited.url, token)  # the 4th request
    try:
        assert s.status == 200
        assert s.next()["event"] == "count"
        # events on the open stream spend nothing
        for _ in range(3):
            st, out, _ = fresh_key(ws).post("/v1/events",
                                            appointment_event("appointment.booked", ["m_s"]))
            assert st == 202, out
            got = s.until(lambda e: e["event"] == "count")
            assert [e["event"] for e in got] == ["notification", "count"], got
    finally:
        s.close()
    s = SSE(limited.url, None, query={"access_token": token})  # the 5th
    try:
        assert s.status == 200
    finally:
        s.close()
    s = SSE(limited.url, token)  # the 6th
    try:
        assert s.closed.wait(10)
        status, headers, body = parse_answer(s.head + b"\r\n\r\n" + s.body)
        while len(body) < int(headers["content-length"]):
            body += s.sock.recv(65536)
        assert status == 429, s.head
        assert int(headers["retry-after"]) >= 1, headers
        assert json.loads(body)["error"]["code"] == "rate_limited", body
    finally:
        s.close()


def test_admin_key_is_not_rate_limited(limited):
    admin = Client(limited.url, ADMIN_KEY)
    for _ in range(3 * BURST):
        st, body, _ = admin.get("/v1/workspaces")
        assert st == 200, body
