"""Secure messages: a pop-up at once, one notification per grouping window.

PRODUCT.md "Messages: pop-ups now, one notification per window"; API.md
"Decisions" (grouping runs on Herald's clock, a read at or after the
window's last message suppresses it, `grouped: [{member_id, closes_at}]`).

Time moves only through the test clock (POST /v1/test/clock runs due work
before answering). The clock is shared by the whole session, so every time
is read from the server and asserted relative to it. "Nothing arrived on a
stream" is proven with a sentinel: a later notification for the same
member, which the stream delivers in order after anything that leaked.
"""
import os
import time
from datetime import datetime, timezone

import pytest

from conftest import ADMIN_KEY, SSE, Client, Herald, Workspace, appointment_event, db_exec, unique

DANA = {"kind": "client", "id": "cl_17", "name": "Dana Reyes"}
WINDOW_S = 180


# ---- helpers ----

def ms_of(text):
    """RFC 3339 (UTC, Z) to milliseconds since the epoch."""
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if "." in text else "%Y-%m-%dT%H:%M:%SZ"
    dt = datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
    return int(round(dt.timestamp() * 1000))


def rfc3339(ms):
    dt = datetime.fromtimestamp(ms // 1000, timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def clock(ws):
    st, body, _ = Client(ws.url).get("/v1/test/clock")
    assert st == 200, body
    return ms_of(body["now"])


def advance(ws, seconds):
    st, body, _ = Client(ws.url, ADMIN_KEY).post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body
    return ms_of(body["now"])


def advance_to(ws, target_ms):
    """Moves the test clock to exactly target_ms (never back)."""
    delta = target_ms - clock(ws)
    assert delta >= 0, "the clock is already %d ms past the target" % -delta
    # a quarter millisecond over, so the server's truncation lands on target
    now = advance(ws, (delta + 0.25) / 1000)
    assert now == target_ms
    return now


def message(ws, participants, *, conv="cv_1", conv_name="Intake", sender=DANA, text=None,
            msg_id=None):
    """Posts a message.received; returns the 202 answer."""
    data = {"conversation": {"id": conv, "participant_ids": list(participants)},
            "message": {"id": msg_id or unique("msg"), "text": text or "Running late"}}
    if conv_name is not None:
        data["conversation"]["name"] = conv_name
    ev = {"id": unique("evt"), "type": "message.received", "occurred_at": rfc3339(clock(ws)),
          "source": "client_portal" if sender["kind"] == "client" else "staff",
          "actor": sender, "data": data}
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    assert out["notifications"] == [], out
    out["_event"] = ev
    return out


def closes_at(out, mid):
    mine = [g for g in out["grouped"] if g["member_id"] == mid]
    assert len(mine) == 1, out
    return ms_of(mine[0]["closes_at"])


def received_at(out):
    return ms_of(out["event"]["received_at"])


def message_items(member):
    """The member's feed items made by message windows (filter=all)."""
    st, page, _ = member.get("/v1/me/notifications", params={"filter": "all", "limit": "100"})
    assert st == 200, page
    assert page["next_cursor"] is None
    return [i for i in page["items"] if i["type"] == "message.received"]


def notify(ws, mid):
    st, out, _ = ws.post_event(appointment_event("appointment.booked", [mid]))
    assert st == 202, out
    (n,) = [x for x in out["notifications"] if x["member_id"] == mid]
    return n["id"]


def sentinel(ws, mid, s):
    """Posts a booking notification for `mid`; returns what `s` delivered
    before it."""
    nid = notify(ws, mid)
    before = s.until(lambda e: e["event"] == "notification"
                     and e["data"]["notification"]["id"] == nid)
    before.pop()
    assert s.next()["event"] == "count"
    return before


def window_notifications(events):
    return [e for e in events if e["event"] == "notification"
            and e["data"]["notification"]["type"] == "message.received"]


def read_host(ws, conv, mid, read_at=None):
    body = {"member_id": mid}
    if read_at is not None:
        body["read_at"] = rfc3339(read_at)
    st, out, _ = ws.host.post("/v1/conversations/%s/read" % conv, body)
    assert st == 200, out
    return out


def read_member(ws, conv, mid, read_at=None):
    body = {}
    if read_at is not None:
        body["read_at"] = rfc3339(read_at)
    st, out, _ = ws.as_member(mid).post("/v1/me/conversations/%s/read" % conv, body)
    assert st == 200, out
    return out


READERS = {"host_route": read_host, "member_route": read_member}


def check_group_item(item, count, sender_name="Dana Reyes", conv_name="Intake"):
    assert item["type"] == "message.received"
    assert item["category"] == "communications"
    assert item["state"] == "unread"
    assert item["title"] == ("New messages" if count > 1 else "New message")
    noun = "new messages" if count > 1 else "new message"
    assert item["body"] == "%d %s from %s in %s." % (count, noun, sender_name, conv_name), item


@pytest.fixture
def streams():
    opened = []

    def open_stream(url, token=None, **kw):
        s = SSE(url, token, **kw)
        assert s.status == 200, s.head
        assert s.next()["event"] == "count"
        opened.append(s)
        return s

    yield open_stream
    for s in opened:
        s.close()


@pytest.fixture
def own_herald(tmpdir_path):
    started = []

    def start(name="own.db"):
        h = Herald(os.path.join(tmpdir_path, name), "--test-clock").start()
        started.append(h)
        return h

    yield start
    unclean = []
    for h in started:
        running = h.proc.poll() is None
        rc = h.stop()
        if running and rc != 0:
            with open(h.db + ".log") as f:
                unclean.append("herald exited %s:\n%s" % (rc, f.read()[-4000:]))
    assert not unclean, unclean[0]


def rebind(ws, url):
    ws.url = url
    ws.host = Client(url, ws.key)
    ws.admin = Client(url, ADMIN_KEY)


def backdate_open_windows(db, seconds_ago=60):
    """With Herald stopped: moves every open window back in time so that it
    closed `seconds_ago` before now (real time, which is where a restarted
    --test-clock server starts), as if Herald had been down past its close."""
    rows = db_exec(db, "SELECT id, closes_at FROM message_windows WHERE status = 0")
    assert rows, "no open window to backdate"
    target = int(time.time() * 1000) - seconds_ago * 1000
    for wid, close in rows:
        shift = close - target
        db_exec(db, "UPDATE message_windows SET opened_at = opened_at - ?2, "
                    "last_at = last_at - ?2, closes_at = closes_at - ?2, "
                    "read_at = read_at - ?2 WHERE id = ?1", (wid, shift))


@pytest.fixture
def trio(ws):
    """m_a and m_b receive; m_s (Sam Sender) is a colleague who sends."""
    ws.member("m_a", name="Ann Ash")
    ws.member("m_b", name="Ben Birch")
    ws.member("m_s", name="Sam Sender")
    return ws


# ---- one notification per window ----

def test_five_messages_in_a_window_make_one_notification_saying_5_only_once_it_closes(
        trio, streams):
    ws = trio
    me = ws.as_member("m_a")
    s = streams(ws.url, ws.token("m_a"))
    first = message(ws, ["m_a"])
    close = closes_at(first, "m_a")
    assert close - received_at(first) == WINDOW_S * 1000
    for _ in range(4):
        advance(ws, 30)
        out = message(ws, ["m_a"])
        assert closes_at(out, "m_a") == close  # joins the same window
    assert clock(ws) < close

    advance_to(ws, close - 1000)
    assert message_items(me) == []
    assert window_notifications(sentinel(ws, "m_a", s)) == []

    advance_to(ws, close)
    (item,) = message_items(me)
    check_group_item(item, 5)
    assert ms_of(item["created_at"]) == close
    got = s.until(lambda e: e["event"] == "notification")
    assert [e["event"] for e in got] == ["notification"]
    assert got[0]["data"]["notification"] == item
    assert s.next()["data"] == {"unread": got[0]["data"]["unread"]}

    advance(ws, 600)
    assert len(message_items(me)) == 1


def test_each_message_pops_up_at_once_on_every_recipient_stream_not_the_senders(
        trio, streams):
    ws = trio
    sam = {"kind": "member", "id": "m_s", "name": "Sam Sender"}
    a1 = streams(ws.url, ws.token("m_a"))
    a2 = streams(ws.url, ws.token("m_a"))
    b1 = streams(ws.url, ws.token("m_b"))
    s1 = streams(ws.url, ws.token("m_s"))
    outs = []
    for i in range(3):
        out = message(ws, ["m_a", "m_b", "m_s"], sender=sam, text="Note %d" % i,
                      msg_id="msg_%d" % i)
        outs.append(out)
        assert sorted(g["member_id"] for g in out["grouped"]) == ["m_a", "m_b"]
        assert {x["member_id"]: x["reason"] for x in out["skipped"]} == {"m_s": "own_action"}
        ev = out["_event"]
        for s in (a1, a2, b1):  # at once: no clock moved
            pop = s.next()
            assert pop["event"] == "message" and pop["id"] is None, pop
            assert pop["data"] == {
                "conversation": {"id": "cv_1", "name": "Intake"},
                "message": {"id": "msg_%d" % i, "text": "Note %d" % i},
                "from": {"kind": "member", "id": "m_s", "name": "Sam Sender"},
                "event_id": ev["id"], "sent_at": ev["occurred_at"]}
    assert sentinel(ws, "m_s", s1) == []  # the sender: no pop-up

    advance_to(ws, closes_at(outs[0], "m_a"))
    for mid, ss in (("m_a", (a1, a2)), ("m_b", (b1,))):
        (item,) = message_items(ws.as_member(mid))
        check_group_item(item, 3, sender_name="Sam Sender")
        for s in ss:
            ev = s.next()
            assert ev["event"] == "notification" and ev["id"] is not None
            assert ev["data"]["notification"] == item
            assert s.next()["event"] == "count"
    assert message_items(ws.as_member("m_s")) == []
    assert window_notifications(sentinel(ws, "m_s", s1)) == []


def test_message_popups_are_not_replayed_on_reconnect(trio, streams):
    ws = trio
    tok = ws.token("m_a")
    s = streams(ws.url, tok)
    notify(ws, "m_a")
    last = s.until(lambda e: e["event"] == "notification")[-1]["id"]
    s.close()
    message(ws, ["m_a"])
    message(ws, ["m_a"])
    r = streams(ws.url, tok, last_event_id=last)  # its first event is the count
    assert sentinel(ws, "m_a", r) == []


def test_a_member_with_in_app_off_gets_no_popup_and_no_feed_item_but_still_a_window(
        trio, streams):
    ws = trio
    me = ws.as_member("m_a")
    st, body, _ = me.patch("/v1/me/preferences",
                           {"categories": {"communications": {"in_app": False}}})
    assert st == 200, body
    s = streams(ws.url, ws.token("m_a"))
    out = message(ws, ["m_a"])
    close = closes_at(out, "m_a")  # grouped for the email
    advance_to(ws, close)
    assert message_items(me) == []
    assert sentinel(ws, "m_a", s) == []
    st, body, _ = me.get("/v1/me/notifications/count")
    assert body == {"unread": 1}  # the sentinel only


def test_a_reposted_message_is_a_duplicate_no_second_popup_and_not_counted_twice(
        trio, streams):
    ws = trio
    s = streams(ws.url, ws.token("m_a"))
    out = message(ws, ["m_a"])
    st, again, _ = ws.post_event(out["_event"])
    assert st == 200, again
    assert again["grouped"] == out["grouped"]
    message(ws, ["m_a"])
    got = s.until(lambda e: e["event"] == "message"
                  and e["data"]["event_id"] != out["_event"]["id"])
    assert [e["event"] for e in got] == ["message", "message"]
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 2)


