"""Faults: storage that fails under Herald, and a provider that hangs.

- A full disk during ingest: posts are answered 202 or 503 (JSON, with
  Retry-After), never 500, a hang or a dropped connection; reads keep
  working; once space returns, posts succeed again without a restart;
  nothing acknowledged is lost or doubled, and the database is intact.
- A database another process holds locked past the busy timeout: ingest
  answers 503, reads go on, and everything works once the lock is gone.
- An SMTP server that accepts connections and never answers: each send
  times out after smtp_timeout_s, is recorded as a failed attempt and
  retried; the API keeps answering meanwhile; a working server then gets
  the email exactly once.

How much these faults cost the API's latency is measured, not tested:
bench/faults.sh (docs/performance.md).
"""
import concurrent.futures
import contextlib
import os
import socket
import sqlite3
import subprocess
import tempfile
import threading

import pytest
import requests

from conftest import (Client, Herald, Workspace, appointment_event, feed_all, sqlite_only,
                      unique)
from smtp_peer import SmtpPeer

MEMBERS = ["m_1", "m_2", "m_3"]


def booked():
    return appointment_event("appointment.booked", MEMBERS)


@contextlib.contextmanager
def tmpfs(size):
    """A small file system of its own (root only), unmounted afterwards."""
    d = tempfile.mkdtemp(prefix="herald-tmpfs-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0700" % size, "tmpfs", d],
                   check=True, capture_output=True)
    try:
        yield d
    finally:
        subprocess.run(["umount", d], check=False, capture_output=True)
        os.rmdir(d)


def fill(directory, leave):
    """Fills the file system holding directory up to `leave` bytes free."""
    path = os.path.join(directory, "filler")
    st = os.statvfs(directory)
    size = st.f_bavail * st.f_frsize - leave
    with open(path, "wb") as f:
        chunk = b"\0" * 65536
        while size > 0:
            size -= f.write(chunk[:min(size, len(chunk))])
    return path


def expect_503(st, body, r):
    """A storage failure as the API promises it: 503, the JSON error shape,
    and a Retry-After."""
    assert st == 503, (st, body)
    assert body["error"]["code"] == "unavailable", body
    assert r.headers.get("Retry-After"), dict(r.headers)


def check_events(url, key, present):
    """Every event in present is stored with its three notifications, and
    every member's feed holds each of them once, nothing else, with a
    matching unread count."""
    host = Client(url, key)
    for event_id in present:
        st, body, _ = host.get("/v1/events/" + event_id)
        assert st == 200, ("acknowledged event lost", event_id, body)
        assert sorted(n["member_id"] for n in body["notifications"]) == MEMBERS, body
    for m in MEMBERS:
        st, tok, _ = host.post("/v1/members/%s/tokens" % m, {})
        assert st == 201, tok
        me = Client(url, tok["token"])
        events = [i["event_id"] for i in feed_all(me)]
        assert len(set(events)) == len(events), "an event notified %s twice" % m
        assert set(events) == set(present), m
        st, count, _ = me.get("/v1/me/notifications/count")
        assert count == {"unread": len(events)}, (m, count)


def integrity(db):
    con = sqlite3.connect(db)
    try:
        return con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()


# ---- a full disk ----

