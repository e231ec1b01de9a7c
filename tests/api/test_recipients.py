"""Who receives each of the 17 event types, and what they are told.

PRODUCT.md "Event catalogue" and API.md "Event data per type" / "Decisions":
recipients per type, the own-action rule, inactive and unknown members, the
202 answer and GET /v1/events/{id} agreeing, and feed texts rendered in the
recipient's time zone.
"""
import re

import pytest

from conftest import appointment_event, recipients, skipped, unique

EMAIL = "%s@example.test"

# Default channels (PRODUCT.md matrix) for a member with an email and no phone.
DEFAULT_CHANNELS = {
    "scheduling": {"in_app", "push"},
    "clients_documents": {"in_app", "email"},
    "billing": {"in_app", "email"},
    "workspace": {"in_app", "email"},
    "communications": {"in_app", "email", "push"},
}

SCHEDULING_TYPES = ["appointment.assigned", "appointment.booked", "appointment.cancelled",
                    "appointment.rescheduled", "appointment.confirmed"]

OCCURRED = "2026-11-21T09:30:00Z"
CLIENT_ACTOR = {"kind": "client", "id": "cl_1", "name": "Dana Reyes"}


# ---- helpers ----

def team(ws):
    """A practice: three practitioners, an owner, an admin, a staff member,
    a receptionist (all with email), and one inactive practitioner."""
    for mid in ("p1", "p2", "p3"):
        ws.member(mid, "practitioner", name=mid.upper() + " Name", email=EMAIL % mid)
    ws.member("o1", "owner", name="Olive Owner", email=EMAIL % "o1")
    ws.member("a1", "admin", name="Adam Admin", email=EMAIL % "a1")
    ws.member("s1", "staff", name="Sara Staff", email=EMAIL % "s1")
    ws.member("r1", "receptionist", name="Rita Reception", email=EMAIL % "r1")
    ws.member("x1", "practitioner", name="Xavier Gone", email=EMAIL % "x1", active=False)


def member_actor(mid, name=None):
    return {"kind": "member", "id": mid, "name": name or mid.upper() + " Name"}


def client(staff=()):
    return {"id": "cl_1", "name": "Dana Reyes", "assigned_staff_ids": list(staff)}


def event(event_type, data, actor=None, source="client_portal"):
    ev = {"id": unique("evt"), "type": event_type, "occurred_at": OCCURRED, "source": source,
          "data": data}
    if actor is not False:
        ev["actor"] = actor or CLIENT_ACTOR
    return ev


def appt(event_type, staff, assignees=(), client_staff=(), **kw):
    extra = {}
    if event_type == "appointment.rescheduled":
        extra["previous"] = {"starts_at": "2026-11-23T10:00:00Z",
                             "ends_at": "2026-11-23T10:50:00Z"}
    extra.update(kw.pop("extra", {}))
    return appointment_event(event_type, staff, assignee_ids=assignees,
                             client_staff_ids=client_staff, **kw, **extra)


def form_event(client_staff, form_staff, actor=None):
    return event("form.submitted", {"client": client(client_staff),
                                    "form": {"id": "fm_1", "name": "Intake form",
                                             "staff_ids": list(form_staff)}}, actor)


def file_event(client_staff, actor=None):
    return event("file.uploaded", {"client": client(client_staff),
                                   "file": {"id": "fl_1", "name": "referral-letter.pdf"}}, actor)


def note_event(event_type, client_staff, actor=None):
    return event(event_type, {"client": client(client_staff),
                              "note": {"id": "nt_1", "title": "Sleep diary",
                                       "text": "Slept badly"}}, actor)


def client_assigned_event(staff, actor=None):
    return event("client.assigned", {"client": client(staff)},
                 actor or member_actor("a1", "Adam Admin"), source="staff")


def invoice_event(staff, client_staff=(), actor=None):
    return event("invoice.paid", {"invoice": {"id": "inv_1", "number": "INV-0042",
                                              "amount": 120.5, "currency": "EUR",
                                              "staff_ids": list(staff)},
                                  "client": client(client_staff)}, actor)


def subscription_event():
    return event("subscription.payment_failed",
                 {"subscription": {"id": "sub_1", "plan": "Professional", "amount": 49,
                                   "currency": "EUR"}},
                 {"kind": "system"}, source="system")


