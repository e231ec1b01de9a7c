"""Operating Herald: liveness, readiness, metrics, the test clock, and a
graceful SIGTERM that answers every request in flight."""
import json
import os
import re
import signal
import socket
import threading
from datetime import datetime
from urllib.parse import urlparse

import pytest
import requests

from conftest import (ADMIN_KEY, Client, Herald, Workspace, appointment_event, parse_response,
                      recv_all)


# ---- helpers ----

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})? '
                    r'(-?[0-9.eE+\-]+|NaN|[+-]Inf)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(url, duplicates=None):
    """Samples by (name, labels), and the TYPE of each family. A series that
    appears twice is summed here and reported in `duplicates`."""
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    assert "version=0.0.4" in r.headers["Content-Type"]
    samples, types = {}, {}
    for line in r.text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not Prometheus text format: %r" % line
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        key = (m.group(1), labels)
        if key in samples and duplicates is not None:
            duplicates.append(line)
        samples[key] = samples.get(key, 0.0) + float(m.group(3))
    return samples, types


def val(samples, name, **labels):
    """The sum of the series of `name` whose labels include `labels`."""
    want = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and want <= set(lab))


def when(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ" if "." in s else "%Y-%m-%dT%H:%M:%SZ")


# ---- liveness and readiness ----

def test_healthz_is_200_without_credential(server):
    r = requests.get(server.url + "/healthz", timeout=10)
    assert r.status_code == 200
    assert r.headers.get("X-Request-Id")
    assert r.json()["status"] == "ok"


def test_readyz_is_200_with_schema_version(server):
    r = requests.get(server.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Request-Id")
    body = r.json()
    assert isinstance(body["schema_version"], int) and body["schema_version"] >= 1


def test_request_id_is_unique_per_response_and_a_sane_given_one_is_echoed(server):
    ids = {requests.get(server.url + "/healthz", timeout=10).headers["X-Request-Id"]
           for _ in range(5)}
    assert len(ids) == 5
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": "trace-abc.123"},
                     timeout=10)
    assert r.headers["X-Request-Id"] == "trace-abc.123"


# ---- metrics ----

def test_metrics_is_prometheus_text_with_request_counters_by_route_and_status(server, ws):
    before, types = scrape(server.url)
    assert types.get("herald_http_requests_total") == "counter"
    requests.get(server.url + "/healthz", timeout=10)
    requests.get(server.url + "/healthz", timeout=10)
    ws.host.get("/v1/members/nobody")
    requests.get(server.url + "/no/such/path", timeout=10)
    after, _ = scrape(server.url)
    name = "herald_http_requests_total"
    assert val(after, name, route="/healthz", status="200") - \
        val(before, name, route="/healthz", status="200") == 2
    assert val(after, name, route="/v1/members/{id}", status="404") - \
        val(before, name, route="/v1/members/{id}", status="404") == 1
    unmatched = [k for k in after if k[0] == name and ("status", "404") in k[1]
                 and ("route", "/no/such/path") in k[1]]
    assert not unmatched, "raw paths must not become labels"


def test_metrics_never_repeats_a_series_for_routes_sharing_a_path(server, ws, admin):
    """GET and POST /v1/workspaces (and GET/PUT/DELETE /v1/members/{id}) are
    different routes with one path; each series must still appear once, or
    Prometheus drops samples of the scrape."""
    ws.host.get("/v1/workspaces")                      # 403
    ws.host.post("/v1/workspaces", {"id": "x"})        # 403
    ws.host.get("/v1/members/nobody")                  # 404
    ws.host.delete("/v1/members/nobody")               # 404
    ws.host.post("/v1/members/nobody/tokens", {})      # 404
    duplicates = []
    scrape(server.url, duplicates)
    assert duplicates == [], "series repeated in /metrics: %s" % duplicates


def test_metrics_count_events_by_type_and_notifications(server, ws):
    for m in ("m_a", "m_b"):
        ws.member(m)
    before, types = scrape(server.url)
    assert types.get("herald_events_total") == "counter"
    assert types.get("herald_notifications_total") == "counter"
    ev = appointment_event("appointment.booked", ["m_a", "m_b"])
    assert ws.post_event(ev)[0] == 202
    mid, _ = scrape(server.url)
    assert val(mid, "herald_events_total", type="appointment.booked") - \
        val(before, "herald_events_total", type="appointment.booked") == 1
    assert val(mid, "herald_events_total", type="appointment.cancelled") == \
        val(before, "herald_events_total", type="appointment.cancelled")
    assert val(mid, "herald_notifications_total") - val(before, "herald_notifications_total") == 2
    # a duplicate is not a new event and makes no notification
    assert ws.post_event(ev)[0] == 200
    after, _ = scrape(server.url)
    assert val(after, "herald_events_total", type="appointment.booked") == \
        val(mid, "herald_events_total", type="appointment.booked")
    assert val(after, "herald_notifications_total") == val(mid, "herald_notifications_total")
    # every type of the catalogue has its series
    typed = {dict(k[1])["type"] for k in after if k[0] == "herald_events_total"}
    assert len(typed) == 17


def test_metrics_has_commit_duration_histogram(server, ws):
    ws.member("m_a")
    assert ws.post_event(appointment_event("appointment.booked", ["m_a"]))[0] == 202
    samples, types = scrape(server.url)
    name = "herald_commit_duration_seconds"
    assert types.get(name) == "histogram"
    buckets = sorted(((float(dict(l)["le"]) if dict(l)["le"] != "+Inf" else float("inf")), v)
                     for (n, l), v in samples.items() if n == name + "_bucket")
    assert len(buckets) >= 5 and buckets[-1][0] == float("inf")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert buckets[-1][1] == val(samples, name + "_count") >= 1
    assert val(samples, name + "_sum") >= 0


def test_metrics_needs_no_credential_by_default(server):
    r = requests.get(server.url + "/metrics", timeout=10)
    assert r.status_code == 200


# ---- the test clock ----

def test_test_clock_reads_and_advances_with_the_admin_key(server, admin):
    st, now, r = Client(server.url).get("/v1/test/clock")
    assert st == 200, now
    t0 = when(now["now"])
    st, out, _ = admin.post("/v1/test/clock", {"advance_s": 90})
    assert st == 200, out
    assert (when(out["now"]) - t0).total_seconds() == 90
    st, again, _ = Client(server.url).get("/v1/test/clock")
    assert when(again["now"]) == when(out["now"]), "the test clock stands still"


@pytest.mark.parametrize("body", [{"advance_s": -1}, {"advance_s": "60"}, {},
                                  {"advance_s": 60, "also": 1}])
def test_test_clock_refuses_bad_advance(server, admin, body):
    st, before, _ = Client(server.url).get("/v1/test/clock")
    st, out, _ = admin.post("/v1/test/clock", body)
    assert st == 400, out
    assert Client(server.url).get("/v1/test/clock")[1] == before


def test_test_clock_advance_without_admin_key_is_refused(server, ws):
    st, before, _ = Client(server.url).get("/v1/test/clock")
    assert Client(server.url).post("/v1/test/clock", {"advance_s": 5})[0] == 401
    assert ws.host.post("/v1/test/clock", {"advance_s": 5})[0] == 403
    assert Client(server.url).get("/v1/test/clock")[1] == before


@pytest.fixture
def plain_server(tmpdir_path):
    h = Herald(os.path.join(tmpdir_path, "plain.db")).start()
    try:
        yield h
    finally:
        h.stop()


def test_test_clock_is_404_without_the_test_clock_flag(plain_server):
    url = plain_server.url
    admin = Client(url, ADMIN_KEY)
    st, body, _ = Client(url).get("/v1/test/clock")
    assert st == 404, body
    st, body, _ = admin.post("/v1/test/clock", {"advance_s": 60})
    assert st == 404, body
    assert requests.get(url + "/readyz", timeout=10).status_code == 200


# ---- graceful shutdown ----

def _open_partial_event_request(url, key, event):
    """Sends the head of POST /v1/events with Expect: 100-continue and waits
    for the 100: the server has then started this request."""
    body = json.dumps(event).encode()
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=20)
    s.sendall(("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n"
               "Expect: 100-continue\r\n\r\n" % (key, len(body))).encode())
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(4096)
        assert chunk, "connection closed before 100 Continue"
        got += chunk
    assert got.startswith(b"HTTP/1.1 100"), got
    return s, body


