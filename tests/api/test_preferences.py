"""A member's preferences: shape, precedence, effect on channels,
cancellation alerts, the push switch, and precise errors for bad input.

PRODUCT.md "Categories and preferences", "Cancellation alerts"; API.md
"Member" and "Decisions" (preferences answer, cancellation window).
"""
import copy

import pytest

from conftest import appointment_event, recipients, skipped, unique

CATEGORIES = ["scheduling", "practitioner_scheduling", "billing", "clients_documents",
              "workspace", "communications"]
CHANNELS = ["in_app", "email", "sms", "push"]

BUILTIN = {
    "scheduling": {"in_app": True, "email": False, "sms": False, "push": True},
    "practitioner_scheduling": {"in_app": False, "email": False, "sms": False, "push": False},
    "billing": {"in_app": True, "email": True, "sms": False, "push": False},
    "clients_documents": {"in_app": True, "email": True, "sms": False, "push": False},
    "workspace": {"in_app": True, "email": True, "sms": False, "push": False},
    "communications": {"in_app": True, "email": True, "sms": False, "push": True},
}

OCCURRED = "2026-11-21T09:30:00Z"  # appointment_event's default occurred_at
PHONE = "+353861234567"


# ---- helpers ----

def prefs(member):
    st, body, _ = member.get("/v1/me/preferences")
    assert st == 200, body
    return body


def patch_prefs(member, body):
    st, out, _ = member.patch("/v1/me/preferences", body)
    assert st == 200, out
    return out


def patch_ws(ws, body):
    st, out, _ = ws.host.patch("/v1/workspace", body)
    assert st == 200, out
    return out


def post(ws, ev):
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    return out


def channels_of(out, mid):
    found = [n for n in out["notifications"] if n["member_id"] == mid]
    assert len(found) == 1, out
    return set(found[0]["channels"])


def booked(staff, **kw):
    return appointment_event("appointment.booked", staff, **kw)


def cancelled(staff, starts_at, **kw):
    return appointment_event("appointment.cancelled", staff, starts_at=starts_at,
                             occurred_at=OCCURRED, **kw)


def payment_failed():
    return {"id": unique("evt"), "type": "subscription.payment_failed",
            "occurred_at": OCCURRED, "source": "system", "actor": {"kind": "system"},
            "data": {"subscription": {"id": "sub_1", "plan": "Professional", "amount": 49,
                                      "currency": "EUR"}}}


def invoice_paid(staff):
    return {"id": unique("evt"), "type": "invoice.paid", "occurred_at": OCCURRED,
            "source": "system", "actor": {"kind": "system"},
            "data": {"invoice": {"id": "inv_1", "number": "INV-1", "amount": 80,
                                 "currency": "EUR", "staff_ids": list(staff)},
                     "client": {"id": "cl_1", "name": "Dana Reyes",
                                "assigned_staff_ids": []}}}


def message(participants, sender):
    return {"id": unique("evt"), "type": "message.received", "occurred_at": OCCURRED,
            "source": "staff", "actor": {"kind": "member", "id": sender},
            "data": {"conversation": {"id": unique("cv"), "participant_ids": participants},
                     "message": {"id": unique("msg"), "text": "hi"}}}


def practitioner(ws, mid="m_pat", email=True, phone=True):
    fields = {}
    if email:
        fields["email"] = mid + "@example.test"
    if phone:
        fields["phone"] = PHONE
    ws.member(mid, "practitioner", **fields)
    return ws.as_member(mid)


# ---- shape ----

def test_default_preferences_show_builtin_matrix_all_sourced_default(ws):
    me = practitioner(ws)
    body = prefs(me)
    assert body["categories"] == BUILTIN
    assert body["sources"] == {c: {ch: "default" for ch in CHANNELS} for c in CATEGORIES}
    assert body["cancellation_alerts"] == {"channels": "off", "within_days": None}
    assert body["push_enabled"] is True
    assert body["critical"] == [{"type": "subscription.payment_failed", "category": "billing",
                                 "channels": ["in_app", "email"]}]


def test_patch_answers_the_full_effective_preferences(ws):
    me = practitioner(ws)
    out = patch_prefs(me, {"categories": {"billing": {"email": False}}})
    expected = copy.deepcopy(BUILTIN)
    expected["billing"]["email"] = False
    assert out["categories"] == expected
    assert out["sources"]["billing"] == {"in_app": "default", "email": "member",
                                         "sms": "default", "push": "default"}
    assert set(out) >= {"categories", "sources", "cancellation_alerts", "push_enabled",
                        "critical"}
    assert prefs(me) == out