def referral_event(event_type, referrer, actor=None):
    ref = {"id": "rf_1", "referrer_id": referrer, "referred_name": "Northside Physio"}
    if event_type == "referral.credited":
        ref.update(amount=50, currency="EUR", reason="Their first month was paid")
    return event(event_type, {"referral": ref}, actor or {"kind": "system"}, source="system")


def inbox_event(event_type, inbox_members, subject, actor=None):
    return event(event_type, {"inbox": {"id": "ib_1", "name": "Front desk",
                                        "member_ids": list(inbox_members)},
                              "member_id": subject},
                 actor or member_actor("a1", "Adam Admin"), source="staff")


def message_event(participants, sender):
    return event("message.received",
                 {"conversation": {"id": unique("cv"), "participant_ids": list(participants)},
                  "message": {"id": unique("msg"), "text": "Can we move Tuesday?"}},
                 member_actor(sender), source="staff")


def post(ws, ev):
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    return out


def notification_for(out, mid):
    found = [n for n in out["notifications"] if n["member_id"] == mid]
    assert len(found) == 1, out
    return found[0]


def skip_entry(out, mid):
    found = [s for s in out["skipped"] if s["member_id"] == mid]
    assert len(found) == 1, out
    return found[0]


def feed(ws, mid, filter_="all"):
    st, body, _ = ws.as_member(mid).get("/v1/me/notifications", params={"filter": filter_})
    assert st == 200, body
    return body["items"]


def feed_item(ws, mid, event_id):
    items = [i for i in feed(ws, mid) if i["event_id"] == event_id]
    assert len(items) == 1, items
    return items[0]


def times_24h(text):
    """Every clock time in a rendered text as (hour, minute), 24-hour."""
    out = []
    for h, m, ampm in re.findall(r"(\d{1,2}):(\d{2})(?:[\s\u202f\u00a0]*([AaPp])\.?[Mm]\.?)?",
                                 text):
        h, m = int(h), int(m)
        if ampm:
            h = h % 12 + (12 if ampm.lower() == "p" else 0)
        out.append((h, m))
    return out


# ---- the catalogue, type by type ----

# (type, event builder, expected recipients, expected skipped, category)
CATALOGUE = [
    ("appointment.assigned",
     lambda: appt("appointment.assigned", ["p1"], ["p2"], ["p3", "p1"],
                  actor=member_actor("a1"), source="staff"),
     ["p1", "p2", "p3"], {}, "scheduling"),
    ("appointment.booked",
     lambda: appt("appointment.booked", ["p1"], ["p2"], ["p3", "p1"], source="booking_page"),
     ["p1", "p2", "p3"], {}, "scheduling"),
    ("appointment.cancelled",
     lambda: appt("appointment.cancelled", ["p1"], ["p2"], ["p3", "p1"], source="client_portal"),
     ["p1", "p2", "p3"], {}, "scheduling"),
    ("appointment.rescheduled",
     lambda: appt("appointment.rescheduled", ["p1"], ["p2"], ["p3", "p1"]),
     ["p1", "p2", "p3"], {}, "scheduling"),
    ("appointment.confirmed",
     lambda: appt("appointment.confirmed", ["p1"], ["p2"], ["p3", "p1"]),
     ["p1", "p2", "p3"], {}, "scheduling"),
    ("form.submitted", lambda: form_event(["p1"], ["p2", "p1"]),
     ["p1", "p2"], {}, "clients_documents"),
    ("file.uploaded", lambda: file_event(["p1", "p3"]), ["p1", "p3"], {}, "clients_documents"),
    ("note.created", lambda: note_event("note.created", ["p2"]), ["p2"], {},
     "clients_documents"),
    ("note.updated", lambda: note_event("note.updated", ["p3"]), ["p3"], {},
     "clients_documents"),
    ("client.assigned", lambda: client_assigned_event(["p1", "p2"]), ["p1", "p2"], {},
     "clients_documents"),
    ("invoice.paid", lambda: invoice_event(["p3"], client_staff=["p1"]), ["p3"], {}, "billing"),
    ("subscription.payment_failed", subscription_event, ["a1", "o1"], {}, "billing"),
    ("referral.credited", lambda: referral_event("referral.credited", "p2"), ["p2"], {},
     "workspace"),
    ("referral.joined", lambda: referral_event("referral.joined", "s1"), ["s1"], {},
     "workspace"),
    ("inbox.member_added", lambda: inbox_event("inbox.member_added", ["p1", "r1"], "p2"),
     ["p1", "p2", "r1"], {}, "communications"),
    ("inbox.member_removed", lambda: inbox_event("inbox.member_removed", ["p1"], "r1"),
     ["p1", "r1"], {}, "communications"),
]


