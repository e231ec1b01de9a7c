"""The outbox through the sink provider (no email or SMS provider configured):
cancellation alerts, SMS credits and the email fallback, the delivery log,
the sink's record and the PHI rules of external channels.

Every check settles the deliverer first with the test clock (advance 0 s
sends everything due and answers once nothing is in flight)."""
import concurrent.futures

import pytest

from conftest import ADMIN_KEY, Client, appointment_event, unique


def settle(ws, seconds=0):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def sink(ws, **params):
    st, body, _ = ws.host.get("/v1/dev/sink", params=dict(limit="1000", **params))
    assert st == 200, body
    return body["items"]


def deliveries(ws, **params):
    st, body, _ = ws.host.get("/v1/deliveries", params=dict(limit="100", **params))
    assert st == 200, body
    return body["items"]


def balance(ws):
    st, body, _ = ws.host.get("/v1/workspace/credits")
    assert st == 200, body
    return body["balance"]


def add_credits(ws, n):
    st, body, _ = ws.host.post("/v1/workspace/credits", {"add": n})
    assert st == 200, body


def practitioner(ws, alerts=None, **fields):
    mid = unique("m")
    fields.setdefault("email", mid + "@clinic.example")
    fields.setdefault("phone", "+353861234567")
    fields.setdefault("locale", "en-IE")
    ws.member(mid, "practitioner", timezone="Europe/Dublin", **fields)
    if alerts:
        st, body, _ = ws.as_member(mid).patch("/v1/me/preferences",
                                              {"cancellation_alerts": alerts})
        assert st == 200, body
    return mid


def cancel(ws, mid, *, actor=None, starts_at="2026-11-22T14:30:00Z",
           occurred_at="2026-11-21T09:30:00Z", **kw):
    ev = appointment_event("appointment.cancelled", [mid], actor=actor, starts_at=starts_at,
                           occurred_at=occurred_at, source="client_portal",
                           reason="Knee surgery follow-up", **kw)
    st, body, _ = ws.post_event(ev)
    assert st == 202, body
    return ev, body


def by_channel(items):
    out = {}
    for d in items:
        out.setdefault(d["channel"], []).append(d)
    return out


# ---- cancellation alerts ----

def test_alerts_are_off_by_default(ws):
    mid = practitioner(ws)
    add_credits(ws, 10)
    _, out = cancel(ws, mid)
    settle(ws)
    assert out["notifications"][0]["channels"] == ["in_app", "push"]
    assert deliveries(ws) == [] and sink(ws) == []


