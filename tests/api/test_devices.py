"""Devices and push through the API: registering and refreshing on login,
the switches, what answers show (never a whole credential), validation,
scoping, pruning; and booking alerts by push to all staff. FCM and APNs
have no settings on the shared test server, so their pushes go to the sink,
where the tests read them."""
import base64
import os

import pytest

from conftest import Client, Workspace, appointment_event, unique

# A real subscription's keys (RFC 8291 Appendix A's receiver).
P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"


def settle(ws, seconds=0):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def staff(ws, role="practitioner", **fields):
    mid = unique("m")
    ws.member(mid, role, locale="en-IE", timezone="Europe/Dublin", **fields)
    return mid, ws.as_member(mid)


def fcm(me, device, token=None, **extra):
    body = {"kind": "fcm", "token": token or "fcm-" + unique("t") + "x" * 40}
    body.update(extra)
    return me.put("/v1/me/devices/" + device, body)


def sink_pushes(ws, **params):
    st, body, _ = ws.host.get("/v1/dev/sink", params=dict(channel="push", limit="1000", **params))
    assert st == 200, body
    return body["items"]


def devices(me):
    st, body, _ = me.get("/v1/me/devices")
    assert st == 200, body
    return body["items"]


# ---- registering ----

def test_register_then_refresh_on_login_keeps_one_device(ws):
    _, me = staff(ws)
    st, d, _ = fcm(me, "pixel", token="tok-first-" + "a" * 30, name="Pixel 8")
    assert st == 201, d
    assert d["kind"] == "fcm" and d["name"] == "Pixel 8" and d["enabled"] is True
    assert d["token_suffix"] == "aaaaaa" and "token" not in d
    st, d2, _ = fcm(me, "pixel", token="tok-second-" + "b" * 30)
    assert st == 200 and d2["token_suffix"] == "bbbbbb"
    assert d2["name"] == "Pixel 8"  # kept when not sent again
    assert d2["created_at"] == d["created_at"]
    assert [x["id"] for x in devices(me)] == ["pixel"]


def test_kinds_and_what_they_show(ws):
    _, me = staff(ws)
    st, a, _ = me.put("/v1/me/devices/iphone", {"kind": "apns", "token": "ab" * 32,
                                                  "environment": "sandbox"})
    assert st == 201, a
    assert a["environment"] == "sandbox" and a["token_suffix"] == "ababab"
    st, w, _ = me.put("/v1/me/devices/laptop", {"kind": "webpush", "subscription": {
        "endpoint": "https://push.example.net/wpush/v2/abcdef123456",
        "keys": {"p256dh": P256DH, "auth": AUTH}, "expirationTime": None}})
    assert st == 201, w
    assert w["endpoint_origin"] == "https://push.example.net"
    assert w["token_suffix"] == "123456"
    assert {d["id"] for d in devices(me)} == {"iphone", "laptop"}


@pytest.mark.parametrize("body,field", [
    ({}, "kind"),
    ({"kind": "carrier-pigeon", "token": "x"}, "kind"),
    ({"kind": "fcm"}, "token"),
    ({"kind": "fcm", "token": "has space"}, "token"),
    ({"kind": "fcm", "token": "x" * 4097}, "token"),
    ({"kind": "apns", "token": "not-hex" * 10}, "token"),
    ({"kind": "apns", "token": "ab" * 10}, "token"),
    ({"kind": "apns", "token": "ab" * 32, "environment": "staging"}, "environment"),
    ({"kind": "fcm", "token": "tok" * 20, "environment": "sandbox"}, "environment"),
    ({"kind": "fcm", "token": "tok" * 20, "subscription": {}}, "subscription"),
    ({"kind": "webpush"}, "subscription"),
    ({"kind": "webpush", "token": "x", "subscription": {}}, "token"),
    ({"kind": "webpush", "subscription": {"endpoint": "http://push.example.net/x",
                                          "keys": {"p256dh": P256DH, "auth": AUTH}}},
     "subscription.endpoint"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x",
                                          "keys": {"p256dh": P256DH[:-4], "auth": AUTH}}},
     "subscription.keys.p256dh"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x",
                                          "keys": {"p256dh": P256DH[:-2] + "AA",
                                                   "auth": AUTH}}},
     "subscription.keys.p256dh"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x",
                                          "keys": {"p256dh": P256DH, "auth": "AAAA"}}},
     "subscription.keys.auth"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x"}},
     "subscription.keys"),
    ({"kind": "fcm", "token": "tok" * 20, "enabled": "yes"}, "enabled"),
    ({"kind": "fcm", "token": "tok" * 20, "name": ""}, "name"),
    ({"kind": "fcm", "token": "tok" * 20, "colour": "red"}, "colour"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x",
                                          "keys": {"p256dh": P256DH, "auth": AUTH},
                                          "options": {}}}, "subscription.options"),
    ({"kind": "webpush", "subscription": {"endpoint": "https://push.example.net/x",
                                          "keys": {"p256dh": P256DH, "auth": AUTH,
                                                   "extra": "x"}}}, "subscription.keys.extra"),
])
def test_bad_registrations_say_which_field(ws, body, field):
    _, me = staff(ws)
    st, out, _ = me.put("/v1/me/devices/d1", body)
    assert st == 400, out
    assert out["error"]["field"] == field, out
    assert devices(me) == []