def test_the_catalogue_lists_all_17_types():
    assert len(CATALOGUE) + 1 == 17  # + message.received, tested on its own below


@pytest.mark.parametrize("event_type,build,expected,expected_skipped,category", CATALOGUE,
                         ids=[c[0] for c in CATALOGUE])
def test_each_type_reaches_exactly_its_catalogue_recipients_with_default_channels(
        ws, event_type, build, expected, expected_skipped, category):
    team(ws)
    ev = build()
    out = post(ws, ev)
    assert out["event"]["id"] == ev["id"]
    assert out["event"]["type"] == event_type
    assert recipients(out) == expected, out
    # Nobody outside the catalogue's lists is mentioned at all (a1, the
    # actor of appointment.assigned, is on no list: neither notified nor skipped).
    assert skipped(out) == expected_skipped, out
    for n in out["notifications"]:
        assert n["id"]
        assert n["category"] == category, n
        assert set(n["channels"]) == DEFAULT_CHANNELS[category], n
    for mid in expected:
        item = feed_item(ws, mid, ev["id"])
        assert item["type"] == event_type
        assert item["category"] == category
        assert item["state"] == "unread"
        assert item["data"] == ev["data"]
    for outsider in sorted({"p1", "p2", "p3", "o1", "a1", "s1", "r1"} - set(expected)):
        assert not [i for i in feed(ws, outsider) if i["event_id"] == ev["id"]], outsider


def test_a_member_in_several_appointment_lists_gets_one_notification(ws):
    team(ws)
    out = post(ws, appt("appointment.booked", ["p1", "p1"], ["p1", "p2"], ["p2", "p1"]))
    assert recipients(out) == ["p1", "p2"]
    assert len(feed(ws, "p1")) == 1
    assert len(feed(ws, "p2")) == 1
    st, count, _ = ws.as_member("p1").get("/v1/me/notifications/count")
    assert count == {"unread": 1}


def test_client_assigned_practitioners_alone_receive_an_appointment(ws):
    team(ws)
    out = post(ws, appt("appointment.confirmed", [], [], ["p3"]))
    assert recipients(out) == ["p3"]
    out = post(ws, appt("appointment.confirmed", [], ["p2"], []))
    assert recipients(out) == ["p2"]


def test_form_reaches_client_practitioners_and_members_named_on_the_form(ws):
    team(ws)
    assert recipients(post(ws, form_event([], ["s1"]))) == ["s1"]
    assert recipients(post(ws, form_event(["p1"], []))) == ["p1"]
    assert recipients(post(ws, form_event(["p1"], ["s1", "p1"]))) == ["p1", "s1"]


def test_invoice_paid_without_invoice_staff_goes_to_owners_and_admins_only(ws):
    team(ws)
    ws.member("o2", "owner", email=EMAIL % "o2", active=False)
    out = post(ws, invoice_event([], client_staff=["p1"]))
    assert recipients(out) == ["a1", "o1"], out
    for n in out["notifications"]:
        assert n["category"] == "billing"
        assert set(n["channels"]) == {"in_app", "email"}


def test_invoice_paid_with_invoice_staff_does_not_reach_owners(ws):
    team(ws)
    out = post(ws, invoice_event(["p2"]))
    assert recipients(out) == ["p2"]
    assert feed(ws, "o1") == [] and feed(ws, "a1") == []


def test_payment_failed_reaches_active_owners_and_admins_whatever_the_event_lists(ws):
    team(ws)
    ws.member("o2", "owner", email=EMAIL % "o2", active=False)
    ws.member("a2", "admin", email=EMAIL % "a2")
    out = post(ws, subscription_event())
    assert recipients(out) == ["a1", "a2", "o1"], out
    assert "o2" not in recipients(out)
    for mid in ("p1", "s1", "r1"):
        assert feed(ws, mid) == []


def test_referral_reaches_only_the_referring_member(ws):
    team(ws)
    for t in ("referral.credited", "referral.joined"):
        out = post(ws, referral_event(t, "r1"))
        assert recipients(out) == ["r1"], (t, out)
        assert notification_for(out, "r1")["category"] == "workspace"


