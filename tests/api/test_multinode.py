"""Several Herald nodes on one PostgreSQL database.

Three nodes share a database. Events are posted round-robin while every
member has a stream open on every node; one node is killed with SIGKILL
under load and started again. Afterwards every accepted event has exactly
its notifications, every delivery is sent once, and every stream on a
node that stayed up received every one of its member's notifications, in
order, none twice. The same event posted to two nodes at once makes one
outcome, and message windows close once however many nodes look at them.
"""
import itertools
import os
import queue
import threading

import pytest
import requests

from conftest import (SSE, STORE, Client, Herald, Workspace, appointment_event, database_for,
                      feed_all, psql, unique)

pytestmark = pytest.mark.skipif(STORE != "postgresql",
                                reason="several nodes share one PostgreSQL database")

MEMBERS = ["m_1", "m_2", "m_3"]
LEASE_S = 30
ARGS = ("--test-clock", "--delivery-lease-s", str(LEASE_S), "--smtp-timeout-s", "5",
        "--sms-timeout-s", "5", "--push-timeout-s", "5")


def rebind(ws, url):
    ws.url = url
    ws.host = Client(url, ws.key)
    ws.admin = Client(url, ws.admin.token)


@pytest.fixture
def cluster(tmpdir_path):
    db = os.path.join(tmpdir_path, "shared.db")
    nodes = []

    def start():
        h = Herald(db, *ARGS).start()
        nodes.append(h)
        return h

    yield start
    for h in nodes:
        h.stop()


def cancellation(members):
    return appointment_event("appointment.cancelled", members, starts_at="2026-11-22T14:30:00Z")


def alerting_members(ws):
    for m in MEMBERS:
        ws.member(m, email=m + "@clinic.example")
        st, body, _ = ws.as_member(m).patch(
            "/v1/me/preferences", {"cancellation_alerts": {"channels": "email", "within_days": None}})
        assert st == 200, body


def notifications_on(stream, n, timeout=30):
    """The `notification` events on a stream, until there are n of them or
    none comes for `timeout` seconds (heartbeats do not count)."""
    got = []
    while len(got) < n:
        try:
            ev = stream.next(timeout, skip=("retry", "count", "message"))
        except queue.Empty:
            break
        if ev["event"] == "notification":
            got.append(ev)
    return got


def test_three_nodes_one_killed_under_load(cluster):
    a, b, c = cluster(), cluster(), cluster()
    ws = Workspace(a.url)
    alerting_members(ws)
    tokens = {m: ws.token(m) for m in MEMBERS}
    # Streams on the two nodes that stay up, and on the one that will die.
    streams = {(node, m): SSE(node.url, tokens[m]) for node in (a, b, c) for m in MEMBERS}
    for s in streams.values():
        assert s.status == 200
        s.until(lambda ev: ev["event"] == "count")

    acked, unexpected = {}, []
    lock = threading.Lock()
    urls = [a.url, b.url, c.url]
    counter = itertools.count()

    def post(ev):
        """Posts ev round-robin; a node that is gone gets it again elsewhere,
        so an answer lost with a node never loses or duplicates the event."""
        for _ in range(6):
            with lock:
                url = urls[next(counter) % len(urls)]
            try:
                st, out, _ = Client(url, ws.key).post("/v1/events", ev)
            except requests.RequestException:
                continue
            if st in (200, 202):
                with lock:
                    acked[ev["id"]] = st
                return
            with lock:
                unexpected.append((ev["id"], st, out))
            return

    def burst(n):
        evs = [cancellation(MEMBERS) for _ in range(n)]
        threads = [threading.Thread(target=lambda part=evs[i::8]: [post(e) for e in part])
                   for i in range(8)]
        for t in threads:
            t.start()
        return threads

    first = burst(240)
    while len(acked) < 80:  # the kill lands in the middle of the burst
        threading.Event().wait(0.01)
    c.kill()
    with lock:
        urls.remove(c.url)
    for t in first:
        t.join(120)
    c2 = cluster()  # the killed node comes back (a new process, same database)
    with lock:
        urls.append(c2.url)
    for t in burst(60):
        t.join(120)
    assert not unexpected, unexpected[:5]
    assert len(acked) == 300

    # Past the dead node's leases: every node sends what is due.
    for node in (a, b, c2):
        st, body, _ = Client(node.url, ws.admin.token).post("/v1/test/clock",
                                                           {"advance_s": LEASE_S + 1})
        assert st == 200, body

    rebind(ws, a.url)
    for event_id in acked:
        st, body, _ = ws.host.get("/v1/events/" + event_id)
        assert st == 200, (event_id, body)
        assert sorted(n["member_id"] for n in body["notifications"]) == MEMBERS, event_id
        assert sorted(d["member_id"] for d in body["deliveries"]) == MEMBERS, event_id
        assert {d["status"] for d in body["deliveries"]} == {"sent"}, (event_id, body)
    for m in MEMBERS:
        items = feed_all(Client(a.url, tokens[m]))
        assert sorted(i["event_id"] for i in items) == sorted(acked), m
        st, body, _ = ws.host.get("/v1/dev/sink", params={"limit": "1000", "member_id": m})
        sent = [x["delivery_id"] for x in body["items"]]
        assert len(sent) == len(acked) and len(set(sent)) == len(sent), "an email sent twice"

    # Each stream on a node that stayed up saw every notification of its
    # member, whichever node took the event, in order and once.
    for node in (a, b):
        for m in MEMBERS:
            got = notifications_on(streams[(node, m)], len(acked), timeout=10)
            ids = [ev["id"] for ev in got]
            assert ids == sorted(ids) and len(set(ids)) == len(ids), (node.url, m)
            assert sorted(ev["data"]["notification"]["event_id"] for ev in got) == sorted(acked)
    for s in streams.values():
        s.close()


