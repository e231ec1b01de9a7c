"""The audit trail (PRODUCT.md; API.md GET /v1/audit): every step of a
notification's life, in order, with who did it and when; filters, pages,
the JSON-lines export, workspace scoping, append-only storage, retention.

Time moves only through the test clock; each step's time is read from the
server right before the step, and the trail must carry exactly that time."""
import os

import pytest

from conftest import (ADMIN_KEY, STORE, Client, Herald, Workspace, appointment_event, db_exec,
                      unique)
from smtp_peer import SmtpPeer
from test_grouping import WINDOW_S, advance, clock, message, ms_of


@pytest.fixture(scope="module")
def smtp_herald(tmp_path_factory):
    """A Herald that emails through a scripted SMTP peer, so an attempt can
    fail with the provider's own answer and then succeed."""
    peer = SmtpPeer().start()
    tmp = str(tmp_path_factory.mktemp("audit"))
    h = Herald(os.path.join(tmp, "h.db"), "--test-clock", "--email-provider", "smtp",
               "--smtp-url", peer.url, "--smtp-from", "notify@clinic.example",
               "--smtp-tls", "off", "--delivery-backoff-s", "10",
               "--delivery-backoff-max-s", "40").start()
    yield h, peer
    rc = h.stop()
    peer.stop()
    assert rc == 0


def key_id(ws):
    return ws.key[3:15]


def trail(ws, **params):
    """Every entry the workspace's trail holds for params, paged through."""
    items, cursor = [], None
    while True:
        q = dict(params, limit="7")
        if cursor:
            q["cursor"] = cursor
        st, page, _ = ws.host.get("/v1/audit", params=q)
        assert st == 200, page
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def steps(entries):
    return [(e["action"], e["actor"]["kind"], e["actor"]["id"]) for e in entries]


def settle(ws, seconds=0):
    return advance(ws, seconds)