def test_inbox_change_reaches_inbox_members_and_the_added_or_removed_member(ws):
    team(ws)
    out = post(ws, inbox_event("inbox.member_added", ["p1", "s1"], "p3"))
    assert recipients(out) == ["p1", "p3", "s1"]
    # Removed member is not listed in the inbox any more, still told.
    out = post(ws, inbox_event("inbox.member_removed", ["p1"], "s1"))
    assert recipients(out) == ["p1", "s1"]
    # Subject already listed among the inbox members: one notification.
    out = post(ws, inbox_event("inbox.member_added", ["p1", "p3"], "p3"))
    assert recipients(out) == ["p1", "p3"]


# ---- message.received ----

def message_recipients(out):
    """Members who will be notified of a message: grouped (API.md) or, if the
    server made the notification at once, notified."""
    return sorted({g["member_id"] for g in out.get("grouped", [])} |
                  {n["member_id"] for n in out["notifications"]})


def test_message_reaches_conversation_participants_except_the_sender(ws):
    team(ws)
    out = post(ws, message_event(["p1", "p2", "s1"], sender="p1"))
    assert message_recipients(out) == ["p2", "s1"], out
    assert skipped(out) == {"p1": "own_action"}
    # A client sender is not a member: every participant is a recipient.
    ev = event("message.received",
               {"conversation": {"id": unique("cv"), "participant_ids": ["p1", "p2"]},
                "message": {"id": unique("msg"), "text": "Hello"}}, CLIENT_ACTOR)
    out = post(ws, ev)
    assert message_recipients(out) == ["p1", "p2"], out
    assert out["skipped"] == []


def test_message_202_lists_grouped_recipients_with_closing_time(ws):
    """API.md: the 202 answer of a message.received lists
    grouped: [{member_id, closes_at}]; the feed item comes when the window closes."""
    team(ws)
    out = post(ws, message_event(["p1", "p2", "s1"], sender="p1"))
    assert "grouped" in out, out
    assert sorted(g["member_id"] for g in out["grouped"]) == ["p2", "s1"]
    for g in out["grouped"]:
        assert g["closes_at"] > out["event"]["received_at"]
    assert out["notifications"] == [], "the notification waits for the window to close"


# ---- booking-alert audience ----

def test_booked_reaches_only_appointment_staff_when_audience_is_assigned(ws):
    team(ws)
    st, w, _ = ws.host.get("/v1/workspace")
    assert w["booking_alert_audience"] == "assigned"
    out = post(ws, appt("appointment.booked", ["p1"]))
    assert recipients(out) == ["p1"]


def test_booked_reaches_every_active_member_when_audience_is_all_staff(ws):
    team(ws)
    st, w, _ = ws.host.patch("/v1/workspace", {"booking_alert_audience": "all_staff"})
    assert st == 200, w
    assert w["booking_alert_audience"] == "all_staff"
    out = post(ws, appt("appointment.booked", ["p1"], source="widget"))
    assert recipients(out) == ["a1", "o1", "p1", "p2", "p3", "r1", "s1"], out
    assert "x1" not in recipients(out)
    for n in out["notifications"]:
        assert n["category"] == "scheduling"
        assert set(n["channels"]) == {"in_app", "push"}
    assert [i["type"] for i in feed(ws, "r1")] == ["appointment.booked"]


def test_all_staff_respects_each_members_own_push_switch(ws):
    team(ws)
    ws.host.patch("/v1/workspace", {"booking_alert_audience": "all_staff"})
    st, body, _ = ws.as_member("p2").patch(
        "/v1/me/preferences", {"categories": {"scheduling": {"push": False}}})
    assert st == 200, body
    out = post(ws, appt("appointment.booked", []))
    assert notification_for(out, "p2")["channels"] == ["in_app"]
    for mid in ("a1", "o1", "p1", "p3", "r1", "s1"):
        assert set(notification_for(out, mid)["channels"]) == {"in_app", "push"}


@pytest.mark.parametrize("event_type", [t for t in SCHEDULING_TYPES if t != "appointment.booked"])
def test_all_staff_audience_does_not_widen_other_scheduling_types(ws, event_type):
    team(ws)
    ws.host.patch("/v1/workspace", {"booking_alert_audience": "all_staff"})
    out = post(ws, appt(event_type, ["p1"]))
    assert recipients(out) == ["p1"]


# ---- own actions ----