def _finish(sock, body):
    sock.sendall(body)
    return parse_response(recv_all(sock))


def test_sigterm_answers_every_request_in_flight_and_exits_0(tmpdir_path):
    db = os.path.join(tmpdir_path, "term.db")
    h = Herald(db).start()
    started = [h]
    try:
        ws = Workspace(h.url)
        ws.member("m_a")
        port = urlparse(h.url).port

        # background load: requests being handled when the signal lands
        acked, stop = [], threading.Event()
        lock = threading.Lock()

        def load():
            c = Client(h.url, ws.key)
            while not stop.is_set():
                ev = appointment_event("appointment.booked", ["m_a"])
                try:
                    st, _, _ = c.post("/v1/events", ev)
                except requests.RequestException:
                    return
                if st in (200, 202):
                    with lock:
                        acked.append(ev)
        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()

        # requests the server has started reading (100 Continue seen)
        pending = []
        for _ in range(12):
            ev = appointment_event("appointment.booked", ["m_a"])
            sock, body = _open_partial_event_request(h.url, ws.key, ev)
            pending.append((ev, sock, body))

        h.proc.send_signal(signal.SIGTERM)
        # the listener closes: new connections are refused while the
        # started requests are still open (they keep the server alive)
        refused = False
        for _ in range(100000):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=5).close()
            except (ConnectionRefusedError, ConnectionResetError):
                # reset: the connection was queued as the listener closed
                refused = True
                break
        assert refused, "after SIGTERM the server must stop accepting connections"
        assert h.proc.poll() is None, "the server must wait for requests in flight"

        for ev, sock, body in pending:
            st, headers, rest = _finish(sock, body)
            assert st == 202, rest
            assert headers.get("connection", "").lower() == "close"
            assert json.loads(rest)["event"]["id"] == ev["id"]
        stop.set()
        for t in threads:
            t.join(20)
        assert h.proc.wait(20) == 0, "herald must exit 0 after SIGTERM"

        # every answered event survived the shutdown
        h2 = Herald(db).start()
        started.append(h2)
        host = Client(h2.url, ws.key)
        for ev in [p[0] for p in pending] + acked:
            st, got, _ = host.get("/v1/events/" + ev["id"])
            assert st == 200, (ev["id"], got)
            assert len(got["notifications"]) == 1
        for ev in [p[0] for p in pending]:
            assert host.post("/v1/events", ev)[0] == 200
    finally:
        for s in started:
            s.kill()  # no-op on a process that already exited
