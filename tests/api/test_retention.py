"""Retention: events older than the workspace's retention_days go, with their
notifications, and the unread badge stays exact. The test clock drives it:
advancing the clock runs the pruning before it answers."""
import re

from conftest import ADMIN_KEY, Client, appointment_event


def advance(ws, seconds):
    st, body, _ = Client(ws.url, ADMIN_KEY).post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def test_old_events_and_their_notifications_are_pruned_and_the_badge_follows(ws):
    ws.member("m_r")
    assert ws.host.patch("/v1/workspace", {"retention_days": 1})[0] == 200
    old = appointment_event("appointment.booked", ["m_r"])
    assert ws.post_event(old)[0] == 202
    advance(ws, 20 * 3600)                    # 20 h later: still kept
    new = appointment_event("appointment.booked", ["m_r"])
    assert ws.post_event(new)[0] == 202
    me = ws.as_member("m_r")
    assert me.get("/v1/me/notifications/count")[1] == {"unread": 2}

    advance(ws, 5 * 3600)                     # 25 h after the first: it goes
    me = ws.as_member("m_r")                  # a fresh token: time has moved
    assert ws.host.get("/v1/events/" + old["id"])[0] == 404
    assert ws.host.get("/v1/events/" + new["id"])[0] == 200
    st, feed, _ = me.get("/v1/me/notifications", params={"filter": "all"})
    assert [i["event_id"] for i in feed["items"]] == [new["id"]]
    assert me.get("/v1/me/notifications/count")[1] == {"unread": 1}


def test_read_items_pruned_leave_the_unread_count_alone(ws):
    ws.member("m_s")
    assert ws.host.patch("/v1/workspace", {"retention_days": 1})[0] == 200
    a = appointment_event("appointment.booked", ["m_s"])
    b = appointment_event("appointment.booked", ["m_s"])
    ws.post_event(a)
    ws.post_event(b)
    me = ws.as_member("m_s")
    first = me.get("/v1/me/notifications")[1]["items"][-1]
    assert me.patch("/v1/me/notifications/" + first["id"], {"state": "read"})[0] == 200
    assert me.get("/v1/me/notifications/count")[1] == {"unread": 1}
    advance(ws, 2 * 86400)
    me = ws.as_member("m_s")
    assert me.get("/v1/me/notifications", params={"filter": "all"})[1]["items"] == []
    assert me.get("/v1/me/notifications/count")[1] == {"unread": 0}


def test_a_long_retention_keeps_what_a_short_one_prunes(server):
    from conftest import Workspace
    short, long_ = Workspace(server.url), Workspace(server.url)
    for w, days in ((short, 1), (long_, 30)):
        w.member("m_t")
        assert w.host.patch("/v1/workspace", {"retention_days": days})[0] == 200
    es = appointment_event("appointment.booked", ["m_t"])
    el = appointment_event("appointment.booked", ["m_t"])
    short.post_event(es)
    long_.post_event(el)
    advance(short, 3 * 86400)
    assert short.host.get("/v1/events/" + es["id"])[0] == 404
    assert long_.host.get("/v1/events/" + el["id"])[0] == 200


def test_pruning_one_workspace_never_touches_another_after_a_member_is_deleted(tmpdir_path):
    """A fresh server, so the deleted member's notification is the newest:
    its id would be the next one handed out if ids were ever reused."""
    import os
    from conftest import Herald, Workspace
    h = Herald(os.path.join(tmpdir_path, "p.db"), "--test-clock").start()
    try:
        a, b = Workspace(h.url), Workspace(h.url)
        a.member("a1")
        b.member("b1")
        assert a.host.patch("/v1/workspace", {"retention_days": 1})[0] == 200
        st, out_a, _ = a.post_event(appointment_event("appointment.booked", ["a1"]))
        assert st == 202
        assert a.host.delete("/v1/members/a1")[0] == 204
        st, out_b, _ = b.post_event(appointment_event("appointment.booked", ["b1"]))
        assert st == 202
        # ids are never reused, even for a deleted member's notification
        assert out_b["notifications"][0]["id"] != out_a["notifications"][0]["id"]
        assert Client(h.url, ADMIN_KEY).post("/v1/test/clock", {"advance_s": 3 * 86400})[0] == 200
        b1 = b.as_member("b1")
        assert b1.get("/v1/me/notifications/count")[1] == {"unread": 1}
        assert len(b1.get("/v1/me/notifications", params={"filter": "all"})[1]["items"]) == 1
    finally:
        assert h.stop() == 0


def test_a_large_backlog_goes_in_batches_each_its_own_commit(tmpdir_path):
    """1,100 old events (each with an audit entry) are pruned 500 at a time:
    one short transaction per batch, so writes queue behind one batch at
    most, never behind the whole backlog. The log names each batch."""
    import concurrent.futures
    import os
    from conftest import Herald, Workspace
    h = Herald(os.path.join(tmpdir_path, "b.db"), "--test-clock", "--log-level", "info").start()
    try:
        ws = Workspace(h.url)
        ws.member("bk")
        assert ws.host.patch("/v1/workspace", {"retention_days": 1})[0] == 200
        events = [appointment_event("appointment.booked", ["bk"]) for _ in range(1100)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert set(pool.map(lambda e: ws.post_event(e)[0], events)) == {202}
        advance(ws, 2 * 86400)
        assert ws.host.get("/v1/events/" + events[0]["id"])[0] == 404
        assert ws.host.get("/v1/events/" + events[-1]["id"])[0] == 404
        assert ws.host.get("/v1/audit")[1]["items"] == []
        assert ws.as_member("bk").get("/v1/me/notifications/count")[1] == {"unread": 0}
    finally:
        assert h.stop() == 0
    with open(h.db + ".log") as f:
        batches = [int(m) for m in re.findall(r"retention: removed (\d+) events", f.read())]
    assert batches == [500, 500, 100]