def test_a_conversation_without_a_name_says_only_who(trio):
    ws = trio
    out = message(ws, ["m_a"], conv="cv_noname", conv_name=None)
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    assert item["title"] == "New message"
    assert item["body"] == "1 new message from Dana Reyes.", item


# ---- reads ----

@pytest.mark.parametrize("route", sorted(READERS))
def test_read_after_the_last_message_before_close_sends_nothing(trio, streams, route):
    ws = trio
    me = ws.as_member("m_a")
    s = streams(ws.url, ws.token("m_a"))
    out = message(ws, ["m_a"])
    advance(ws, 20)
    out2 = message(ws, ["m_a"])
    close = closes_at(out, "m_a")
    advance(ws, 10)
    res = READERS[route](ws, "cv_1", "m_a")
    assert res["window_open"] is True and res["suppressed"] is True, res
    assert res["member_id"] == "m_a" and res["conversation_id"] == "cv_1"
    assert ms_of(res["read_at"]) == clock(ws)  # defaults to now
    advance_to(ws, close)
    advance(ws, 600)
    assert message_items(me) == []
    got = sentinel(ws, "m_a", s)
    assert [e["event"] for e in got] == ["message", "message"]  # the pop-ups only
    assert received_at(out2) < close


@pytest.mark.parametrize("route", sorted(READERS))
def test_read_exactly_at_the_last_message_suppresses(trio, route):
    ws = trio
    out = message(ws, ["m_a"])
    advance(ws, 5)
    last = message(ws, ["m_a"])
    advance(ws, 5)
    res = READERS[route](ws, "cv_1", "m_a", read_at=received_at(last))
    assert res["suppressed"] is True, res
    advance_to(ws, closes_at(out, "m_a"))
    assert message_items(ws.as_member("m_a")) == []