@pytest.mark.parametrize("event_type", SCHEDULING_TYPES)
def test_scheduling_actor_gets_nothing_by_default_skipped_as_practitioner_scheduling(
        ws, event_type):
    team(ws)
    out = post(ws, appt(event_type, ["p1", "p2"], actor=member_actor("p1"), source="staff"))
    assert recipients(out) == ["p2"]
    assert notification_for(out, "p2")["category"] == "scheduling"
    s = skip_entry(out, "p1")
    assert s["reason"] == "preference"
    assert s["category"] == "practitioner_scheduling"
    assert feed(ws, "p1") == []


@pytest.mark.parametrize("event_type", SCHEDULING_TYPES)
def test_scheduling_actor_gets_a_practitioner_scheduling_item_when_they_turned_it_on(
        ws, event_type):
    team(ws)
    st, body, _ = ws.as_member("p1").patch(
        "/v1/me/preferences", {"categories": {"practitioner_scheduling": {"in_app": True}}})
    assert st == 200, body
    ev = appt(event_type, ["p1", "p2"], actor=member_actor("p1"), source="staff")
    out = post(ws, ev)
    assert recipients(out) == ["p1", "p2"]
    mine = notification_for(out, "p1")
    assert mine["category"] == "practitioner_scheduling"
    # Only what practitioner_scheduling allows: scheduling's push does not apply.
    assert mine["channels"] == ["in_app"]
    assert notification_for(out, "p2")["category"] == "scheduling"
    assert "p1" not in skipped(out)
    item = feed_item(ws, "p1", ev["id"])
    assert item["category"] == "practitioner_scheduling"
    assert item["type"] == event_type


OWN_ACTIONS = [
    ("form.submitted", lambda: form_event(["p1"], ["p2"], actor=member_actor("p2")),
     ["p1"], "p2"),
    ("file.uploaded", lambda: file_event(["p1", "p2"], actor=member_actor("p1")), ["p2"], "p1"),
    ("note.created", lambda: note_event("note.created", ["p1", "p3"], actor=member_actor("p3")),
     ["p1"], "p3"),
    ("note.updated", lambda: note_event("note.updated", ["p1", "p3"], actor=member_actor("p1")),
     ["p3"], "p1"),
    ("client.assigned", lambda: client_assigned_event(["p1", "p2"], actor=member_actor("p2")),
     ["p1"], "p2"),
    ("invoice.paid", lambda: invoice_event(["p3", "p1"], actor=member_actor("p3")), ["p1"], "p3"),
    ("subscription.payment_failed",
     lambda: dict(subscription_event(), actor=member_actor("o1")), ["a1"], "o1"),
    ("referral.credited",
     lambda: referral_event("referral.credited", "p1", actor=member_actor("p1")), [], "p1"),
    ("referral.joined",
     lambda: referral_event("referral.joined", "p1", actor=member_actor("p1")), [], "p1"),
    ("inbox.member_added",
     lambda: inbox_event("inbox.member_added", ["p1", "s1"], "p2", actor=member_actor("s1")),
     ["p1", "p2"], "s1"),
    ("inbox.member_removed",
     lambda: inbox_event("inbox.member_removed", ["p1", "s1"], "p2", actor=member_actor("p1")),
     ["p2", "s1"], "p1"),
    ("message.received", lambda: message_event(["p1", "p2"], sender="p2"), None, "p2"),
]


@pytest.mark.parametrize("event_type,build,expected,actor", OWN_ACTIONS,
                         ids=[o[0] for o in OWN_ACTIONS])
def test_actor_outside_scheduling_is_skipped_as_own_action(ws, event_type, build, expected,
                                                           actor):
    team(ws)
    # Even a member who wants records of their own scheduling actions is not
    # notified of their own actions in other categories.
    ws.as_member(actor).patch(
        "/v1/me/preferences", {"categories": {"practitioner_scheduling": {"in_app": True}}})
    out = post(ws, build())
    assert skip_entry(out, actor)["reason"] == "own_action"
    assert actor not in recipients(out)
    if expected is not None:
        assert recipients(out) == expected, out
    assert feed(ws, actor) == []


# ---- inactive and unknown members ----

def test_inactive_and_unknown_members_are_skipped_with_their_reason(ws):
    team(ws)
    out = post(ws, appt("appointment.booked", ["p1", "x1", "ghost_7"], [], ["nobody"]))
    assert recipients(out) == ["p1"]
    assert skipped(out) == {"x1": "inactive", "ghost_7": "unknown_member", "nobody": "unknown_member"}
    assert [s.get("category") for s in out["skipped"] if s["member_id"] == "x1"] == ["scheduling"]


