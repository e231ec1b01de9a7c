"""Out of memory on the ingest path: real allocation failures, not a shim.

The test lowers the address-space limit (RLIMIT_AS) of a running herald to
just above what it has mapped, so its next large allocations really fail,
as under `ulimit -v`, systemd's LimitAS= or strict overcommit. Then:

- the failed allocation spends the memory reserve and is tried again, so
  the request that meets it goes on: admitted already, it finishes (202);
  still being read, it is refused at admission (503 `out_of_memory`) and
  stored when sent again;
- while memory is short, new work gets a JSON 503 `out_of_memory` with
  Retry-After (a request with a body before its body is read), /readyz
  answers 503, /healthz and /metrics keep answering;
- once memory returns, Herald takes work again without a restart;
- every acknowledged event is stored once, with its notifications.

Under AddressSanitizer the process maps terabytes of shadow memory, so no
address-space limit can work there: the test skips itself.
"""
import json
import resource
import socket
import signal
import time

import pytest
import requests

from conftest import Client, Herald, Workspace, appointment_event, parse_response, recv_all

MEMBERS = ["m_1", "m_2", "m_3"]
RESERVE_MIB = 32


def vm_size(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmSize")


def limit_address_space(pid, soft):
    _, hard = resource.prlimit(pid, resource.RLIMIT_AS)
    resource.prlimit(pid, resource.RLIMIT_AS, (soft, hard))


def metric(client, name):
    st, text, _ = client.get("/metrics")
    assert st == 200
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no metric " + name)


def expect_out_of_memory(st, body, r):
    assert st == 503, (st, body)
    assert body["error"]["code"] == "out_of_memory", body
    assert r.headers.get("Retry-After") == "1", dict(r.headers)


@pytest.fixture
def herald(tmpdir_path):
    # --test-clock: no timer (the deliverer's) asks for the reserve back
    # behind the test's back; only requests do.
    h = Herald(tmpdir_path + "/mem.db", "--memory-reserve-mib", str(RESERVE_MIB),
               "--test-clock").start()
    if vm_size(h.proc.pid) > 1 << 40:
        h.stop()
        pytest.skip("AddressSanitizer's shadow memory rules out an address-space limit")
    yield h
    limit_address_space(h.proc.pid, resource.RLIM_INFINITY)
    assert h.stop() == 0, open(h.log_path).read()[-3000:]


def wait_until(pred, what, timeout=10):
    """Polls a condition herald's own state will meet (not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.001)
    raise AssertionError("timed out waiting for " + what)


def raw_post(url, key, event):
    """Opens a POST of the event and sends all of it but its last bytes;
    returns the socket and what is left to send."""
    host, port = url.split("//")[1].split(":")
    body = json.dumps(event).encode()
    head = ("POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (host, key, len(body))).encode()
    sock = socket.create_connection((host, int(port)))
    sock.sendall(head + body[:-16])
    return sock, body[-16:]


def start_ws(herald):
    ws = Workspace(herald.url)
    for m in MEMBERS:
        ws.member(m)
    acknowledged = []
    for _ in range(20):
        ev = appointment_event("appointment.booked", MEMBERS)
        st, body, _ = ws.post_event(ev)
        assert st == 202, body
        acknowledged.append(ev["id"])
    return ws, acknowledged


def check_stored(ws, acknowledged):
    """Nothing acknowledged was lost or doubled."""
    for event_id in acknowledged:
        st, body, _ = ws.host.get("/v1/events/" + event_id)
        assert st == 200, (event_id, body)
        assert sorted(n["member_id"] for n in body["notifications"]) == MEMBERS, body
    for m in MEMBERS:
        st, body, _ = ws.as_member(m).get("/v1/me/notifications/count")
        assert st == 200 and body["unread"] == len(acknowledged), body


def test_admitted_work_finishes_new_work_waits_and_memory_returns(herald):
    pid = herald.proc.pid
    ws, acknowledged = start_ws(herald)
    ops = Client(herald.url)
    assert metric(ops, "herald_memory_low") == 0

    # A 200 KB event is on its way; once herald has grown its body buffer
    # to hold it all (a 256 KiB block, mapped: VmSize shows it), almost no
    # address space is left: parsing and storing it needs more than that.
    big = appointment_event("appointment.booked", MEMBERS, notes="n" * 200_000)
    before = vm_size(pid)
    sock, rest = raw_post(herald.url, ws.key, big)
    wait_until(lambda: vm_size(pid) >= before + 256 * 1024, "herald to take the body in")
    limit_address_space(pid, vm_size(pid) + 64 * 1024)
    sock.sendall(rest)
    st, _, body = parse_response(recv_all(sock))
    # Memory stays short (room for small requests, not for the reserve).
    limit_address_space(pid, vm_size(pid) + 4 * 1024 * 1024)
    assert st == 202, body  # admitted before memory ran out: it finishes
    acknowledged.append(big["id"])
    assert metric(ops, "herald_memory_reserve_spent_total") == 1
    assert metric(ops, "herald_memory_low") == 1

    # New work is refused, cleanly, and what an operator watches answers.
    refused = appointment_event("appointment.booked", MEMBERS)
    st, body, r = ws.post_event(refused)
    expect_out_of_memory(st, body, r)
    st, body, r = ws.host.get("/v1/members")
    expect_out_of_memory(st, body, r)
    st, body, r = ops.get("/readyz")
    assert st == 503 and body["error"]["code"] == "not_ready", body
    assert r.headers.get("Retry-After") == "1"
    st, body, _ = ops.get("/healthz")
    assert st == 200, body
    assert metric(ops, "herald_memory_low") == 1

    # Memory returns: the same Herald takes work again.
    limit_address_space(pid, resource.RLIM_INFINITY)
    st, body, _ = ops.get("/readyz")
    assert st == 200, body
    st, body, _ = ws.post_event(refused)
    assert st == 202, body
    acknowledged.append(refused["id"])
    assert metric(ops, "herald_memory_low") == 0
    check_stored(ws, acknowledged)
    log = open(herald.log_path).read()
    assert "the reserve was spent" in log and "the reserve is back" in log, log[-2000:]


def test_a_request_read_as_memory_runs_out_is_refused_cleanly(herald):
    """The failure meets a request before admission (its body is being
    read): it is refused with the same 503, and sent again it is stored."""
    pid = herald.proc.pid
    ws, acknowledged = start_ws(herald)
    ops = Client(herald.url)
    big = appointment_event("appointment.booked", MEMBERS, notes="n" * 200_000)
    limit_address_space(pid, vm_size(pid) + 64 * 1024)
    st, body, r = ws.post_event(big)
    expect_out_of_memory(st, body, r)
    assert metric(ops, "herald_memory_reserve_spent_total") == 1
    limit_address_space(pid, resource.RLIM_INFINITY)
    st, body, _ = ws.post_event(big)
    assert st == 202, body
    acknowledged.append(big["id"])
    check_stored(ws, acknowledged)


def test_without_a_reserve_a_failed_allocation_stops_herald(tmpdir_path):
    """memory_reserve_mib 0: the first failure in Herald's own code is
    final (it aborts, saying why), and what it acknowledged before is
    there when it starts again."""
    h = Herald(tmpdir_path + "/mem0.db", "--memory-reserve-mib", "0").start()
    if vm_size(h.proc.pid) > 1 << 40:
        h.stop()
        pytest.skip("AddressSanitizer's shadow memory rules out an address-space limit")
    ws, acknowledged = start_ws(h)
    limit_address_space(h.proc.pid, vm_size(h.proc.pid) + 64 * 1024)
    big = appointment_event("appointment.booked", MEMBERS, notes="n" * 200_000)
    with pytest.raises(requests.ConnectionError):
        ws.post_event(big)
    assert h.proc.wait(20) == -signal.SIGABRT
    h.stop()
    assert "herald: out of memory" in open(h.log_path).read()
    h2 = Herald(h.db).start()
    try:
        ws.host.url = h2.url
        ws.url = h2.url
        check_stored(ws, acknowledged)
    finally:
        assert h2.stop() == 0