@pytest.mark.parametrize("route", sorted(READERS))
def test_read_before_the_last_message_still_notifies_counting_every_message(trio, streams,
                                                                            route):
    ws = trio
    s = streams(ws.url, ws.token("m_a"))
    out = message(ws, ["m_a"])
    advance(ws, 10)
    res = READERS[route](ws, "cv_1", "m_a")
    assert res["window_open"] is True and res["suppressed"] is True
    advance(ws, 10)
    message(ws, ["m_a"])  # after the read: the member is behind again
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 2)
    got = window_notifications(s.until(lambda e: e["event"] == "notification"))
    assert got[0]["data"]["notification"] == item


def test_read_at_given_earlier_than_the_last_message_does_not_suppress(trio):
    ws = trio
    out = message(ws, ["m_a"])
    advance(ws, 10)
    last = message(ws, ["m_a"])
    res = read_host(ws, "cv_1", "m_a", read_at=received_at(last) - 1000)
    assert res["window_open"] is True and res["suppressed"] is False, res
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 2)


def test_a_read_by_another_participant_does_not_suppress_mine(trio, streams):
    ws = trio
    sa = streams(ws.url, ws.token("m_a"))
    out = message(ws, ["m_a", "m_b"])
    assert closes_at(out, "m_a") == closes_at(out, "m_b")
    advance(ws, 10)
    read_member(ws, "cv_1", "m_b")
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 1)
    assert message_items(ws.as_member("m_b")) == []
    assert window_notifications(sa.until(lambda e: e["event"] == "notification"))