@pytest.mark.parametrize("build,expected", [
    (lambda: file_event(["x1", "p1", "ghost"]), ["p1"]),
    (lambda: invoice_event(["x1", "p1", "ghost"]), ["p1"]),
    (lambda: inbox_event("inbox.member_added", ["x1", "p1"], "ghost"), ["p1"]),
    (lambda: message_event(["p2", "x1", "ghost", "p1"], sender="p2"), None),
], ids=["file.uploaded", "invoice.paid", "inbox.member_added", "message.received"])
def test_inactive_and_unknown_members_are_skipped_in_every_category(ws, build, expected):
    team(ws)
    out = post(ws, build())
    s = skipped(out)
    assert s.get("ghost") == "unknown_member", out
    assert s.get("x1") == "inactive", out
    assert "x1" not in recipients(out) and "ghost" not in recipients(out)
    if expected is not None:
        assert recipients(out) == expected


def test_unknown_referrer_is_skipped_as_unknown_member(ws):
    team(ws)
    out = post(ws, referral_event("referral.joined", "ghost"))
    assert out["notifications"] == []
    assert skipped(out) == {"ghost": "unknown_member"}


def test_member_deactivated_then_reactivated_is_skipped_then_notified(ws):
    team(ws)
    ws.member("p2", "practitioner", email=EMAIL % "p2", active=False)
    out = post(ws, appt("appointment.booked", ["p2"]))
    assert out["notifications"] == [] and skipped(out) == {"p2": "inactive"}
    ws.member("p2", "practitioner", email=EMAIL % "p2", active=True)
    out = post(ws, appt("appointment.booked", ["p2"]))
    assert recipients(out) == ["p2"] and out["skipped"] == []


def test_deleted_member_is_an_unknown_member(ws):
    team(ws)
    st, _, _ = ws.host.delete("/v1/members/p3")
    assert st == 204
    out = post(ws, appt("appointment.booked", ["p3", "p1"]))
    assert recipients(out) == ["p1"]
    assert skipped(out) == {"p3": "unknown_member"}


# ---- the 202 answer and GET /v1/events/{id} agree ----

def test_event_audit_shows_the_same_decisions_as_the_202_answer(ws):
    team(ws)
    ws.as_member("p2").patch("/v1/me/preferences",
                             {"categories": {"scheduling": {"push": False}}})
    ws.as_member("p3").patch("/v1/me/preferences",
                             {"categories": {"scheduling": {"in_app": False, "push": False}}})
    ev = appt("appointment.rescheduled", ["p1", "p2", "p3", "s1", "x1", "ghost"],
              actor=member_actor("s1"), source="staff")
    out = post(ws, ev)
    assert {n["member_id"]: (n["category"], sorted(n["channels"]))
            for n in out["notifications"]} == {
        "p1": ("scheduling", ["in_app", "push"]),
        "p2": ("scheduling", ["in_app"]),
    }
    assert skipped(out) == {"p3": "preference", "s1": "preference", "x1": "inactive",
                            "ghost": "unknown_member"}

    st, audit, _ = ws.host.get("/v1/events/" + ev["id"])
    assert st == 200, audit
    assert audit["event"]["id"] == ev["id"]
    assert audit["event"]["type"] == "appointment.rescheduled"
    assert audit["event"]["data"] == ev["data"]
    by_id = {n["id"]: n for n in audit["notifications"]}
    assert sorted(by_id) == sorted(n["id"] for n in out["notifications"])
    for n in out["notifications"]:
        a = by_id[n["id"]]
        assert a["member_id"] == n["member_id"]
        assert a["category"] == n["category"]
        assert sorted(a["channels"]) == sorted(n["channels"])
        assert a["state"] == "unread"
        assert a.get("reasons"), a
    assert {s["member_id"]: s["reason"] for s in audit["skipped"]} == skipped(out)
    assert {s["member_id"]: s.get("category") for s in audit["skipped"]}["s1"] == \
        "practitioner_scheduling"

    # The audit shows the notification's current state.
    p1_id = notification_for(out, "p1")["id"]
    st, _, _ = ws.as_member("p1").patch("/v1/me/notifications/" + p1_id, {"state": "read"})
    assert st == 200
    st, audit, _ = ws.host.get("/v1/events/" + ev["id"])
    assert {n["member_id"]: n["state"] for n in audit["notifications"]}["p1"] == "read"