def test_patch_with_a_subset_leaves_everything_else_alone(ws):
    me = practitioner(ws)
    patch_prefs(me, {"cancellation_alerts": {"channels": "sms", "within_days": 3}})
    patch_prefs(me, {"push_enabled": False})
    patch_prefs(me, {"cancellation_alerts": {"within_days": 10}})
    body = prefs(me)
    assert body["cancellation_alerts"] == {"channels": "sms", "within_days": 10}
    assert body["push_enabled"] is False
    assert body["categories"] == BUILTIN


# ---- precedence: default < workspace < member ----

def test_precedence_default_then_workspace_then_member_with_sources(ws):
    me = practitioner(ws)
    # Workspace turns scheduling email on for all its members.
    w = patch_ws(ws, {"default_preferences": {"categories": {"scheduling": {"email": True}}}})
    assert w["default_preferences"]["categories"]["scheduling"]["email"] is True
    body = prefs(me)
    assert body["categories"]["scheduling"]["email"] is True
    assert body["sources"]["scheduling"]["email"] == "workspace"
    assert body["sources"]["scheduling"]["in_app"] == "default"

    # The member overrides the workspace.
    body = patch_prefs(me, {"categories": {"scheduling": {"email": False}}})
    assert body["categories"]["scheduling"]["email"] is False
    assert body["sources"]["scheduling"]["email"] == "member"

    # A later workspace change does not override the member's choice.
    patch_ws(ws, {"default_preferences": {"categories": {"scheduling": {"email": True}}}})
    assert prefs(me)["categories"]["scheduling"]["email"] is False

    # null clears the member's override: inherits the workspace again.
    body = patch_prefs(me, {"categories": {"scheduling": {"email": None}}})
    assert body["categories"]["scheduling"]["email"] is True
    assert body["sources"]["scheduling"]["email"] == "workspace"

    # null at the workspace clears it back to the built-in default.
    w = patch_ws(ws, {"default_preferences": {"categories": {"scheduling": {"email": None}}}})
    assert w["default_preferences"]["categories"]["scheduling"]["email"] is False
    body = prefs(me)
    assert body["categories"]["scheduling"]["email"] is False
    assert body["sources"]["scheduling"]["email"] == "default"
    assert body["categories"] == BUILTIN


def test_member_override_equal_to_default_is_still_the_members(ws):
    me = practitioner(ws)
    body = patch_prefs(me, {"categories": {"scheduling": {"push": True}}})
    assert body["sources"]["scheduling"]["push"] == "member"
    patch_ws(ws, {"default_preferences": {"categories": {"scheduling": {"push": False}}}})
    body = prefs(me)
    assert body["categories"]["scheduling"]["push"] is True
    assert body["sources"]["scheduling"]["push"] == "member"


def test_one_members_override_does_not_touch_another_member(ws):
    a = practitioner(ws, "m_a")
    b = practitioner(ws, "m_b")
    patch_prefs(a, {"categories": {"communications": {"push": False}}})
    assert prefs(b)["categories"] == BUILTIN
    assert prefs(b)["sources"]["communications"]["push"] == "default"


def test_workspace_default_changes_channels_of_events(ws):
    practitioner(ws, "m_mail")
    practitioner(ws, "m_nomail", email=False)
    assert channels_of(post(ws, booked(["m_mail"])), "m_mail") == {"in_app", "push"}
    patch_ws(ws, {"default_preferences": {"categories": {"scheduling": {"email": True}}}})
    out = post(ws, booked(["m_mail", "m_nomail"]))
    assert channels_of(out, "m_mail") == {"in_app", "email", "push"}
    # Email needs an address.
    assert channels_of(out, "m_nomail") == {"in_app", "push"}


# ---- effect on a posted event ----

def test_member_turning_scheduling_push_off_gets_no_push(ws):
    me = practitioner(ws, "m_me")
    practitioner(ws, "m_other")
    patch_prefs(me, {"categories": {"scheduling": {"push": False}}})
    out = post(ws, booked(["m_me", "m_other"]))
    assert channels_of(out, "m_me") == {"in_app"}
    assert channels_of(out, "m_other") == {"in_app", "push"}