def test_read_of_another_conversation_does_not_suppress_this_one(trio):
    ws = trio
    out = message(ws, ["m_a"], conv="cv_1")
    advance(ws, 10)
    res = read_host(ws, "cv_other", "m_a")
    assert res["window_open"] is False and res["suppressed"] is False
    advance_to(ws, closes_at(out, "m_a"))
    assert len(message_items(ws.as_member("m_a"))) == 1


def test_read_with_no_window_open_is_accepted_and_does_not_suppress_the_next_window(trio):
    ws = trio
    res = read_member(ws, "cv_1", "m_a")
    assert res["window_open"] is False and res["suppressed"] is False
    advance(ws, 10)
    out = message(ws, ["m_a"])
    advance_to(ws, closes_at(out, "m_a"))
    assert len(message_items(ws.as_member("m_a"))) == 1


@pytest.mark.parametrize("body,status,field", [
    ({}, 400, "member_id"),
    ({"member_id": "m_nobody"}, 404, "member_id"),
    ({"member_id": "bad id!"}, 400, "member_id"),
    ({"member_id": "m_a", "read_at": "yesterday"}, 400, "read_at"),
    ({"member_id": "m_a", "read_at": 12}, 400, "read_at"),
])
def test_bad_host_conversation_read_is_refused_with_the_field(trio, body, status, field):
    st, out, _ = trio.host.post("/v1/conversations/cv_1/read", body)
    assert st == status, out
    assert out["error"]["field"] == field


def test_conversation_read_routes_need_their_own_credential(trio):
    ws = trio
    me = ws.as_member("m_a")
    st, out, _ = me.post("/v1/conversations/cv_1/read", {"member_id": "m_a"})
    assert st == 403, out
    st, out, _ = ws.host.post("/v1/me/conversations/cv_1/read", {})
    assert st == 403, out
    st, out, _ = me.post("/v1/me/conversations/cv_1/read", {"member_id": "m_b"})
    assert st == 400, out  # a member reads only for themself


# ---- window length and separate windows ----