def test_event_audit_of_unknown_or_other_workspace_event_is_404(ws, server):
    from conftest import Workspace
    team(ws)
    ev = appt("appointment.booked", ["p1"])
    post(ws, ev)
    st, body, _ = ws.host.get("/v1/events/" + unique("evt"))
    assert st == 404, body
    other = Workspace(server.url)
    st, body, _ = other.host.get("/v1/events/" + ev["id"])
    assert st == 404, body


def test_repeated_event_answers_200_with_the_same_decisions(ws):
    team(ws)
    ev = appt("appointment.booked", ["p1", "x1"], ["p2"])
    out = post(ws, ev)
    st, again, _ = ws.post_event(ev)
    assert st == 200, again
    assert again["notifications"] == out["notifications"]
    assert again["skipped"] == out["skipped"]
    assert len(feed(ws, "p1")) == 1


# ---- what the feed item says ----

def dublin_and_new_york(ws):
    ws.member("d1", "practitioner", name="Dee Dublin", timezone="Europe/Dublin")
    ws.member("n1", "practitioner", name="Ned York", timezone="America/New_York",
              locale="en-US")


def test_cancellation_item_says_who_when_and_the_reason(ws):
    dublin_and_new_york(ws)
    ev = appt("appointment.cancelled", ["d1"], reason="Feeling unwell")
    post(ws, ev)
    item = feed_item(ws, "d1", ev["id"])
    assert "cancel" in item["title"].lower()
    assert "Dana Reyes" in item["body"]
    assert "Feeling unwell" in item["body"]
    assert (14, 30) in times_24h(item["body"])  # 14:30Z is 14:30 in Dublin in November
    assert "24" in item["body"] and "Nov" in item["body"]


def test_cancellation_item_without_reason_mentions_no_reason(ws):
    dublin_and_new_york(ws)
    ev = appt("appointment.cancelled", ["d1"])
    post(ws, ev)
    item = feed_item(ws, "d1", ev["id"])
    assert "reason" not in item["body"].lower(), item["body"]


def test_times_are_rendered_in_each_members_time_zone(ws):
    dublin_and_new_york(ws)
    ev = appt("appointment.booked", ["d1", "n1"])  # starts 2026-11-24T14:30:00Z
    post(ws, ev)
    dublin = feed_item(ws, "d1", ev["id"])["body"]
    new_york = feed_item(ws, "n1", ev["id"])["body"]
    assert times_24h(dublin) == [(14, 30)], dublin
    assert times_24h(new_york) == [(9, 30)], new_york
    assert re.search(r"9:30[\s\u202f\u00a0]*AM", new_york), new_york  # en-US: 12-hour clock


def test_rescheduled_item_gives_old_and_new_time_in_members_zone(ws):
    dublin_and_new_york(ws)
    # previous 2026-11-23T10:00:00Z -> new 2026-11-24T14:30:00Z
    ev = appt("appointment.rescheduled", ["d1", "n1"])
    post(ws, ev)
    dublin = feed_item(ws, "d1", ev["id"])
    new_york = feed_item(ws, "n1", ev["id"])
    assert "reschedul" in dublin["title"].lower()
    assert times_24h(dublin["body"]) == [(10, 0), (14, 30)], dublin["body"]
    assert times_24h(new_york["body"]) == [(5, 0), (9, 30)], new_york["body"]
    assert "23" in dublin["body"] and "24" in dublin["body"]


def test_a_long_local_time_is_written_whole_and_not_mixed_up(ws):
    # Dzongkha spells Sat 21 Nov, 9:00 AM in 125 bytes of UTF-8 and Sun 22
    # Nov, 2:30 PM in 128: the longer time came out empty ("moved from ...
    # to  (Initial consult)"), and the shorter one, rendered again, as the
    # cut-off longer one (found by fuzz_render).
    ws.member("dz1", "practitioner", name="Dorji Wangmo", timezone="UTC", locale="dz")
    moved = appt("appointment.rescheduled", ["dz1"], starts_at="2026-11-22T14:30:00Z",
                 extra={"previous": {"starts_at": "2026-11-21T09:00:00Z"}})
    post(ws, moved)
    body = feed_item(ws, "dz1", moved["id"])["body"]
    m = re.fullmatch(r"Dana Reyes's appointment moved from (.+) to (.+) \(Initial consult\)\.",
                     body)
    assert m, body
    before, after = m.groups()
    assert len(before.encode()) == 125 and len(after.encode()) == 128, body
    confirmed = appt("appointment.confirmed", ["dz1"], starts_at="2026-11-21T09:00:00Z")
    post(ws, confirmed)
    body = feed_item(ws, "dz1", confirmed["id"])["body"]
    assert body == "Dana Reyes confirmed their appointment on %s (Initial consult)." % before, body


