"""Workspaces: created by the operator, configured and credited by the host."""
import json

import pytest

from conftest import Client, Workspace, unique

ANY = object()


def check_error(st, body, r, status, code=ANY, field=ANY):
    assert st == status, (st, body)
    assert r.headers.get("X-Request-Id")
    err = body["error"]
    assert {"code", "message", "field"} <= set(err), err
    if code is not ANY:
        assert err["code"] == code, err
    if field is not ANY:
        assert err["field"] == field, err
    return err


def listed_ids(admin):
    st, body, _ = admin.get("/v1/workspaces")
    assert st == 200, body
    return {w["id"] for w in body["workspaces"]}


# ---- create and list (operator) ----

def test_create_workspace_answers_201_with_workspace_key_and_signing_secret(admin):
    wid = unique("ws")
    st, body, r = admin.post("/v1/workspaces", {"id": wid, "name": "Harbour Physio",
                                                "timezone": "Australia/Sydney"})
    assert st == 201, body
    assert r.headers.get("X-Request-Id")
    w = body["workspace"]
    assert w["id"] == wid and w["name"] == "Harbour Physio"
    assert w["timezone"] == "Australia/Sydney"
    assert body["api_key"].startswith("hk_")
    assert body["signing_secret"] and body["signing_secret"] != body["api_key"]
    # the key works and is bound to this workspace
    st, mine, _ = Client(admin.url, body["api_key"]).get("/v1/workspace")
    assert st == 200 and mine["id"] == wid


def test_new_workspace_has_the_documented_defaults(ws):
    st, w, _ = ws.host.get("/v1/workspace")
    assert st == 200, w
    assert w["message_group_window_s"] == 180
    assert w["booking_alert_audience"] == "assigned"
    assert w["phi_in_external_channels"] is False
    assert w["sms_fallback_to_email"] is True
    assert 390 <= w["retention_days"] <= 397, "13 months by default"


def test_duplicate_workspace_id_is_409_and_keeps_the_original(ws, admin):
    st, body, _ = admin.post("/v1/workspaces", {"id": ws.id, "name": "Impostor",
                                                "timezone": "Europe/Paris"})
    check_error(st, body, _, 409, ANY, "id")
    assert "api_key" not in body and "signing_secret" not in body
    st, w, _ = ws.host.get("/v1/workspace")
    assert w["name"] == "Test practice" and w["timezone"] == "Europe/Dublin"


BAD_CREATE = [
    ({"name": "X", "timezone": "Europe/Dublin"}, "missing_field", "id"),
    ({"id": "has space", "name": "X", "timezone": "Europe/Dublin"}, "invalid_field", "id"),
    ({"id": "a/b", "name": "X", "timezone": "Europe/Dublin"}, "invalid_field", "id"),
    ({"id": "", "name": "X", "timezone": "Europe/Dublin"}, "invalid_field", "id"),
    ({"id": "w" * 129, "name": "X", "timezone": "Europe/Dublin"}, "invalid_field", "id"),
    ({"id": 42, "name": "X", "timezone": "Europe/Dublin"}, "invalid_field", "id"),
    ({"id": "@ID@", "timezone": "Europe/Dublin"}, "missing_field", "name"),
    ({"id": "@ID@", "name": "", "timezone": "Europe/Dublin"}, "invalid_field", "name"),
    ({"id": "@ID@", "name": "X"}, "missing_field", "timezone"),
    ({"id": "@ID@", "name": "X", "timezone": "Mars/Base"}, "invalid_field", "timezone"),
    ({"id": "@ID@", "name": "X", "timezone": "GMT+25"}, "invalid_field", "timezone"),
    ({"id": "@ID@", "name": "X", "timezone": 1}, "invalid_field", "timezone"),
    ({"id": "@ID@", "name": "X", "timezone": "Europe/Dublin", "plan": "gold"},
     "invalid_field", "plan"),
]


@pytest.mark.parametrize("body,code,field", BAD_CREATE,
                         ids=["%s-%s" % (f, i) for i, (_, _, f) in enumerate(BAD_CREATE)])