def test_window_length_follows_the_workspace_setting(trio, streams):
    ws = trio
    st, out, _ = ws.host.patch("/v1/workspace", {"message_group_window_s": 60})
    assert st == 200 and out["message_group_window_s"] == 60, out
    s = streams(ws.url, ws.token("m_a"))
    first = message(ws, ["m_a"])
    close = closes_at(first, "m_a")
    assert close - received_at(first) == 60 * 1000
    advance(ws, 30)
    assert closes_at(message(ws, ["m_a"]), "m_a") == close
    advance_to(ws, close - 1000)
    assert message_items(ws.as_member("m_a")) == []
    advance_to(ws, close)
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 2)
    assert window_notifications(s.until(lambda e: e["event"] == "notification"))
    # a message after the close opens a new window of the setting's length
    advance(ws, 5)
    nxt = message(ws, ["m_a"])
    assert closes_at(nxt, "m_a") - received_at(nxt) == 60 * 1000


def test_an_open_window_keeps_the_length_it_opened_with(trio):
    ws = trio
    first = message(ws, ["m_a"])
    close = closes_at(first, "m_a")
    st, out, _ = ws.host.patch("/v1/workspace", {"message_group_window_s": 30})
    assert st == 200, out
    advance(ws, 40)  # past 30 s, before 180 s: still the same window
    assert closes_at(message(ws, ["m_a"]), "m_a") == close
    assert message_items(ws.as_member("m_a")) == []
    advance_to(ws, close)
    (item,) = message_items(ws.as_member("m_a"))
    check_group_item(item, 2)


def test_two_conversations_of_one_member_are_two_separate_windows(trio, streams):
    ws = trio
    me = ws.as_member("m_a")
    s = streams(ws.url, ws.token("m_a"))
    a1 = message(ws, ["m_a"], conv="cv_intake", conv_name="Intake")
    advance(ws, 30)
    b1 = message(ws, ["m_a"], conv="cv_billing", conv_name="Billing",
                 sender={"kind": "client", "id": "cl_9", "name": "Eli Stone"})
    close_a, close_b = closes_at(a1, "m_a"), closes_at(b1, "m_a")
    assert close_b - close_a == 30 * 1000
    advance(ws, 10)
    message(ws, ["m_a"], conv="cv_intake", conv_name="Intake")
    message(ws, ["m_a"], conv="cv_billing", conv_name="Billing",
            sender={"kind": "client", "id": "cl_9", "name": "Eli Stone"})
    message(ws, ["m_a"], conv="cv_billing", conv_name="Billing",
            sender={"kind": "client", "id": "cl_9", "name": "Eli Stone"})

    advance_to(ws, close_a)
    (item,) = message_items(me)
    check_group_item(item, 2, conv_name="Intake")
    advance_to(ws, close_b - 1000)
    assert len(message_items(me)) == 1
    advance_to(ws, close_b)
    items = message_items(me)  # newest first
    assert len(items) == 2
    check_group_item(items[0], 3, sender_name="Eli Stone", conv_name="Billing")
    got = window_notifications(s.until(lambda e: len(window_notifications([e])) == 1))
    got += window_notifications(s.until(lambda e: len(window_notifications([e])) == 1))
    assert [e["data"]["notification"]["body"] for e in got] == [
        items[1]["body"], items[0]["body"]]


def test_two_senders_in_one_window_are_both_named(trio):
    ws = trio
    out = message(ws, ["m_a", "m_s"], sender=DANA)
    advance(ws, 10)
    message(ws, ["m_a", "m_s"], sender={"kind": "member", "id": "m_s", "name": "Sam Sender"})
    advance_to(ws, closes_at(out, "m_a"))
    (item,) = message_items(ws.as_member("m_a"))
    assert item["body"].startswith("2 new messages from "), item
    assert "Dana Reyes" in item["body"] and "Sam Sender" in item["body"], item
    assert item["body"].endswith(" in Intake."), item


def test_a_message_after_a_window_closed_opens_a_new_one(trio):
    ws = trio
    out = message(ws, ["m_a"])
    close = closes_at(out, "m_a")
    advance_to(ws, close)
    assert len(message_items(ws.as_member("m_a"))) == 1
    nxt = message(ws, ["m_a"])
    assert closes_at(nxt, "m_a") == close + WINDOW_S * 1000
    advance_to(ws, closes_at(nxt, "m_a"))
    items = message_items(ws.as_member("m_a"))
    assert len(items) == 2
    check_group_item(items[0], 1)