def test_device_ids_follow_the_id_rule(ws):
    _, me = staff(ws)
    st, out, _ = me.put("/v1/me/devices/" + "x" * 129, {"kind": "fcm", "token": "t" * 30})
    assert st == 400 and out["error"]["field"] == "device_id"


def test_a_credential_moves_to_whoever_registers_it_last(ws):
    _, a = staff(ws)
    _, b = staff(ws)
    token = "shared-tablet-" + "c" * 30
    assert fcm(a, "tablet", token=token)[0] == 201
    assert fcm(b, "front-desk", token=token)[0] == 201
    assert devices(a) == []  # the tablet changed hands: a no longer gets its pushes
    assert [d["id"] for d in devices(b)] == ["front-desk"]


def test_at_most_50_devices(ws):
    _, me = staff(ws)
    for i in range(50):
        assert fcm(me, "d%d" % i)[0] == 201
    st, out, _ = fcm(me, "one-more")
    assert st == 409 and out["error"]["code"] == "too_many_devices"
    assert fcm(me, "d7")[0] == 200  # refreshing one is fine


def test_switch_rename_delete_and_scoping(ws, server):
    _, me = staff(ws)
    _, other = staff(ws)
    fcm(me, "pixel")
    st, d, _ = me.patch("/v1/me/devices/pixel", {"enabled": False, "name": "Old phone"})
    assert st == 200 and d["enabled"] is False and d["name"] == "Old phone"
    st, out, _ = me.patch("/v1/me/devices/pixel", {"token": "x"})
    assert st == 400 and out["error"]["field"] == "token"
    assert other.patch("/v1/me/devices/pixel", {"enabled": True})[0] == 404
    assert other.delete("/v1/me/devices/pixel")[0] == 404
    assert me.patch("/v1/me/devices/nope", {"enabled": True})[0] == 404
    assert ws.host.get("/v1/me/devices")[0] == 403  # a workspace key is not a member
    assert me.delete("/v1/me/devices/pixel")[0] == 204
    assert me.delete("/v1/me/devices/pixel")[0] == 404
    assert devices(me) == []


def test_vapid_public_key_needs_no_credential_and_is_stable(server):
    st, body, _ = Client(server.url).get("/v1/push/vapid-public-key")
    assert st == 200
    raw = base64.urlsafe_b64decode(body["public_key"] + "=")
    assert len(raw) == 65 and raw[0] == 4
    assert Client(server.url).get("/v1/push/vapid-public-key")[1] == body


# ---- pushes ----

def booking(ws, staff_ids, **kw):
    ev = appointment_event("appointment.booked", staff_ids, source="booking_page", **kw)
    st, out, _ = ws.post_event(ev)
    assert st == 202, out
    return ev, out


def test_a_push_per_enabled_device_with_no_patient_data(ws):
    mid, me = staff(ws)
    fcm(me, "phone")
    me.put("/v1/me/devices/iphone", {"kind": "apns", "token": "cd" * 32})
    fcm(me, "old", enabled=False)
    ev, out = booking(ws, [mid])
    settle(ws)
    got = sink_pushes(ws, member_id=mid)
    assert sorted(m["to"] for m in got) == ["iphone", "phone"]
    for m in got:
        assert m["title"] == "Test practice"
        assert m["text"].startswith("New booking: ")
        assert "Dana" not in m["text"] and "Initial consult" not in m["text"]
        assert m["data"] == {"notification_id": out["notifications"][0]["id"],
                             "type": "appointment.booked", "event_id": ev["id"], "url": None}
    st, body, _ = ws.host.get("/v1/events/" + ev["id"])
    assert sorted(d["to"] for d in body["deliveries"]) == ["iphone", "phone"]
    assert {d["provider"] for d in body["deliveries"]} == {"sink"}