def test_email_alert_within_the_window_is_sent_once_without_phi(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": 3})
    ev, out = cancel(ws, mid)
    assert "email" in out["notifications"][0]["channels"]
    settle(ws)
    got = sink(ws, member_id=mid)
    assert len(got) == 1
    mail = got[0]
    assert mail["channel"] == "email" and mail["to"] == mid + "@clinic.example"
    assert mail["subject"] == "Cancellation: Sun, 22 Nov, 14:30"
    for text in (mail["subject"], mail["text"], mail["html"]):
        assert "Dana" not in text and "Reyes" not in text
        assert "Knee" not in text and "Initial consult" not in text
    assert "Open the app for details" in mail["text"]
    [d] = deliveries(ws)
    assert d["status"] == "sent" and d["provider"] == "sink" and d["event_id"] == ev["id"]
    assert len(d["attempts"]) == 1 and d["attempts"][0]["ok"] is True
    # The event's audit shows the same delivery.
    st, body, _ = ws.host.get("/v1/events/" + ev["id"])
    assert st == 200 and [x["id"] for x in body["deliveries"]] == [d["id"]]
    assert body["deliveries"][0]["status"] == "sent"


def test_names_reach_external_channels_only_when_the_workspace_opts_in(ws):
    st, body, _ = ws.host.patch("/v1/workspace", {"phi_in_external_channels": True})
    assert st == 200, body
    mid = practitioner(ws, {"channels": "email_and_sms", "within_days": None})
    add_credits(ws, 5)
    cancel(ws, mid)
    settle(ws)
    got = by_channel(sink(ws, member_id=mid))
    assert "Dana Reyes" in got["email"][0]["text"]
    assert "Knee surgery follow-up" in got["email"][0]["text"]
    assert "Dana Reyes" in got["sms"][0]["text"]


def test_own_cancellation_sends_no_alert(ws):
    mid = practitioner(ws, {"channels": "email_and_sms", "within_days": None})
    add_credits(ws, 10)
    _, out = cancel(ws, mid, actor={"kind": "member", "id": mid, "name": "Me"})
    settle(ws)
    for n in out["notifications"]:
        assert "email" not in n["channels"] and "sms" not in n["channels"]
    assert sink(ws) == [] and deliveries(ws) == [] and balance(ws) == 10


def test_outside_the_window_no_email_or_sms_but_in_app_stays(ws):
    mid = practitioner(ws, {"channels": "email_and_sms", "within_days": 2})
    add_credits(ws, 10)
    _, out = cancel(ws, mid, starts_at="2026-11-25T09:31:00Z")  # 4 days on
    settle(ws)
    assert out["notifications"][0]["channels"] == ["in_app", "push"]
    assert sink(ws) == [] and balance(ws) == 10
    st, items, _ = ws.as_member(mid).get("/v1/me/notifications")
    assert st == 200 and len(items["items"]) == 1


def test_window_edge_counts_days_from_the_cancellation(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": 1})
    cancel(ws, mid, starts_at="2026-11-22T09:30:00Z")  # exactly one day on
    cancel(ws, mid, starts_at="2026-11-22T09:30:01Z")  # a second too late
    settle(ws)
    assert len(sink(ws, member_id=mid)) == 1


def test_anytime_alerts_for_far_appointments(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": None})
    cancel(ws, mid, starts_at="2027-06-01T09:00:00Z")
    settle(ws)
    assert len(sink(ws, member_id=mid)) == 1


def test_both_channels_send_email_and_sms_and_charge_one_credit(ws):
    mid = practitioner(ws, {"channels": "email_and_sms", "within_days": 7})
    add_credits(ws, 3)
    cancel(ws, mid)
    settle(ws)
    got = by_channel(sink(ws, member_id=mid))
    assert len(got["email"]) == 1 and len(got["sms"]) == 1
    sms = got["sms"][0]
    assert sms["to"] == "+353861234567"
    assert sms["text"] == "Cancellation: Sun, 22 Nov, 14:30. Open the app for details."
    assert balance(ws) == 2
    d = by_channel(deliveries(ws))
    assert d["sms"][0]["segments"] == 1 and d["sms"][0]["status"] == "sent"


@pytest.mark.parametrize("source", ["booking_page", "widget", "client_portal", "reception",
                                    "staff", "system"])
def test_alerts_come_from_every_source(ws, source):
    mid = practitioner(ws, {"channels": "email", "within_days": None})
    ev = appointment_event("appointment.cancelled", [mid], source=source,
                           starts_at="2026-11-22T14:30:00Z")
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    settle(ws)
    assert len(sink(ws, member_id=mid)) == 1


def test_a_colleague_cancelling_alerts_the_practitioner(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": None})
    other = practitioner(ws)
    cancel(ws, mid, actor={"kind": "member", "id": other, "name": "Colleague"})
    settle(ws)
    assert len(sink(ws, member_id=mid)) == 1


# ---- credits ----

def test_zero_credits_no_sms_email_fallback_balance_unchanged(ws):
    mid = practitioner(ws, {"channels": "sms", "within_days": None})
    cancel(ws, mid)
    settle(ws)
    assert balance(ws) == 0
    got = by_channel(sink(ws, member_id=mid))
    assert "sms" not in got and len(got["email"]) == 1
    d = by_channel(deliveries(ws))
    [sms] = d["sms"]
    assert sms["status"] == "skipped" and sms["reason"] == "insufficient_credits"
    assert sms["attempts"] == []
    [mail] = d["email"]
    assert mail["fallback_for"] == sms["id"] and mail["status"] == "sent"


def test_no_fallback_when_the_workspace_turns_it_off(ws):
    st, body, _ = ws.host.patch("/v1/workspace", {"sms_fallback_to_email": False})
    assert st == 200, body
    mid = practitioner(ws, {"channels": "sms", "within_days": None})
    cancel(ws, mid)
    settle(ws)
    assert sink(ws) == []
    [sms] = deliveries(ws)
    assert sms["status"] == "skipped" and sms["reason"] == "insufficient_credits"


def test_no_fallback_without_an_email_address(ws):
    mid = practitioner(ws, {"channels": "sms", "within_days": None}, email=None)
    cancel(ws, mid)
    settle(ws)
    assert sink(ws) == []
    assert [d["channel"] for d in deliveries(ws)] == ["sms"]


def test_a_paid_sms_drops_its_held_fallback(ws):
    mid = practitioner(ws, {"channels": "sms", "within_days": None})
    add_credits(ws, 1)
    cancel(ws, mid)
    settle(ws)
    assert [m["channel"] for m in sink(ws, member_id=mid)] == ["sms"]
    assert [d["channel"] for d in deliveries(ws)] == ["sms"]
    assert balance(ws) == 0


def test_a_two_segment_sms_costs_two(ws):
    st, body, _ = ws.host.patch("/v1/workspace", {"phi_in_external_channels": True})
    assert st == 200, body
    mid = practitioner(ws, {"channels": "sms", "within_days": None})
    add_credits(ws, 5)
    long_name = "Alexandra " + "Montgomery-" * 12 + "Smythe"
    ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z",
                           client={"id": "cl_9", "name": long_name})
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    settle(ws)
    [d] = deliveries(ws, channel="sms")
    assert d["segments"] == 2 and d["status"] == "sent"
    assert balance(ws) == 3
    [m] = sink(ws, channel="sms")
    assert long_name in m["text"] and 160 < len(m["text"]) <= 306


def test_an_sms_that_needs_two_credits_is_not_sent_on_one(ws):
    st, body, _ = ws.host.patch("/v1/workspace", {"phi_in_external_channels": True})
    assert st == 200, body
    mid = practitioner(ws, {"channels": "sms", "within_days": None})
    add_credits(ws, 1)
    ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z",
                           client={"id": "cl_9", "name": "Montgomery " * 20})
    ws.post_event(ev)
    settle(ws)
    [d] = deliveries(ws, channel="sms")
    assert d["status"] == "skipped" and d["segments"] == 2
    assert balance(ws) == 1


def test_100_concurrent_sms_with_credits_for_60(ws):
    members = [practitioner(ws, {"channels": "sms", "within_days": None}, email=None)
               for _ in range(10)]
    add_credits(ws, 60)

    def post(i):
        ev = appointment_event("appointment.cancelled", [members[i % 10]],
                               starts_at="2026-11-22T14:30:00Z")
        st, body, _ = Client(ws.url, ws.key).post("/v1/events", ev)
        return st

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        assert set(pool.map(post, range(100))) == {202}
    settle(ws)
    sent = sink(ws, channel="sms")
    assert len(sent) == 60
    assert len({m["delivery_id"] for m in sent}) == 60
    assert balance(ws) == 0
    statuses = [d["status"] for d in deliveries_all(ws, channel="sms")]
    assert statuses.count("sent") == 60 and statuses.count("skipped") == 40


def deliveries_all(ws, **params):
    items, cursor = [], None
    while True:
        p = dict(limit="100", **params)
        if cursor:
            p["cursor"] = cursor
        st, body, _ = ws.host.get("/v1/deliveries", params=p)
        assert st == 200, body
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


# ---- the delivery log ----

def test_the_log_filters_by_status_channel_and_member_and_pages(ws):
    a = practitioner(ws, {"channels": "email_and_sms", "within_days": None})
    b = practitioner(ws, {"channels": "email", "within_days": None})
    for _ in range(3):
        cancel(ws, a)
        cancel(ws, b)
    settle(ws)
    everything = deliveries_all(ws)
    # a: an email and an SMS (skipped: no credits) each time; b: an email
    assert len(everything) == 3 * 2 + 3
    ids = [d["id"] for d in everything]
    assert ids == sorted(ids, key=lambda s: int(s[4:]), reverse=True)
    assert {d["member_id"] for d in deliveries_all(ws, member_id=b)} == {b}
    assert all(d["channel"] == "sms" for d in deliveries_all(ws, channel="sms"))
    assert len(deliveries_all(ws, status="skipped")) == 3
    paged, cursor = [], None
    while True:
        p = {"limit": "4"}
        if cursor:
            p["cursor"] = cursor
        st, body, _ = ws.host.get("/v1/deliveries", params=p)
        paged += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert [d["id"] for d in paged] == ids


@pytest.mark.parametrize("params,field", [
    ({"status": "held"}, "status"), ({"status": "nope"}, "status"),
    ({"channel": "in_app"}, "channel"), ({"channel": "fax"}, "channel"),
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "x"}, "limit"),
    ({"cursor": "abc"}, "cursor"),
])
def test_the_log_refuses_bad_filters(ws, params, field):
    st, body, _ = ws.host.get("/v1/deliveries", params=params)
    assert st == 400 and body["error"]["field"] == field, body