def test_member_with_every_channel_off_is_skipped_for_preference(ws):
    me = practitioner(ws, "m_me")
    patch_prefs(me, {"categories": {"scheduling": {c: False for c in CHANNELS}}})
    out = post(ws, booked(["m_me"]))
    assert out["notifications"] == []
    assert skipped(out) == {"m_me": "preference"}
    st, feed, _ = me.get("/v1/me/notifications", params={"filter": "all"})
    assert feed["items"] == []
    # Other categories are untouched.
    out = post(ws, message(["m_me", "m_x"], sender="m_x"))
    assert "m_me" in [n["member_id"] for n in out["notifications"]] + \
        [g["member_id"] for g in out.get("grouped", [])]


def test_member_turning_email_on_gets_email_only_with_an_address(ws):
    with_mail = practitioner(ws, "m_mail")
    without = practitioner(ws, "m_nomail", email=False)
    for m in (with_mail, without):
        patch_prefs(m, {"categories": {"scheduling": {"email": True, "sms": True}}})
    out = post(ws, booked(["m_mail", "m_nomail"]))
    assert channels_of(out, "m_mail") == {"in_app", "email", "sms", "push"}
    assert channels_of(out, "m_nomail") == {"in_app", "sms", "push"}


def test_payment_failed_is_critical_in_app_and_email_despite_billing_opt_out(ws):
    ws.member("o1", "owner", email="o1@example.test")
    owner = ws.as_member("o1")
    patch_prefs(owner, {"categories": {"billing": {"in_app": False, "email": False}}})
    out = post(ws, payment_failed())
    assert recipients(out) == ["o1"]
    assert channels_of(out, "o1") == {"in_app", "email"}
    st, feed, _ = owner.get("/v1/me/notifications")
    assert [i["type"] for i in feed["items"]] == ["subscription.payment_failed"]
    st, count, _ = owner.get("/v1/me/notifications/count")
    assert count == {"unread": 1}
    # The same opt-out does silence an ordinary billing type.
    out = post(ws, invoice_paid([]))
    assert out["notifications"] == []
    assert skipped(out) == {"o1": "preference"}


def test_payment_failed_push_and_sms_still_follow_preferences(ws):
    ws.member("a1", "admin", email="a1@example.test", phone=PHONE)
    admin = ws.as_member("a1")
    patch_prefs(admin, {"categories": {"billing": {"in_app": False, "email": False,
                                                   "push": True}}})
    assert channels_of(post(ws, payment_failed()), "a1") == {"in_app", "email", "push"}
    patch_prefs(admin, {"push_enabled": False})
    assert channels_of(post(ws, payment_failed()), "a1") == {"in_app", "email"}


def test_payment_failed_email_still_needs_an_address(ws):
    ws.member("o1", "owner")
    patch_prefs(ws.as_member("o1"), {"categories": {"billing": {"email": False}}})
    assert channels_of(post(ws, payment_failed()), "o1") == {"in_app"}


# ---- push switch ----

def test_push_enabled_false_removes_push_from_every_category(ws):
    me = practitioner(ws, "m_me")
    body = patch_prefs(me, {"push_enabled": False})
    assert body["push_enabled"] is False
    # The matrix still says push on; the global switch wins.
    assert body["categories"]["scheduling"]["push"] is True
    assert channels_of(post(ws, booked(["m_me"])), "m_me") == {"in_app"}
    out = post(ws, message(["m_me", "m_x"], sender="m_x"))
    for n in out["notifications"]:
        assert "push" not in n["channels"]
    patch_prefs(me, {"push_enabled": True})
    assert channels_of(post(ws, booked(["m_me"])), "m_me") == {"in_app", "push"}


def test_push_only_member_with_push_disabled_is_skipped(ws):
    me = practitioner(ws, "m_me")
    patch_prefs(me, {"categories": {"scheduling": {"in_app": False}}, "push_enabled": False})
    out = post(ws, booked(["m_me"]))
    assert skipped(out) == {"m_me": "preference"}


# ---- cancellation alerts: validation ----

@pytest.mark.parametrize("channels", ["off", "email", "sms", "email_and_sms"])
def test_cancellation_alert_channels_accept_each_documented_value(ws, channels):
    me = practitioner(ws)
    body = patch_prefs(me, {"cancellation_alerts": {"channels": channels}})
    assert body["cancellation_alerts"]["channels"] == channels
    assert prefs(me)["cancellation_alerts"]["channels"] == channels