@sqlite_only("the database file is SQLite's")
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
@pytest.mark.parametrize("room_kb", [200, 1500])
def test_a_full_disk_answers_503_loses_nothing_and_recovers_without_a_restart(
        tmpdir_path, room_kb):
    """room_kb: the space left when posting starts. 200 KB fills within the
    first WAL; 1,500 KB lets the WAL pass the checkpoint threshold (1 MB)
    first, so checkpoints run into the full disk too."""
    with tmpfs("8m") as mnt:
        db = os.path.join(mnt, "h.db")
        h = Herald(db, log=os.path.join(tmpdir_path, "h.log")).start()
        try:
            ws = Workspace(h.url)
            for m in MEMBERS:
                ws.member(m)
            first = booked()
            st, _, _ = ws.post_event(first)
            assert st == 202
            filler = fill(mnt, room_kb * 1024)

            # Post from a few clients at once (so failures hit group commits
            # of several requests) until storage has refused a good number.
            acked, refused, bad = {first["id"]}, {}, []
            lock = threading.Lock()

            def worker():
                c = Client(h.url, ws.key)
                for _ in range(2000):
                    with lock:
                        if len(refused) >= 40 or bad:
                            return
                    ev = booked()
                    try:
                        st, body, r = c.post("/v1/events", ev)
                    except requests.RequestException as e:
                        with lock:
                            bad.append((ev["id"], repr(e)))
                        return
                    with lock:
                        if st == 202:
                            acked.add(ev["id"])
                        elif st == 503 and isinstance(body, dict) \
                                and body["error"]["code"] == "unavailable" \
                                and r.headers.get("Retry-After"):
                            refused[ev["id"]] = ev
                        else:
                            bad.append((ev["id"], st, body))

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                for f in [pool.submit(worker) for _ in range(4)]:
                    f.result()
            assert not bad, bad[:5]
            assert len(refused) >= 40, "the disk never filled (%d accepted)" % len(acked)

            # Still full: writes are refused, reads are served.
            expect_503(*ws.post_event(booked()))
            assert ws.host.get("/healthz")[0] == 200
            assert ws.host.get("/readyz")[0] == 200  # it can read: ready
            st, body, _ = ws.host.get("/v1/events/" + first["id"])
            assert st == 200, body
            st, tok, _ = ws.host.post("/v1/members/m_1/tokens", {})
            assert st == 201, tok
            st, page, _ = Client(h.url, tok["token"]).get("/v1/me/notifications")
            assert st == 200 and page["items"], page

            # Space returns: the same server accepts again, and each refused
            # event was not half-stored, so it is new now (202, not 200).
            os.unlink(filler)
            fresh = booked()
            st, body, _ = ws.post_event(fresh)
            assert st == 202, body
            acked.add(fresh["id"])
            for event_id, ev in refused.items():
                st, body, _ = ws.post_event(ev)
                assert st == 202, (event_id, st, body)
                acked.add(event_id)
            check_events(h.url, ws.key, sorted(acked))
        finally:
            rc = h.stop()
        assert rc == 0, open(h.log_path).read()[-3000:]
        assert integrity(db) == [("ok",)]


# ---- a database locked by another process ----