def test_invalid_workspace_create_is_400_with_field_and_creates_nothing(admin, body, code,
                                                                       field):
    wid = unique("ws")
    body = json.loads(json.dumps(body).replace("@ID@", wid))
    check_error(*admin.post("/v1/workspaces", body), 400, code, field)
    assert wid not in listed_ids(admin)
    st, out, _ = admin.post("/v1/workspaces", {"id": wid, "name": "Fixed",
                                               "timezone": "Europe/Dublin"})
    assert st == 201, out


def test_create_workspace_with_malformed_json_is_400(admin):
    st, body, r = admin.call("POST", "/v1/workspaces", data=b'{"id": "x"',
                             headers={"Content-Type": "application/json"})
    check_error(st, body, r, 400, "invalid_json")


def test_list_workspaces_includes_new_one_without_any_secret(ws, admin):
    st, body, r = admin.get("/v1/workspaces")
    assert st == 200, body
    mine = [w for w in body["workspaces"] if w["id"] == ws.id]
    assert len(mine) == 1
    assert mine[0]["name"] == "Test practice" and mine[0]["timezone"] == "Europe/Dublin"
    text = r.text
    assert ws.key not in text and ws.secret not in text
    for w in body["workspaces"]:
        assert not {"api_key", "signing_secret", "key_hash", "secret"} & set(w), w


# ---- settings (host) ----

def test_patch_workspace_settings_round_trip(ws):
    patch = {"name": "Renamed practice", "timezone": "America/New_York",
             "message_group_window_s": 300, "booking_alert_audience": "all_staff",
             "phi_in_external_channels": True, "sms_fallback_to_email": False,
             "retention_days": 30, "email_sender_name": "Renamed Reception",
             "sms_sender_id": "Renamed"}
    st, out, _ = ws.host.patch("/v1/workspace", patch)
    assert st == 200, out
    st, got, _ = ws.host.get("/v1/workspace")
    assert st == 200
    for k, v in patch.items():
        assert out[k] == v, k
        assert got[k] == v, k
    # a partial patch changes only what it names
    st, out, _ = ws.host.patch("/v1/workspace", {"booking_alert_audience": "assigned"})
    assert st == 200, out
    assert out["booking_alert_audience"] == "assigned"
    assert out["message_group_window_s"] == 300 and out["name"] == "Renamed practice"
    # the operator's listing reflects it too
    st, listing, _ = Client(ws.url, ws.admin.token).get("/v1/workspaces")
    assert [w["name"] for w in listing["workspaces"] if w["id"] == ws.id] == ["Renamed practice"]


def test_patch_default_preferences_round_trip(ws):
    st, out, _ = ws.host.patch("/v1/workspace", {"default_preferences": {"categories": {
        "scheduling": {"email": True}, "billing": {"in_app": False}}}})
    assert st == 200, out
    cats = out["default_preferences"]["categories"]
    assert cats["scheduling"]["email"] is True and cats["billing"]["in_app"] is False
    assert cats["scheduling"]["in_app"] is True


BAD_PATCH = [
    ({"message_group_window_s": 0}, "message_group_window_s"),
    ({"message_group_window_s": -180}, "message_group_window_s"),
    ({"message_group_window_s": 10 ** 9}, "message_group_window_s"),
    ({"message_group_window_s": "180"}, "message_group_window_s"),
    ({"message_group_window_s": 180.5}, "message_group_window_s"),
    ({"message_group_window_s": None}, "message_group_window_s"),
    ({"booking_alert_audience": "everyone"}, "booking_alert_audience"),
    ({"booking_alert_audience": "ALL_STAFF"}, "booking_alert_audience"),
    ({"booking_alert_audience": 1}, "booking_alert_audience"),
    ({"retention_days": 0}, "retention_days"),
    ({"retention_days": -1}, "retention_days"),
    ({"retention_days": "forever"}, "retention_days"),
    ({"retention_days": 1.5}, "retention_days"),
    ({"phi_in_external_channels": "yes"}, "phi_in_external_channels"),
    ({"sms_fallback_to_email": 1}, "sms_fallback_to_email"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"name": ""}, "name"),
    ({"sms_sender_id": "Way too long sender"}, "sms_sender_id"),
    ({"colour": "blue"}, "colour"),
    ({"default_preferences": {"categories": {"gossip": {"email": True}}}},
     "default_preferences.categories.gossip"),
    ({"default_preferences": {"categories": {"billing": {"fax": True}}}},
     "default_preferences.categories.billing.fax"),
    ({"default_preferences": {"categories": {"billing": {"email": "on"}}}},
     "default_preferences.categories.billing.email"),
    ({"default_preferences": {"colours": {}}}, "default_preferences.colours"),
    # a valid setting does not smuggle an invalid one through
    ({"retention_days": 30, "booking_alert_audience": "nobody"}, "booking_alert_audience"),
]