@pytest.mark.parametrize("days", [1, 2, 365, None])
def test_cancellation_alert_window_accepts_1_to_365_or_null(ws, days):
    me = practitioner(ws)
    body = patch_prefs(me, {"cancellation_alerts": {"channels": "email", "within_days": days}})
    assert body["cancellation_alerts"] == {"channels": "email", "within_days": days}
    assert prefs(me)["cancellation_alerts"] == {"channels": "email", "within_days": days}


@pytest.mark.parametrize("days", [0, -1, 366, 1000, "2", 2.5, True, [2], {"d": 2}])
def test_cancellation_alert_window_out_of_range_is_rejected_and_changes_nothing(ws, days):
    me = practitioner(ws)
    patch_prefs(me, {"cancellation_alerts": {"channels": "sms", "within_days": 7}})
    before = prefs(me)
    st, err, _ = me.patch("/v1/me/preferences",
                          {"cancellation_alerts": {"channels": "email", "within_days": days}})
    assert st == 400, err
    assert err["error"]["field"] == "cancellation_alerts.within_days"
    assert err["error"]["code"] == "invalid_field"
    assert prefs(me) == before


@pytest.mark.parametrize("channels", ["push", "EMAIL", "", None, 1, ["email"]])
def test_cancellation_alert_channels_outside_the_list_are_rejected(ws, channels):
    me = practitioner(ws)
    before = prefs(me)
    st, err, _ = me.patch("/v1/me/preferences", {"cancellation_alerts": {"channels": channels}})
    assert st == 400, err
    assert err["error"]["field"] == "cancellation_alerts.channels"
    assert prefs(me) == before


def test_cancellation_alerts_unknown_key_and_non_object_are_rejected(ws):
    me = practitioner(ws)
    before = prefs(me)
    st, err, _ = me.patch("/v1/me/preferences",
                          {"cancellation_alerts": {"channels": "sms", "hours": 4}})
    assert st == 400 and err["error"]["field"] == "cancellation_alerts.hours", err
    st, err, _ = me.patch("/v1/me/preferences", {"cancellation_alerts": "sms"})
    assert st == 400 and err["error"]["field"] == "cancellation_alerts", err
    assert prefs(me) == before


# ---- cancellation alerts: effect on appointment.cancelled ----

IN_1_DAY = "2026-11-22T09:30:00Z"
IN_2_DAYS_EXACTLY = "2026-11-23T09:30:00Z"
IN_2_DAYS_AND_1_MIN = "2026-11-23T09:31:00Z"
IN_300_DAYS = "2027-09-17T09:30:00Z"
BEFORE_CANCELLATION = "2026-11-21T09:00:00Z"
AT_CANCELLATION = OCCURRED


def alerts(member, channels, within_days):
    patch_prefs(member, {"cancellation_alerts": {"channels": channels,
                                                 "within_days": within_days}})


def test_cancellation_alerts_are_off_by_default_even_with_email_and_phone(ws):
    practitioner(ws, "m_me")
    out = post(ws, cancelled(["m_me"], IN_1_DAY))
    assert channels_of(out, "m_me") == {"in_app", "push"}


@pytest.mark.parametrize("starts_at,in_window", [
    (AT_CANCELLATION, True),
    (IN_1_DAY, True),
    (IN_2_DAYS_EXACTLY, True),
    (IN_2_DAYS_AND_1_MIN, False),
    (IN_300_DAYS, False),
    (BEFORE_CANCELLATION, False),
], ids=["starts-now", "in-1-day", "in-exactly-2-days", "in-2-days-1-min", "in-300-days",
        "already-started"])
def test_cancellation_email_and_sms_only_within_the_window(ws, starts_at, in_window):
    me = practitioner(ws, "m_me")
    alerts(me, "email_and_sms", 2)
    out = post(ws, cancelled(["m_me"], starts_at))
    expected = {"in_app", "push"} | ({"email", "sms"} if in_window else set())
    assert channels_of(out, "m_me") == expected