def test_every_step_of_a_notification_in_order_with_actor_and_time(smtp_herald):
    h, peer = smtp_herald
    ws = Workspace(h.url)
    sam, kim = unique("sam"), unique("kim")
    address = sam + "@clinic.example"
    ws.member(sam, email=address, timezone="Europe/Dublin")
    ws.member(kim, email=kim + "@clinic.example")
    me = ws.as_member(sam)
    st, body, _ = me.patch("/v1/me/preferences",
                           {"cancellation_alerts": {"channels": "email", "within_days": None}})
    assert st == 200, body
    peer.script[address] = [451]  # the first attempt is refused for now

    # Kim cancels an appointment both work: Sam is told, Kim is not.
    t_ingest = clock(ws)
    ev = appointment_event("appointment.cancelled", [sam, kim], source="staff",
                           actor={"kind": "member", "id": kim, "name": "Kim"},
                           starts_at="2026-11-22T14:30:00Z")
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    [n] = out["notifications"]
    assert n["member_id"] == sam
    t_first = settle(ws)             # the first attempt: 451
    t_second = settle(ws, 10)        # the retry after the backoff: sent
    [d] = ws.host.get("/v1/deliveries")[1]["items"]
    assert d["status"] == "sent"
    t_read = clock(ws)
    assert me.patch("/v1/me/notifications/" + n["id"], {"state": "read"})[0] == 200
    t_unread = settle(ws, 1)
    assert me.patch("/v1/me/notifications/" + n["id"], {"state": "unread"})[0] == 200
    t_ignored = settle(ws, 1)
    assert me.patch("/v1/me/notifications/" + n["id"], {"state": "ignored"})[0] == 200
    assert me.patch("/v1/me/notifications/" + n["id"], {"state": "ignored"})[0] == 200  # no-op

    life = trail(ws, event_id=ev["id"])
    assert steps(life) == [
        ("notification.created", "api_key", key_id(ws)),
        ("notification.skipped", "api_key", key_id(ws)),
        ("delivery.attempt", "herald", None),
        ("delivery.attempt", "herald", None),
        ("notification.read", "member", sam),
        ("notification.unread", "member", sam),
        ("notification.ignored", "member", sam),
    ]
    assert [ms_of(e["at"]) for e in life] == [t_ingest, t_ingest, t_first, t_second, t_read,
                                              t_unread, t_ignored]
    created, skipped, fail, ok, read, unread, ignored = life
    assert created["member_id"] == sam and created["notification_id"] == n["id"]
    assert created["details"] == {"type": "appointment.cancelled", "category": "scheduling",
                                  "channels": n["channels"], "reasons": n["reasons"]}
    [why] = out["skipped"]
    assert why["member_id"] == kim
    assert skipped["member_id"] == kim and skipped["details"] == {"reason": why["reason"]}
    assert skipped["notification_id"] is None
    for a in (fail, ok):
        assert a["delivery_id"] == d["id"] and a["notification_id"] == n["id"]
        assert a["member_id"] == sam and a["details"]["channel"] == "email"
        assert a["details"]["provider"] == "smtp"
    assert fail["details"]["attempt"] == 1 and fail["details"]["ok"] is False
    assert "451" in fail["details"]["answer"] and fail["details"]["status"] == "failed"
    assert ms_of(fail["details"]["next_attempt_at"]) > t_first
    assert ok["details"]["attempt"] == 2 and ok["details"]["ok"] is True
    assert ok["details"]["status"] == "sent" and "next_attempt_at" not in ok["details"]
    assert [e["details"]["from"] for e in (read, unread, ignored)] == ["unread", "read", "unread"]
    for e in life:
        assert e["event_id"] == ev["id"]
    # the same steps by member and by notification, and ids strictly rising
    assert trail(ws, member_id=sam) == [e for e in life if e["member_id"] == sam]
    assert trail(ws, notification_id=n["id"]) == [e for e in life if e["notification_id"]]
    ids = [e["id"] for e in life]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_read_all_leaves_one_entry_per_item_read_by_the_member(ws):
    ws.member("ra")
    events = [appointment_event("appointment.booked", ["ra"]) for _ in range(3)]
    for ev in events:
        assert ws.post_event(ev)[0] == 202
    me = ws.as_member("ra")
    first = me.get("/v1/me/notifications")[1]["items"][-1]
    assert me.patch("/v1/me/notifications/" + first["id"], {"state": "ignored"})[0] == 200
    t = clock(ws)
    st, body, _ = me.post("/v1/me/notifications/read-all", {})
    assert st == 200 and body["changed"] == 2
    reads = trail(ws, action="notification.read")
    assert len(reads) == 2
    assert {e["event_id"] for e in reads} == {events[1]["id"], events[2]["id"]}
    for e in reads:
        assert e["actor"] == {"kind": "member", "id": "ra"} and ms_of(e["at"]) == t
        assert e["details"] == {"from": "unread", "via": "read_all"}


def test_a_message_window_grouped_then_read_in_time_is_suppressed_by_herald(ws):
    ws.member("mw")
    other = unique("cv")
    out = message(ws, ["mw"], conv="cv_a")
    message(ws, ["mw"], conv=other)
    t_read = clock(ws)
    st, body, _ = ws.host.post("/v1/conversations/cv_a/read", {"member_id": "mw"})
    assert st == 200, body
    t_close = advance(ws, WINDOW_S)
    entries = trail(ws, member_id="mw")
    a = [e for e in entries if e["details"].get("conversation_id") == "cv_a"]
    assert steps(a) == [("notification.grouped", "api_key", key_id(ws)),
                        ("conversation.read", "api_key", key_id(ws)),
                        ("notification.suppressed", "herald", None)]
    assert a[0]["event_id"] == out["event"]["id"]
    assert ms_of(a[0]["details"]["window_closes_at"]) == ms_of(out["grouped"][0]["closes_at"])
    assert ms_of(a[1]["at"]) == t_read and a[1]["details"]["suppressed"] is True
    assert ms_of(a[2]["at"]) == t_close and a[2]["details"]["reason"] == "read_in_time"
    # the other conversation was not read: Herald made its notification at closing
    b = [e for e in entries if e["details"].get("conversation_id") == other
         or (e["action"] == "notification.created")]
    assert steps(b) == [("notification.grouped", "api_key", key_id(ws)),
                        ("notification.created", "herald", None)]
    assert ms_of(b[1]["at"]) == t_close and b[1]["notification_id"]