LOCKER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
con.execute("COMMIT")
"""


@contextlib.contextmanager
def locked(db):
    """Another process holding the database's write lock until the block
    ends."""
    p = subprocess.Popen(["/usr/bin/python3", "-c", LOCKER, db], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        yield
    finally:
        p.stdin.close()  # its readline returns: COMMIT, exit
        assert p.wait(10) == 0


@sqlite_only("the lock is SQLite's")
def test_a_database_locked_past_the_busy_timeout_answers_503_and_reads_go_on(tmpdir_path):
    db = os.path.join(tmpdir_path, "h.db")
    h = Herald(db, "--busy-timeout-ms", "300").start()
    try:
        ws = Workspace(h.url)
        for m in MEMBERS:
            ws.member(m)
        first = booked()
        assert ws.post_event(first)[0] == 202
        st, tok, _ = ws.host.post("/v1/members/m_1/tokens", {})
        assert st == 201, tok
        me = Client(h.url, tok["token"])
        with locked(db):
            # Posts from several clients at once, so some share a group
            # commit: every one is refused, none waits for more than its
            # batch's one timeout (a request timeout here would be a hang).
            held = [booked() for _ in range(24)]

            def post(ev):
                return Client(h.url, ws.key).post("/v1/events", ev)

            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                posts = [pool.submit(post, ev) for ev in held]
                # Reads need no write lock: they are served meanwhile.
                for _ in range(20):
                    st, page, _ = me.get("/v1/me/notifications")
                    assert st == 200 and len(page["items"]) == 1, page
                assert ws.host.get("/v1/events/" + first["id"])[0] == 200
                st, body, _ = ws.host.get("/readyz")
                assert st == 200, body
                for f in posts:
                    expect_503(*f.result())
        # The lock is gone: the refused events were not stored, so they are
        # new now, and the server goes on as before.
        for ev in held:
            st, body, _ = ws.post_event(ev)
            assert st == 202, body
        check_events(h.url, ws.key, [first["id"]] + [ev["id"] for ev in held])
    finally:
        assert h.stop() == 0, open(h.log_path).read()[-3000:]
    assert integrity(db) == [("ok",)]
    # Each group commit waited out the lock once; its requests were not
    # then tried one by one, each waiting the timeout again (the writer
    # logs every wait that ran out).
    with open(h.log_path) as f:
        waits = f.read().count("database is locked")
    assert 1 <= waits < len(held), waits


# ---- a provider that hangs ----

class HangingSmtp:
    """A TCP server that accepts every connection and then says nothing
    (mode "silent"), or only its greeting (mode "greeting"), keeping the
    connection open until the client gives up."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.open = 0
        self.conns = []
        self.stalled = threading.Event()  # set once a client waits on us
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            with self.lock:
                self.accepted += 1
                self.open += 1
                self.conns.append(conn)
            t = threading.Thread(target=self._hold, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _hold(self, conn):
        with conn:
            if self.mode == "greeting":
                conn.sendall(b"220 stalling.example ESMTP\r\n")
            self.stalled.set()
            while conn.recv(4096):  # read what comes, answer nothing
                pass
        with self.lock:
            self.open -= 1

    def connections_open(self):
        with self.lock:
            return self.open

    def stop(self):
        # shutdown, not just close: it wakes the thread blocked in accept,
        # which would otherwise keep the port listening.
        for c in [self.sock] + self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.sock.close()
        for t in self.threads:
            t.join(10)


def settle(ws, seconds=0):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def alerted_practitioner(ws):
    """A practitioner who gets cancellation alerts by email."""
    mid = unique("m")
    ws.member(mid, "practitioner", email=mid + "@clinic.example", timezone="Europe/Dublin",
              locale="en-IE")
    st, body, _ = ws.as_member(mid).patch(
        "/v1/me/preferences", {"cancellation_alerts": {"channels": "email", "within_days": None}})
    assert st == 200, body
    return mid


@pytest.mark.parametrize("mode", ["silent", "greeting"])
def test_a_hanging_smtp_server_times_out_is_retried_and_the_api_stays_responsive(
        tmpdir_path, mode):
    hang = HangingSmtp(mode)
    peer = None
    h = Herald(os.path.join(tmpdir_path, "h.db"), "--test-clock", "--email-provider", "smtp",
               "--smtp-url", "smtp://127.0.0.1:%d" % hang.port, "--smtp-tls", "off",
               "--smtp-from", "notify@clinic.example", "--smtp-timeout-s", "1",
               "--delivery-backoff-s", "10", "--delivery-backoff-max-s", "40",
               # one member reads as fast as it can: not what the limit is for
               "--rate-limit-member-per-s", "0").start()
    try:
        ws = Workspace(h.url)
        mids = [alerted_practitioner(ws) for _ in range(6)]
        events = {}
        for mid in mids:
            ev = appointment_event("appointment.cancelled", [mid], source="client_portal",
                                   starts_at="2026-11-22T14:30:00Z")
            st, body, _ = ws.post_event(ev)
            assert st == 202, body
            events[mid] = ev["id"]
        me = ws.as_member(mids[0])

        # Sending is stuck on the hanging server while the clock settles:
        # the API answers all the while.
        settling = threading.Thread(target=settle, args=(ws,))
        settling.start()
        assert hang.stalled.wait(10), "Herald never connected to the SMTP server"
        reads = during = 0
        while reads < 200 or settling.is_alive():
            stuck = hang.connections_open() > 0
            st, page, _ = me.get("/v1/me/notifications")
            assert st == 200 and len(page["items"]) == 1, page
            assert ws.host.get("/healthz")[0] == 200
            reads += 1
            during += stuck and hang.connections_open() > 0
        settling.join()
        assert during >= 20, "only %d reads overlapped the stuck sends" % during

        # Each send timed out: a failed attempt, a retry planned.
        items = ws.host.get("/v1/deliveries", params={"limit": "100"})[1]["items"]
        assert len(items) == len(mids)
        for d in items:
            assert d["status"] == "failed" and d["next_attempt_at"], d
            [a] = d["attempts"]
            assert not a["ok"] and "time" in a["answer"].lower(), a
        st, body, _ = ws.host.get("/v1/events/" + events[mids[0]])
        assert st == 200 and body["deliveries"][0]["status"] == "failed", body

        # A working server takes the port; past the backoff each email goes
        # out once.
        hang.stop()
        peer = SmtpPeer()
        peer.port = hang.port
        peer.start()
        settle(ws, 10)
        items = ws.host.get("/v1/deliveries", params={"limit": "100"})[1]["items"]
        for d in items:
            assert d["status"] == "sent", d
            assert [a["ok"] for a in d["attempts"]] == [False, True], d
        for mid in mids:
            assert len([m for m in peer.messages if mid + "@clinic.example" in m.rcpt]) == 1
        settle(ws, 3600)  # and nothing more is sent later
        assert len(peer.messages) == len(mids)
    finally:
        rc = h.stop()
        hang.stop()
        if peer:
            peer.stop()
    assert rc == 0