@pytest.mark.parametrize("patch,field", BAD_PATCH,
                         ids=["%s-%d" % (f, i) for i, (_, f) in enumerate(BAD_PATCH)])
def test_invalid_workspace_patch_is_400_with_field_and_changes_nothing(ws, patch, field):
    st, before, _ = ws.host.get("/v1/workspace")
    check_error(*ws.host.patch("/v1/workspace", patch), 400, "invalid_field", field)
    st, after, _ = ws.host.get("/v1/workspace")
    assert after == before


@pytest.mark.parametrize("value", [60, 180, 3600])
def test_message_group_window_accepts_sensible_values(ws, value):
    st, out, _ = ws.host.patch("/v1/workspace", {"message_group_window_s": value})
    assert st == 200, out
    assert out["message_group_window_s"] == value


def test_patch_workspace_with_non_object_body_is_400(ws):
    st, body, r = ws.host.call("PATCH", "/v1/workspace", data=b"[1,2]",
                               headers={"Content-Type": "application/json"})
    check_error(st, body, r, 400)


def test_workspace_settings_are_per_workspace(server, ws):
    other = Workspace(server.url)
    assert ws.host.patch("/v1/workspace", {"retention_days": 7})[0] == 200
    assert other.host.get("/v1/workspace")[1]["retention_days"] != 7


# ---- credits ----

def test_credits_start_at_zero_and_add_answers_the_balance(ws):
    st, body, _ = ws.host.get("/v1/workspace/credits")
    assert st == 200 and body == {"balance": 0}, body
    st, body, _ = ws.host.post("/v1/workspace/credits", {"add": 100, "reason": "top-up"})
    assert st == 200, body
    assert body == {"balance": 100}
    st, body, _ = ws.host.post("/v1/workspace/credits", {"add": 5})
    assert body == {"balance": 105}
    assert ws.host.get("/v1/workspace/credits")[1] == {"balance": 105}
    assert ws.host.get("/v1/workspace")[1]["credits"] == 105


@pytest.mark.parametrize("body,field", [
    ({"add": 0}, "add"), ({"add": -10}, "add"), ({"add": 1.5}, "add"), ({"add": "10"}, "add"),
    ({"add": True}, "add"), ({"add": None}, "add"), ({}, "add"), ({"reason": "gift"}, "add"),
    ({"add": 10, "extra": 1}, "extra"), ({"add": 2 ** 62}, "add"),
])
def test_credits_add_must_be_a_positive_integer_and_refusal_changes_nothing(ws, body, field):
    assert ws.host.post("/v1/workspace/credits", {"add": 7})[1] == {"balance": 7}
    st, out, r = ws.host.post("/v1/workspace/credits", body)
    check_error(st, out, r, 400, ANY, field)
    assert ws.host.get("/v1/workspace/credits")[1] == {"balance": 7}


def test_credits_add_beyond_64_bits_is_400_and_changes_nothing(ws):
    st, out, r = ws.host.post("/v1/workspace/credits", {"add": 10 ** 30})
    check_error(st, out, r, 400)
    assert ws.host.get("/v1/workspace/credits")[1] == {"balance": 0}


def test_credits_do_not_cross_workspaces(server, ws):
    other = Workspace(server.url)
    assert ws.host.post("/v1/workspace/credits", {"add": 50})[1] == {"balance": 50}
    assert other.host.get("/v1/workspace/credits")[1] == {"balance": 0}


def test_credits_need_a_workspace_key(ws, admin):
    assert admin.get("/v1/workspace/credits")[0] == 403
    ws.member("m_a")
    assert ws.as_member("m_a").post("/v1/workspace/credits", {"add": 5})[0] == 403
    assert Client(ws.url).get("/v1/workspace/credits")[0] == 401
    assert ws.host.get("/v1/workspace/credits")[1] == {"balance": 0}