def test_a_feed_cursor_is_not_a_log_cursor(ws):
    mid = practitioner(ws)
    for _ in range(3):
        ws.post_event(appointment_event("appointment.booked", [mid]))
    st, page, _ = ws.as_member(mid).get("/v1/me/notifications", params={"limit": "1"})
    assert page["next_cursor"]
    st, body, _ = ws.host.get("/v1/deliveries", params={"cursor": page["next_cursor"]})
    assert st == 400 and body["error"]["field"] == "cursor"


def test_the_log_and_the_sink_are_scoped_to_the_workspace(ws, server):
    from conftest import Workspace
    other = Workspace(server.url)
    mid = practitioner(other, {"channels": "email", "within_days": None})
    cancel(other, mid)
    settle(ws)
    assert deliveries(ws) == [] and sink(ws) == []
    assert len(deliveries(other)) == 1 and len(sink(other)) == 1
    # The admin sees every workspace's sink.
    st, body, _ = Client(server.url, ADMIN_KEY).get("/v1/dev/sink",
                                                    params={"member_id": mid})
    assert st == 200 and [m["workspace_id"] for m in body["items"]] == [other.id]


def test_the_sink_needs_a_key_and_members_cannot_read_it(ws):
    mid = practitioner(ws)
    st, _, _ = Client(ws.url).get("/v1/dev/sink")
    assert st == 401
    st, _, _ = ws.as_member(mid).get("/v1/dev/sink")
    assert st == 403
    st, _, _ = ws.as_member(mid).get("/v1/deliveries")
    assert st == 403