@pytest.mark.parametrize("starts_at", [IN_1_DAY, IN_300_DAYS])
def test_cancellation_window_null_means_anytime(ws, starts_at):
    me = practitioner(ws, "m_me")
    alerts(me, "email_and_sms", None)
    out = post(ws, cancelled(["m_me"], starts_at))
    assert channels_of(out, "m_me") == {"in_app", "email", "sms", "push"}


@pytest.mark.parametrize("setting,extra", [
    ("off", set()), ("email", {"email"}), ("sms", {"sms"}), ("email_and_sms", {"email", "sms"}),
])
def test_cancellation_alert_channels_pick_email_and_or_sms(ws, setting, extra):
    me = practitioner(ws, "m_me")
    alerts(me, setting, None)
    out = post(ws, cancelled(["m_me"], IN_1_DAY))
    assert channels_of(out, "m_me") == {"in_app", "push"} | extra


def test_cancellation_sms_needs_a_phone_and_email_needs_an_address(ws):
    no_phone = practitioner(ws, "m_nophone", phone=False)
    no_mail = practitioner(ws, "m_nomail", email=False)
    for m in (no_phone, no_mail):
        alerts(m, "email_and_sms", None)
    out = post(ws, cancelled(["m_nophone", "m_nomail"], IN_1_DAY))
    assert channels_of(out, "m_nophone") == {"in_app", "email", "push"}
    assert channels_of(out, "m_nomail") == {"in_app", "sms", "push"}


def test_cancellation_alerts_apply_to_every_source_but_not_own_cancellation(ws):
    me = practitioner(ws, "m_me")
    practitioner(ws, "m_colleague")
    alerts(me, "email_and_sms", None)
    for source, actor in [("client_portal", None), ("booking_page", None),
                          ("reception", {"kind": "member", "id": "m_colleague"}),
                          ("staff", {"kind": "member", "id": "m_colleague"}),
                          ("system", {"kind": "system"})]:
        out = post(ws, cancelled(["m_me"], IN_1_DAY, source=source, actor=actor))
        assert channels_of(out, "m_me") == {"in_app", "email", "sms", "push"}, source
    # The practitioner cancelled it themselves: no alert at all.
    out = post(ws, cancelled(["m_me", "m_colleague"], IN_1_DAY, source="staff",
                             actor={"kind": "member", "id": "m_me"}))
    assert "m_me" not in recipients(out)
    assert skipped(out)["m_me"] == "preference"


def test_own_cancellation_recorded_in_practitioner_scheduling_never_alerts(ws):
    me = practitioner(ws, "m_me")
    alerts(me, "email_and_sms", None)
    patch_prefs(me, {"categories": {"practitioner_scheduling": {"in_app": True}}})
    out = post(ws, cancelled(["m_me"], IN_1_DAY, source="staff",
                             actor={"kind": "member", "id": "m_me"}))
    n = [x for x in out["notifications"] if x["member_id"] == "m_me"]
    assert len(n) == 1 and n[0]["category"] == "practitioner_scheduling"
    assert n[0]["channels"] == ["in_app"]


def test_cancellation_email_is_governed_by_alerts_not_the_scheduling_matrix(ws):
    me = practitioner(ws, "m_me")
    patch_prefs(me, {"categories": {"scheduling": {"email": True, "sms": True}}})
    # The matrix applies to bookings...
    assert channels_of(post(ws, booked(["m_me"])), "m_me") == {"in_app", "email", "sms", "push"}
    # ...but a cancellation's email/SMS follow the alert setting alone (off).
    assert channels_of(post(ws, cancelled(["m_me"], IN_1_DAY)), "m_me") == {"in_app", "push"}
    # With alerts on and scheduling in-app and push off, only the alert channels remain.
    patch_prefs(me, {"categories": {"scheduling": {"in_app": False, "push": False,
                                                   "email": False, "sms": False}}})
    alerts(me, "sms", 2)
    assert channels_of(post(ws, cancelled(["m_me"], IN_1_DAY)), "m_me") == {"sms"}
    out = post(ws, cancelled(["m_me"], IN_300_DAYS))
    assert skipped(out) == {"m_me": "preference"}


def test_cancellation_alerts_do_not_touch_other_scheduling_types(ws):
    me = practitioner(ws, "m_me")
    alerts(me, "email_and_sms", None)
    for t in ("appointment.booked", "appointment.rescheduled", "appointment.confirmed"):
        extra = {"previous": {"starts_at": "2026-11-22T08:00:00Z"}} \
            if t == "appointment.rescheduled" else {}
        out = post(ws, appointment_event(t, ["m_me"], starts_at=IN_1_DAY, **extra))
        assert channels_of(out, "m_me") == {"in_app", "push"}, t