def test_member_without_time_zone_sees_the_workspaces_time_zone(ws):
    ws.member("z1", "practitioner")
    ev = appt("appointment.confirmed", ["z1"])
    post(ws, ev)
    assert times_24h(feed_item(ws, "z1", ev["id"])["body"]) == [(14, 30)]
    st, body, _ = ws.host.patch("/v1/workspace", {"timezone": "America/New_York"})
    assert st == 200, body
    ev = appt("appointment.confirmed", ["z1"])
    post(ws, ev)
    assert times_24h(feed_item(ws, "z1", ev["id"])["body"]) == [(9, 30)]


def test_item_keeps_its_text_as_of_creation(ws):
    dublin_and_new_york(ws)
    ev = appt("appointment.booked", ["d1"])
    post(ws, ev)
    before = feed_item(ws, "d1", ev["id"])
    ws.member("d1", "practitioner", name="Dee Dublin", timezone="America/New_York",
              locale="en-US")
    after = feed_item(ws, "d1", ev["id"])
    assert (after["title"], after["body"]) == (before["title"], before["body"])


CONTENT = [
    ("appointment.assigned",
     lambda: appt("appointment.assigned", ["p1"], actor=member_actor("a1", "Adam Admin"),
                  source="staff"),
     "p1", ["Dana Reyes", "Initial consult", "Adam Admin"]),
    ("appointment.booked", lambda: appt("appointment.booked", ["p1"], source="booking_page"),
     "p1", ["Dana Reyes", "Initial consult", "booking page"]),
    ("appointment.confirmed", lambda: appt("appointment.confirmed", ["p1"]),
     "p1", ["Dana Reyes", "confirmed"]),
    ("form.submitted", lambda: form_event(["p1"], []), "p1", ["Dana Reyes", "Intake form"]),
    ("file.uploaded", lambda: file_event(["p1"]), "p1", ["Dana Reyes", "referral-letter.pdf"]),
    ("note.created", lambda: note_event("note.created", ["p1"]), "p1",
     ["Dana Reyes", "Sleep diary"]),
    ("note.updated", lambda: note_event("note.updated", ["p1"]), "p1",
     ["Dana Reyes", "Sleep diary", "updated"]),
    ("client.assigned", lambda: client_assigned_event(["p1"]), "p1", ["Dana Reyes"]),
    ("invoice.paid", lambda: invoice_event(["p1"]), "p1", ["Dana Reyes", "INV-0042", "120.50"]),
    ("subscription.payment_failed", subscription_event, "o1", ["Professional", "49"]),
    ("referral.credited", lambda: referral_event("referral.credited", "p1"), "p1",
     ["Northside Physio", "50", "Their first month was paid"]),
    ("referral.joined", lambda: referral_event("referral.joined", "p1"), "p1",
     ["Northside Physio", "joined"]),
    ("inbox.member_added", lambda: inbox_event("inbox.member_added", ["p1"], "p2"), "p1",
     ["P2 Name", "Front desk", "Adam Admin", "added"]),
    ("inbox.member_removed", lambda: inbox_event("inbox.member_removed", ["p1"], "p2"), "p1",
     ["P2 Name", "Front desk", "Adam Admin", "removed"]),
]


@pytest.mark.parametrize("event_type,build,mid,needles", CONTENT, ids=[c[0] for c in CONTENT])
def test_feed_item_says_what_the_catalogue_says(ws, event_type, build, mid, needles):
    team(ws)
    ev = build()
    post(ws, ev)
    item = feed_item(ws, mid, ev["id"])
    assert item["title"], item
    text = item["title"] + " " + item["body"]
    for needle in needles:
        assert needle.lower() in text.lower(), (needle, text)


def test_added_member_is_told_they_were_added(ws):
    team(ws)
    ev = inbox_event("inbox.member_added", ["p1"], "p2")
    post(ws, ev)
    body = feed_item(ws, "p2", ev["id"])["body"]
    assert "You were added" in body and "Front desk" in body, body