# ---- grouped messages ----

def test_a_closed_message_window_sends_one_email(ws):
    mid = practitioner(ws)
    conv = unique("conv")
    for i in range(3):
        ev = {"id": unique("evt"), "type": "message.received",
              "occurred_at": "2026-11-21T09:30:00Z", "source": "client_portal",
              "actor": {"kind": "client", "id": "cl_1", "name": "Dana Reyes"},
              "data": {"conversation": {"id": conv, "participant_ids": [mid]},
                       "message": {"id": unique("msg"), "text": "My knee hurts %d" % i}}}
        st, body, _ = ws.post_event(ev)
        assert st == 202, body
    settle(ws)
    assert sink(ws) == []  # the window is still open
    settle(ws, 181)
    [mail] = sink(ws, member_id=mid)
    assert mail["channel"] == "email"
    assert "3 new messages" in mail["subject"] or "3 new messages" in mail["text"]
    for text in (mail["subject"], mail["text"], mail["html"]):
        assert "knee" not in text and "Dana" not in text


def test_metrics_count_delivery_attempts(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": None})
    cancel(ws, mid)
    settle(ws)
    st, text, _ = Client(ws.url).get("/metrics")
    assert st == 200
    assert 'herald_delivery_attempts_total{channel="email",status="sent"}' in text


def test_sms_typography_is_folded_to_gsm7_so_it_costs_one_segment(ws):
    # ICU writes en-US times with a narrow no-break space ("2:30\u202fPM").
    mid = practitioner(ws, {"channels": "sms", "within_days": None}, locale="en-US")
    add_credits(ws, 5)
    cancel(ws, mid)
    settle(ws)
    [m] = sink(ws, channel="sms")
    assert m["text"] == "Cancellation: Sun, Nov 22, 2:30 PM. Open the app for details."
    [d] = deliveries(ws, channel="sms")
    assert d["segments"] == 1 and balance(ws) == 4


def test_a_member_without_an_address_gets_no_delivery_on_that_channel(ws):
    no_phone = practitioner(ws, {"channels": "email_and_sms", "within_days": None}, phone=None)
    add_credits(ws, 5)
    _, out = cancel(ws, no_phone)
    settle(ws)
    assert out["notifications"][0]["channels"] == ["in_app", "email", "push"]
    assert [d["channel"] for d in deliveries(ws)] == ["email"]
    assert balance(ws) == 5


def test_a_deleted_member_is_not_sent_what_was_still_due(ws):
    mid = practitioner(ws, {"channels": "email", "within_days": None})
    # The outbox row is written with the event; deleting the member before
    # the deliverer runs (settle) leaves it due.
    ev, _ = cancel(ws, mid)
    st, _, _ = ws.host.delete("/v1/members/" + mid)
    assert st in (200, 204)
    settle(ws)
    [d] = deliveries(ws)
    assert d["status"] in ("skipped", "sent")
    if d["status"] == "skipped":
        assert d["reason"] == "member_deleted" and sink(ws) == []