def test_push_enabled_false_removes_push_from_a_cancellation(ws):
    me = practitioner(ws, "m_me")
    alerts(me, "email", 2)
    patch_prefs(me, {"push_enabled": False})
    assert channels_of(post(ws, cancelled(["m_me"], IN_1_DAY)), "m_me") == {"in_app", "email"}


# ---- invalid bodies: precise field, nothing changed ----

INVALID = [
    ({"categories": {"foo": {"in_app": True}}}, "categories.foo"),
    ({"categories": {"scheduling": {"fax": True}}}, "categories.scheduling.fax"),
    ({"categories": {"scheduling": {"push": "false"}}}, "categories.scheduling.push"),
    ({"categories": {"scheduling": {"push": 0}}}, "categories.scheduling.push"),
    ({"categories": {"billing": {"email": [True]}}}, "categories.billing.email"),
    ({"categories": {"scheduling": True}}, "categories.scheduling"),
    ({"categories": ["scheduling"]}, "categories"),
    ({"push_enabled": "no"}, "push_enabled"),
    ({"push_enabled": 1}, "push_enabled"),
    ({"push_enabled": None}, "push_enabled"),
    ({"colour": "blue"}, "colour"),
    # A valid change next to an invalid one is not applied either.
    ({"push_enabled": False, "categories": {"scheduling": {"push": False},
                                            "bogus": {"push": True}}}, "categories.bogus"),
    ({"categories": {"scheduling": {"push": False}},
      "cancellation_alerts": {"channels": "sms", "within_days": 0}},
     "cancellation_alerts.within_days"),
]


@pytest.mark.parametrize("body,field", INVALID, ids=[f for _, f in INVALID])
def test_invalid_preferences_patch_names_the_field_and_changes_nothing(ws, body, field):
    me = practitioner(ws)
    patch_prefs(me, {"categories": {"billing": {"push": True}},
                     "cancellation_alerts": {"channels": "email", "within_days": 5}})
    before = prefs(me)
    st, err, r = me.patch("/v1/me/preferences", body)
    assert st == 400, err
    assert err["error"]["field"] == field, err
    assert err["error"]["code"] in ("invalid_field", "unknown_field"), err
    assert err["error"]["message"]
    assert prefs(me) == before


def test_preferences_patch_that_is_not_json_is_rejected_and_changes_nothing(ws):
    me = practitioner(ws)
    before = prefs(me)
    st, err, _ = me.call("PATCH", "/v1/me/preferences", data="{not json",
                         headers={"Content-Type": "application/json"})
    assert st == 400, err
    st, err, _ = me.patch("/v1/me/preferences", ["push_enabled"])
    assert st == 400, err
    assert prefs(me) == before


@pytest.mark.parametrize("body,field", [
    ({"default_preferences": {"categories": {"foo": {"email": True}}}},
     "default_preferences.categories.foo"),
    ({"default_preferences": {"categories": {"billing": {"fax": True}}}},
     "default_preferences.categories.billing.fax"),
    ({"default_preferences": {"categories": {"billing": {"email": "yes"}}}},
     "default_preferences.categories.billing.email"),
    ({"default_preferences": {"scheduling": {"email": True}}},
     "default_preferences.scheduling"),
], ids=["unknown-category", "unknown-channel", "non-bool", "missing-categories-level"])
def test_invalid_workspace_defaults_name_the_field_and_change_nothing(ws, body, field):
    me = practitioner(ws)
    patch_ws(ws, {"default_preferences": {"categories": {"billing": {"sms": True}}}})
    before_ws = ws.host.get("/v1/workspace")[1]
    before = prefs(me)
    st, err, _ = ws.host.patch("/v1/workspace", body)
    assert st == 400, err
    assert err["error"]["field"] == field, err
    assert ws.host.get("/v1/workspace")[1] == before_ws
    assert prefs(me) == before


def test_preferences_need_a_member_token(ws):
    practitioner(ws)
    st, _, _ = ws.host.get("/v1/me/preferences")
    assert st == 403
    st, _, _ = ws.host.get("/v1/me/preferences", token="nope")
    assert st == 401