def test_the_same_event_at_two_nodes_at_once_makes_one_outcome(cluster):
    a, b = cluster(), cluster()
    ws = Workspace(a.url)
    for m in MEMBERS:
        ws.member(m)
    hosts = [Client(a.url, ws.key), Client(b.url, ws.key)]
    for _ in range(30):
        ev = appointment_event("appointment.booked", MEMBERS)
        answers = [None, None]
        go = threading.Barrier(2)

        def send(i):
            go.wait()
            answers[i] = hosts[i].post("/v1/events", ev)

        threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        codes = sorted(st for st, _, _ in answers)
        assert codes == [200, 202], codes
        assert answers[0][1] == answers[1][1]  # the same answer, replayed
        st, body, _ = hosts[0].get("/v1/events/" + ev["id"])
        assert len(body["notifications"]) == len(MEMBERS)


def test_a_message_window_closes_once_whichever_nodes_look(cluster):
    nodes = [cluster(), cluster(), cluster()]
    ws = Workspace(nodes[0].url)
    ws.member("m_a", name="Ann Ash")
    # Pop-ups reach a stream on every node, whichever node took the message.
    streams = [SSE(n.url, ws.token("m_a")) for n in nodes]
    for s in streams:
        s.until(lambda ev: ev["event"] == "count")
    conv = unique("conv")
    for i in range(3):  # three messages of one conversation, through three nodes
        ev = {"id": unique("evt"), "type": "message.received",
              "occurred_at": "2026-11-21T09:30:00Z", "source": "client_portal",
              "actor": {"kind": "client", "id": "cl_17", "name": "Dana Reyes"},
              "data": {"conversation": {"id": conv, "name": "Intake",
                                        "participant_ids": ["m_a"]},
                       "message": {"id": unique("msg"), "text": "Running late %d" % i}}}
        st, body, _ = Client(nodes[i].url, ws.key).post("/v1/events", ev)
        assert st == 202, body
    for s in streams:
        texts = [s.until(lambda ev: ev["event"] == "message")[-1]["data"]["message"]["text"]
                 for _ in range(3)]
        assert sorted(texts) == ["Running late 0", "Running late 1", "Running late 2"]
        s.close()
    # Every node's clock passes the window's end at the same moment.
    go = threading.Barrier(3)

    def advance(node):
        go.wait()
        Client(node.url, ws.admin.token).post("/v1/test/clock", {"advance_s": 600})

    threads = [threading.Thread(target=advance, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    items = feed_all(Client(nodes[1].url, ws.token("m_a")))
    assert [i["type"] for i in items] == ["message.received"], items


def test_sms_credits_are_spent_once_by_nodes_sending_together(cluster):
    nodes = [cluster(), cluster(), cluster()]
    ws = Workspace(nodes[0].url)
    st, body, _ = ws.host.post("/v1/workspace/credits", {"add": 10})
    assert st == 200, body
    members = ["m_%d" % i for i in range(3)]
    for i, m in enumerate(members):
        ws.member(m, phone="+35386100000%d" % i)
        st, body, _ = ws.as_member(m).patch(
            "/v1/me/preferences", {"cancellation_alerts": {"channels": "sms", "within_days": None}})
        assert st == 200, body
    # 8 cancellations for 3 members each: 24 SMS wanted, 10 credits.
    for i in range(8):
        st, body, _ = Client(nodes[i % 3].url, ws.key).post("/v1/events", cancellation(members))
        assert st == 202, body
    go = threading.Barrier(3)

    def advance(node):
        go.wait()
        Client(node.url, ws.admin.token).post("/v1/test/clock", {"advance_s": LEASE_S + 1})

    threads = [threading.Thread(target=advance, args=(n,)) for n in nodes]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    st, page, _ = ws.host.get("/v1/deliveries", params={"channel": "sms", "limit": "100"})
    assert st == 200, page
    by_status = {}
    for d in page["items"]:
        by_status.setdefault(d["status"], []).append(d)
    assert sorted(by_status) == ["sent", "skipped"], by_status.keys()
    spent = sum(d["segments"] for d in by_status["sent"])
    assert spent == 10
    assert {d["reason"] for d in by_status["skipped"]} == {"insufficient_credits"}
    assert len(by_status["sent"]) + len(by_status["skipped"]) == 24
    assert ws.host.get("/v1/workspace/credits")[1]["balance"] == 0
    st, body, _ = ws.host.get("/v1/dev/sink", params={"channel": "sms", "limit": "100"})
    sent = [x["delivery_id"] for x in body["items"]]
    assert sorted(sent) == sorted(d["id"] for d in by_status["sent"])


def test_a_node_that_lost_its_notices_catches_its_streams_up(cluster, tmpdir_path):
    a, b = cluster(), cluster()
    ws = Workspace(a.url)
    ws.member("m_1")
    stream = SSE(a.url, ws.token("m_1"))
    stream.until(lambda ev: ev["event"] == "count")
    # Every LISTEN connection drops (as when the database restarts); what
    # node b takes meanwhile still reaches node a's stream once it is back.
    db = database_for(os.path.join(tmpdir_path, "shared.db"))
    psql(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
             "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
    ev = appointment_event("appointment.booked", ["m_1"])
    st, body, _ = Client(b.url, ws.key).post("/v1/events", ev)
    assert st == 202, body
    got = notifications_on(stream, 1, timeout=15)
    assert [e["data"]["notification"]["event_id"] for e in got] == [ev["id"]]
    stream.close()