def test_filters_pages_and_the_export_agree(ws):
    ws.member("f1")
    ws.member("f2")
    t0 = clock(ws)
    for i in range(12):
        assert ws.post_event(appointment_event("appointment.booked", ["f1", "f2"]))[0] == 202
        if i == 5:
            t_mid = advance(ws, 60)
    everything = trail(ws)
    assert len(everything) == 24
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    assert len(trail(ws, member_id="f2")) == 12
    assert len(trail(ws, since=rfc(t_mid))) == 12
    assert len(trail(ws, until=rfc(t_mid))) == 12
    assert trail(ws, since=rfc(t0), action="notification.skipped") == []
    # the export: the same entries as JSON lines, in pages named by a header
    lines, cursor = [], None
    while True:
        params = {"limit": "10"}
        if cursor:
            params["cursor"] = cursor
        r = ws.host.http.get(ws.url + "/v1/audit/export", params=params,
                             headers={"Authorization": "Bearer " + ws.key})
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/x-ndjson"
        lines += [line for line in r.text.split("\n") if line]
        cursor = r.headers.get("Herald-Next-Cursor")
        if not cursor:
            break
    import json
    assert [json.loads(line) for line in lines] == everything


def rfc(ms):
    from test_grouping import rfc3339
    return rfc3339(ms)


@pytest.mark.parametrize("params,field", [
    ({"action": "notification.deleted"}, "action"),
    ({"since": "yesterday"}, "since"),
    ({"since": "2026-11-21T10:00:00Z", "until": "2026-11-21T09:00:00Z"}, "until"),
    ({"limit": "0"}, "limit"),
    ({"limit": "1001"}, "limit"),
    ({"cursor": "AAAA"}, "cursor"),
    ({"notification_id": "evt_1"}, "notification_id"),
    ({"member_id": "a b"}, "member_id"),
])
def test_bad_filters_are_400_naming_the_field(ws, params, field):
    st, body, _ = ws.host.get("/v1/audit", params=params)
    assert st == 400 and body["error"]["field"] == field, body


def test_the_trail_is_the_workspace_own_and_needs_its_key(server, ws):
    ws.member("iso")
    ev = appointment_event("appointment.booked", ["iso"])
    assert ws.post_event(ev)[0] == 202
    other = Workspace(server.url)
    assert trail(other, event_id=ev["id"]) == []
    assert trail(other) == []
    # a cursor is a position, never a way into another workspace's rows
    cursor = ws.host.get("/v1/audit", params={"limit": "1"})[1]["next_cursor"]
    st, page, _ = other.host.get("/v1/audit", params={"cursor": cursor})
    assert st == 200 and page["items"] == []
    assert Client(server.url).get("/v1/audit")[0] == 401
    assert Client(server.url, ADMIN_KEY).get("/v1/audit")[0] == 403
    assert ws.as_member("iso").get("/v1/audit")[0] == 403


def test_entries_cannot_be_changed(server, ws):
    ws.member("ao")
    assert ws.post_event(appointment_event("appointment.booked", ["ao"]))[0] == 202
    path = server.db
    with pytest.raises(Exception) as refused:
        db_exec(path, "UPDATE audit SET actor_id = 'someone else'")
    assert "append-only" in str(refused.value) + str(getattr(refused.value, "stderr", ""))


def test_retention_prunes_old_entries_with_their_events(ws):
    ws.member("rt")
    assert ws.host.patch("/v1/workspace", {"retention_days": 1})[0] == 200
    old = appointment_event("appointment.booked", ["rt"])
    assert ws.post_event(old)[0] == 202
    advance(ws, 20 * 3600)
    new = appointment_event("appointment.booked", ["rt"])
    assert ws.post_event(new)[0] == 202
    assert len(trail(ws)) == 2
    advance(ws, 5 * 3600)
    assert [e["event_id"] for e in trail(ws)] == [new["id"]]


@pytest.mark.skipif(STORE != "sqlite", reason="reads the SQLite file's query plan")
def test_pages_read_through_an_index(server):
    plan = db_exec(server.db, "EXPLAIN QUERY PLAN SELECT id FROM audit WHERE wid = 1 "
                   "AND member_id = 'x' AND at >= 0 ORDER BY at, id LIMIT 10")
    assert any("audit_member" in str(row) for row in plan), plan