def test_booking_alerts_reach_all_staff_with_push_on(ws):
    st, body, _ = ws.host.patch("/v1/workspace", {"booking_alert_audience": "all_staff"})
    assert st == 200, body
    booked, bme = staff(ws)
    others = [staff(ws, role) for role in ("practitioner", "receptionist", "admin")]
    muted, mme = staff(ws)
    gone, gme = staff(ws)
    for mid, me in [(booked, bme), *others, (muted, mme), (gone, gme)]:
        fcm(me, "phone")
    assert mme.patch("/v1/me/preferences", {"push_enabled": False})[0] == 200
    ws.member(gone, "staff", active=False)
    for source in ("booking_page", "widget", "reception", "client_portal"):
        ev = appointment_event("appointment.booked", [booked], source=source)
        st, out, _ = ws.post_event(ev)
        assert st == 202, out
    settle(ws)
    got = sink_pushes(ws)
    per_member = {}
    for m in got:
        per_member[m["member_id"]] = per_member.get(m["member_id"], 0) + 1
    want = {booked: 4, **{mid: 4 for mid, _ in others}}
    assert per_member == want


def test_deleting_a_device_skips_its_pending_push(ws):
    mid, me = staff(ws)
    fcm(me, "phone")
    booking(ws, [mid])  # the push row is written; the deliverer runs at settle
    assert me.delete("/v1/me/devices/phone")[0] == 204
    settle(ws)
    st, body, _ = ws.host.get("/v1/deliveries", params={"channel": "push"})
    [d] = body["items"]
    assert d["status"] in ("skipped", "sent")
    if d["status"] == "skipped":
        assert d["reason"] == "device_removed"


def test_devices_unused_for_270_days_are_pruned(tmpdir_path):
    from conftest import Herald
    h = Herald(os.path.join(tmpdir_path, "p.db"), "--test-clock").start()
    try:
        w = Workspace(h.url)
        mid, me = staff(w)
        fcm(me, "old")
        st, _, _ = w.admin.post("/v1/test/clock", {"advance_s": 200 * 86400})
        assert st == 200
        me = w.as_member(mid)  # tokens are short-lived: one at the moved clock
        fcm(me, "recent")
        st, _, _ = w.admin.post("/v1/test/clock", {"advance_s": 71 * 86400})
        assert st == 200
        me = w.as_member(mid)
        assert [d["id"] for d in devices(me)] == ["recent"]
    finally:
        assert h.stop() == 0


@pytest.mark.parametrize("endpoint,says", [
    ("https://user:pw@push.example.net/x", "user name"),
    ("https://127.0.0.1/x", "public internet"),
    ("https://10.1.2.3/x", "public internet"),
    ("https://169.254.169.254/latest/meta-data", "public internet"),
    ("https://[::1]/x", "public internet"),
    ("https://[fd00::1]/x", "public internet"),
    ("https://localhost/x", "public internet"),
    ("https://push.localhost/x", "public internet"),
    ("https://push.example.net:8443/x", "port 443"),
    ("https://push.example.net:4430/x", "port 443"),
])
def test_endpoints_must_be_public_push_services(ws, endpoint, says):
    _, me = staff(ws)
    st, out, _ = me.put("/v1/me/devices/d1", {"kind": "webpush", "subscription": {
        "endpoint": endpoint, "keys": {"p256dh": P256DH, "auth": AUTH}}})
    assert st == 400 and out["error"]["field"] == "subscription.endpoint", out
    assert says in out["error"]["message"]


def test_a_public_endpoint_on_port_443_is_fine(ws):
    _, me = staff(ws)
    for i, endpoint in enumerate(["https://push.example.net:443/x",
                                  "https://[2001:4860:4860::8888]/x", "https://8.8.8.8/x"]):
        st, out, _ = me.put("/v1/me/devices/d%d" % i, {"kind": "webpush", "subscription": {
            "endpoint": endpoint, "keys": {"p256dh": P256DH, "auth": AUTH}}})
        assert st == 201, out