# ---- restarts ----

@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_restart_in_the_middle_of_a_window_gives_exactly_one_notification_at_close(
        own_herald, how):
    h = own_herald()
    ws = Workspace(h.url)
    ws.member("m_a")
    out = message(ws, ["m_a"])
    close = closes_at(out, "m_a")
    advance(ws, 30)
    message(ws, ["m_a"])
    advance(ws, 30)
    message(ws, ["m_a"])
    if how == "sigkill":
        h.kill()
    else:
        assert h.stop() == 0
    h.start()  # its clock starts at the real time again: before the close
    rebind(ws, h.url)
    me = ws.as_member("m_a")
    s = SSE(h.url, ws.token("m_a"))
    try:
        assert s.next()["event"] == "count"
        assert clock(ws) < close - 1000
        advance_to(ws, close - 1000)
        assert message_items(me) == []
        advance_to(ws, close)
        (item,) = message_items(me)
        check_group_item(item, 3)
        ev = s.next()
        assert ev["event"] == "notification" and ev["data"]["notification"] == item
        advance(ws, 600)
        assert len(message_items(me)) == 1
    finally:
        s.close()


def test_window_that_expired_while_herald_was_down_closes_once_at_the_next_upkeep(
        own_herald):
    h = own_herald()
    ws = Workspace(h.url)
    ws.member("m_a")
    message(ws, ["m_a"])
    advance(ws, 20)
    message(ws, ["m_a"])
    assert h.stop() == 0
    backdate_open_windows(h.db)
    h.start()
    rebind(ws, h.url)
    me = ws.as_member("m_a")
    s = SSE(h.url, ws.token("m_a"))
    try:
        assert s.next()["event"] == "count"
        assert message_items(me) == []  # the test clock has not moved yet
        advance(ws, 0)
        (item,) = message_items(me)
        check_group_item(item, 2)
        ev = s.next()
        assert ev["event"] == "notification" and ev["data"]["notification"] == item
        advance(ws, 600)
        assert len(message_items(me)) == 1
    finally:
        s.close()
    # and once more across another restart
    assert h.stop() == 0
    h.start()
    rebind(ws, h.url)
    advance(ws, 600)
    assert len(message_items(ws.as_member("m_a"))) == 1


def test_message_to_a_due_but_unclosed_window_closes_it_and_opens_a_new_one(own_herald):
    h = own_herald()
    ws = Workspace(h.url)
    ws.member("m_a")
    message(ws, ["m_a"])
    advance(ws, 20)
    message(ws, ["m_a"])
    assert h.stop() == 0
    backdate_open_windows(h.db)  # due, and no upkeep has run since
    h.start()
    rebind(ws, h.url)
    me = ws.as_member("m_a")
    s = SSE(h.url, ws.token("m_a"))
    try:
        assert s.next()["event"] == "count"
        out = message(ws, ["m_a"], msg_id="msg_new")
        new_close = closes_at(out, "m_a")
        assert new_close - received_at(out) == WINDOW_S * 1000  # a new window
        (old,) = message_items(me)  # the due one closed at once
        check_group_item(old, 2)
        got = s.until(lambda e: e["event"] == "message")
        assert [e["event"] for e in got] == ["notification", "count", "message"]
        assert got[0]["data"]["notification"] == old
        assert got[2]["data"]["message"]["id"] == "msg_new"

        advance(ws, 0)  # the upkeep finds nothing more to close
        assert len(message_items(me)) == 1
        advance_to(ws, new_close - 1000)
        assert len(message_items(me)) == 1
        advance_to(ws, new_close)
        items = message_items(me)
        assert len(items) == 2
        check_group_item(items[0], 1)
        advance(ws, 600)
        assert len(message_items(me)) == 2
    finally:
        s.close()


def test_read_after_the_close_time_does_not_suppress_a_window_not_yet_closed(own_herald):
    h = own_herald()
    ws = Workspace(h.url)
    ws.member("m_a")
    message(ws, ["m_a"])
    assert h.stop() == 0
    backdate_open_windows(h.db)  # closed a minute ago, while Herald was down
    h.start()
    rebind(ws, h.url)
    res = read_member(ws, "cv_1", "m_a")  # read now: after the window's close
    advance(ws, 0)
    assert len(message_items(ws.as_member("m_a"))) == 1, res
