"""Credentials: who may call what. No or bad credential -> 401, valid but of
the wrong kind -> 403, another member's or workspace's object -> 404."""
import base64
import hashlib
import hmac
import json
from datetime import datetime

import pytest

from conftest import ADMIN_KEY, Client, Workspace, appointment_event, b64url, sign_token


# ---- helpers ----

def error_shape(body, r):
    assert r.headers.get("X-Request-Id")
    err = body["error"]
    assert {"code", "message", "field"} <= set(err), err
    assert err["code"] and err["message"]
    return err


def check_401(st, body, r):
    assert st == 401, (st, body)
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    error_shape(body, r)


def check_403(st, body, r):
    assert st == 403, (st, body)
    error_shape(body, r)


def check_404(st, body, r):
    assert st == 404, (st, body)
    assert error_shape(body, r)["code"] == "not_found"


def clock_now(ws):
    """The server's clock (the test clock is shared: always read it)."""
    st, body, _ = Client(ws.url).get("/v1/test/clock")
    assert st == 200, body
    return int(datetime.strptime(body["now"][:19], "%Y-%m-%dT%H:%M:%S").timestamp()
               - datetime(1970, 1, 1).timestamp())


def advance(ws, seconds):
    st, body, _ = Client(ws.url, ADMIN_KEY).post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def claims_for(wsp, member_id, ttl=600, **over):
    now = clock_now(wsp)
    c = {"sub": member_id, "ws": wsp.id, "iat": now, "exp": now + ttl}
    c.update(over)
    return c


def me(ws, token):
    return Client(ws.url).get("/v1/me/notifications", token=token)


def key_id_of(api_key):
    return api_key[3:15]


def jwt_parts(token):
    return token.split(".")


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def resign(header, payload, secret):
    h = b64url(json.dumps(header).encode())
    p = b64url(json.dumps(payload).encode())
    sig = hmac.new(secret.encode(), (h + "." + p).encode(), hashlib.sha256).digest()
    return h + "." + p + "." + b64url(sig)


@pytest.fixture
def duo(ws):
    ws.member("m_a")
    ws.member("m_b")
    return ws


# ---- no or bad credential: 401 ----

@pytest.mark.parametrize("path,method", [("/v1/members", "GET"), ("/v1/events", "POST"),
                                         ("/v1/me/notifications", "GET"),
                                         ("/v1/workspaces", "GET")])
def test_no_authorization_is_401_with_www_authenticate(ws, path, method):
    check_401(*Client(ws.url).call(method, path, json_body={}))


@pytest.mark.parametrize("header", [
    "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer-less", "Token hk_abc",
    "Bearer garbage", "Bearer hk_", "Bearer hk_short_key", "Bearer hak_", "Bearer a.b.c",
    "Bearer ....", "Bearer \u00e9t\u00e9",
])
def test_malformed_bearer_is_401(ws, header):
    st, body, r = Client(ws.url).get("/v1/members", headers={
        "Authorization": header.encode("utf-8").decode("latin-1")})
    check_401(st, body, r)


def test_unknown_api_key_of_the_right_shape_is_401(ws):
    fake = "hk_0123456789ab_" + "x" * 43
    check_401(*Client(ws.url, fake).get("/v1/members"))


def test_real_key_id_with_wrong_secret_is_401(ws):
    forged = ws.key[:16] + ("A" if ws.key[16] != "A" else "B") + ws.key[17:]
    check_401(*Client(ws.url, forged).get("/v1/members"))
    check_401(*Client(ws.url, ws.key + "x").get("/v1/members"))
    check_401(*Client(ws.url, ws.key[:-1]).get("/v1/members"))


def test_wrong_admin_key_is_401(ws):
    check_401(*Client(ws.url, "hak_" + "b" * 40).get("/v1/workspaces"))


# ---- keys: rotation and revocation ----

def test_workspace_key_rotation_new_key_works_revoked_key_is_401(ws):
    st, new, _ = ws.host.post("/v1/workspace/keys", {"name": "rotation 2026"})
    assert st == 201, new
    assert new["api_key"].startswith("hk_") and new["key_id"] == key_id_of(new["api_key"])
    fresh = Client(ws.url, new["api_key"])
    assert fresh.get("/v1/members")[0] == 200
    st, listing, _ = fresh.get("/v1/workspace/keys")
    assert st == 200
    ids = {k["key_id"] for k in listing["keys"]}
    assert {key_id_of(ws.key), new["key_id"]} <= ids
    assert new["api_key"] not in json.dumps(listing) and ws.key not in json.dumps(listing)

    st, body, _ = fresh.delete("/v1/workspace/keys/" + key_id_of(ws.key))
    assert st == 204, body
    check_401(*ws.host.get("/v1/members"))
    check_401(*ws.host.post("/v1/events", appointment_event("appointment.booked", [])))
    assert fresh.get("/v1/members")[0] == 200
    st, listing, _ = fresh.get("/v1/workspace/keys")
    revoked = {k["key_id"]: k["revoked_at"] for k in listing["keys"]}
    assert revoked[key_id_of(ws.key)] is not None
    assert revoked[new["key_id"]] is None
    # revoking twice, or an unknown key: 404
    check_404(*fresh.delete("/v1/workspace/keys/" + key_id_of(ws.key)))
    check_404(*fresh.delete("/v1/workspace/keys/0123456789ab"))


def test_admin_issues_and_revokes_workspace_keys(ws, admin):
    st, new, _ = admin.post("/v1/workspaces/%s/keys" % ws.id, {"name": "ops"})
    assert st == 201, new
    fresh = Client(ws.url, new["api_key"])
    assert fresh.get("/v1/workspace")[1]["id"] == ws.id
    st, listing, _ = admin.get("/v1/workspaces/%s/keys" % ws.id)
    assert st == 200
    assert new["key_id"] in {k["key_id"] for k in listing["keys"]}
    assert new["api_key"] not in json.dumps(listing)
    st, body, _ = admin.delete("/v1/workspaces/%s/keys/%s" % (ws.id, new["key_id"]))
    assert st == 204, body
    check_401(*fresh.get("/v1/workspace"))
    assert ws.host.get("/v1/workspace")[0] == 200, "the other key keeps working"


def test_admin_key_routes_for_unknown_workspace_are_404(admin):
    check_404(*admin.post("/v1/workspaces/no_such_ws/keys", {}))
    check_404(*admin.get("/v1/workspaces/no_such_ws/keys"))
    check_404(*admin.delete("/v1/workspaces/no_such_ws/keys/0123456789ab"))


def test_admin_cannot_revoke_a_key_through_another_workspace(server, ws, admin):
    other = Workspace(server.url)
    check_404(*admin.delete("/v1/workspaces/%s/keys/%s" % (other.id, key_id_of(ws.key))))
    assert ws.host.get("/v1/workspace")[0] == 200


def test_workspace_key_cannot_revoke_or_list_another_workspaces_keys(server, ws):
    other = Workspace(server.url)
    check_404(*other.host.delete("/v1/workspace/keys/" + key_id_of(ws.key)))
    assert ws.host.get("/v1/workspace")[0] == 200
    st, listing, _ = other.host.get("/v1/workspace/keys")
    assert key_id_of(ws.key) not in {k["key_id"] for k in listing["keys"]}


# ---- member tokens ----

def test_minted_token_reads_own_feed_and_expires_at_is_ttl_later(duo):
    before = clock_now(duo)
    st, out, _ = duo.host.post("/v1/members/m_a/tokens", {"ttl_s": 60})
    assert st == 201, out
    assert out["token"].count(".") == 2
    exp = datetime.strptime(out["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert int((exp - datetime(1970, 1, 1)).total_seconds()) == before + 60
    st, feed, _ = me(duo, out["token"])
    assert st == 200, feed
    st, who, _ = Client(duo.url, out["token"]).get("/v1/me")
    assert who["id"] == "m_a"


@pytest.mark.parametrize("ttl,ok", [(59, False), (60, True), (86400, True), (86401, False),
                                    (0, False), (-5, False), ("3600", False), (600.5, False)])
def test_minted_token_ttl_must_be_60_to_86400_seconds(duo, ttl, ok):
    st, out, _ = duo.host.post("/v1/members/m_a/tokens", {"ttl_s": ttl})
    if ok:
        assert st == 201, out
    else:
        assert st == 400, out
        assert out["error"]["field"] == "ttl_s"


def test_host_signed_token_with_signing_secret_is_accepted(duo):
    tok = sign_token(duo.secret, claims_for(duo, "m_a"))
    st, feed, _ = me(duo, tok)
    assert st == 200, feed
    assert feed["items"] == []


def test_expired_token_is_401_after_the_30s_leeway(duo):
    tok = sign_token(duo.secret, claims_for(duo, "m_a", ttl=60))
    minted = duo.host.post("/v1/members/m_a/tokens", {"ttl_s": 60})[1]["token"]
    assert me(duo, tok)[0] == 200 and me(duo, minted)[0] == 200
    advance(duo, 60 + 25)  # past exp, inside the leeway
    assert me(duo, tok)[0] == 200 and me(duo, minted)[0] == 200
    advance(duo, 10)  # exp + 35 s
    check_401(*me(duo, tok))
    check_401(*me(duo, minted))


def test_tampered_payload_is_401(duo):
    tok = sign_token(duo.secret, claims_for(duo, "m_a"))
    h, p, s = jwt_parts(tok)
    claims = json.loads(unb64(p))
    claims["sub"] = "m_b"
    forged = h + "." + b64url(json.dumps(claims).encode()) + "." + s
    check_401(*me(duo, forged))
    claims = json.loads(unb64(p))
    claims["exp"] += 3600
    check_401(*me(duo, h + "." + b64url(json.dumps(claims).encode()) + "." + s))


def test_tampered_signature_is_401(duo):
    tok = sign_token(duo.secret, claims_for(duo, "m_a"))
    h, p, s = jwt_parts(tok)
    for i in (0, 10, 20):
        bad = s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]
        check_401(*me(duo, h + "." + p + "." + bad))
    check_401(*me(duo, h + "." + p + "."))
    check_401(*me(duo, h + "." + p + "." + s[:-2]))
    check_401(*me(duo, h + "." + p + "." + s + "AA"))


def test_token_signed_with_wrong_secret_is_401(server, duo):
    other = Workspace(server.url)
    check_401(*me(duo, sign_token("hss_not_the_secret", claims_for(duo, "m_a"))))
    check_401(*me(duo, sign_token(other.secret, claims_for(duo, "m_a"))))
    check_401(*me(duo, sign_token(duo.key, claims_for(duo, "m_a"))))


def test_alg_none_and_other_algs_are_401(duo):
    claims = claims_for(duo, "m_a")
    h = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    p = b64url(json.dumps(claims).encode())
    check_401(*me(duo, h + "." + p + "."))
    check_401(*me(duo, sign_token(duo.secret, claims, alg="none")))
    check_401(*me(duo, sign_token(duo.secret, claims, alg="HS512")))
    check_401(*me(duo, sign_token(duo.secret, claims, alg="RS256")))
    check_401(*me(duo, resign({"typ": "JWT"}, claims, duo.secret)))


def test_token_living_longer_than_24h_is_401(duo):
    check_401(*me(duo, sign_token(duo.secret, claims_for(duo, "m_a", ttl=86400 + 1))))
    check_401(*me(duo, sign_token(duo.secret, claims_for(duo, "m_a", ttl=30 * 86400))))
    assert me(duo, sign_token(duo.secret, claims_for(duo, "m_a", ttl=86400)))[0] == 200


def test_token_issued_in_the_future_is_401(duo):
    now = clock_now(duo)
    check_401(*me(duo, sign_token(duo.secret, {"sub": "m_a", "ws": duo.id,
                                               "iat": now + 3600, "exp": now + 7200})))


@pytest.mark.parametrize("claim", ["sub", "ws", "iat", "exp"])
def test_token_missing_a_claim_is_401(duo, claim):
    claims = claims_for(duo, "m_a")
    del claims[claim]
    check_401(*me(duo, sign_token(duo.secret, claims)))


@pytest.mark.parametrize("claim,value", [("sub", 17), ("ws", None), ("exp", "tomorrow"),
                                         ("iat", [1])])
def test_token_with_mistyped_claim_is_401(duo, claim, value):
    claims = claims_for(duo, "m_a")
    claims[claim] = value
    check_401(*me(duo, sign_token(duo.secret, claims)))


def test_token_for_unknown_member_or_workspace_is_401(duo):
    check_401(*me(duo, sign_token(duo.secret, claims_for(duo, "m_nobody"))))
    check_401(*me(duo, sign_token(duo.secret, claims_for(duo, "m_a", ws="ws_nowhere"))))


def test_token_of_member_made_inactive_is_401(duo):
    tok = duo.token("m_a")
    signed = sign_token(duo.secret, claims_for(duo, "m_a"))
    assert me(duo, tok)[0] == 200
    st, out, _ = duo.host.put("/v1/members/m_a", {"name": "M A", "active": False})
    assert st == 200 and out["active"] is False
    check_401(*me(duo, tok))
    check_401(*me(duo, signed))


def test_token_of_deleted_member_is_401(duo):
    tok = duo.token("m_a")
    signed = sign_token(duo.secret, claims_for(duo, "m_a"))
    st, body, _ = duo.host.delete("/v1/members/m_a")
    assert st == 204, body
    check_401(*me(duo, tok))
    check_401(*me(duo, signed))
    assert me(duo, duo.token("m_b"))[0] == 200


def test_token_issued_before_member_was_deleted_and_recreated_is_401(duo):
    tok = duo.token("m_a")
    assert duo.host.delete("/v1/members/m_a")[0] == 204
    advance(duo, 120)
    duo.member("m_a")
    check_401(*me(duo, tok))
    assert me(duo, duo.token("m_a"))[0] == 200


def test_minting_a_token_for_unknown_member_is_404(duo):
    check_404(*duo.host.post("/v1/members/m_nobody/tokens", {}))


def test_minting_a_token_for_inactive_member_is_403(duo):
    duo.member("m_gone", active=False)
    check_403(*duo.host.post("/v1/members/m_gone/tokens", {}))


def test_minting_a_token_for_another_workspaces_member_is_404(server, duo):
    other = Workspace(server.url)
    check_404(*other.host.post("/v1/members/m_a/tokens", {}))


# ---- wrong kind: 403 ----

def test_member_token_on_host_endpoints_is_403(duo):
    c = duo.as_member("m_a")
    check_403(*c.post("/v1/events", appointment_event("appointment.booked", ["m_a"])))
    check_403(*c.get("/v1/members"))
    check_403(*c.put("/v1/members/m_a", {"name": "Me", "role": "owner"}))
    check_403(*c.post("/v1/members/m_b/tokens", {}))
    check_403(*c.get("/v1/workspace"))
    check_403(*c.get("/v1/workspaces"))
    assert duo.host.get("/v1/members/m_a")[1]["role"] == "practitioner"


def test_workspace_key_on_member_endpoints_is_403(duo):
    check_403(*duo.host.get("/v1/me/notifications"))
    check_403(*duo.host.get("/v1/me/notifications/count"))
    check_403(*duo.host.post("/v1/me/notifications/read-all"))
    check_403(*duo.host.get("/v1/me/preferences"))


def test_workspace_key_on_admin_endpoints_is_403(duo):
    check_403(*duo.host.get("/v1/workspaces"))
    check_403(*duo.host.post("/v1/workspaces", {"id": "ws_sneaky", "name": "X",
                                                "timezone": "Europe/Dublin"}))
    check_403(*duo.host.post("/v1/workspaces/%s/keys" % duo.id, {}))
    st, listing, _ = Client(duo.url, ADMIN_KEY).get("/v1/workspaces")
    assert "ws_sneaky" not in {w["id"] for w in listing["workspaces"]}


def test_admin_key_on_host_and_member_endpoints_is_403(duo, admin):
    check_403(*admin.post("/v1/events", appointment_event("appointment.booked", ["m_a"])))
    check_403(*admin.get("/v1/members"))
    check_403(*admin.get("/v1/me/notifications"))


def test_test_clock_advance_needs_the_admin_key(duo):
    check_401(*Client(duo.url).post("/v1/test/clock", {"advance_s": 1}))
    check_403(*duo.host.post("/v1/test/clock", {"advance_s": 1}))
    check_403(*duo.as_member("m_a").post("/v1/test/clock", {"advance_s": 1}))


def test_access_token_in_query_is_not_accepted_outside_the_stream(duo):
    tok = duo.token("m_a")
    check_401(*Client(duo.url).get("/v1/me/notifications", params={"access_token": tok}))


# ---- other members and other workspaces: 404 ----

def test_another_members_notification_is_404_on_patch_and_unchanged(duo):
    st, out, _ = duo.post_event(appointment_event("appointment.booked", ["m_a"]))
    assert st == 202
    nid = out["notifications"][0]["id"]
    b = duo.as_member("m_b")
    for state in ("read", "ignored", "unread"):
        check_404(*b.patch("/v1/me/notifications/" + nid, {"state": state}))
    assert b.get("/v1/me/notifications", params={"filter": "all"})[1]["items"] == []
    a = duo.as_member("m_a")
    st, feed, _ = a.get("/v1/me/notifications")
    assert [(i["id"], i["state"]) for i in feed["items"]] == [(nid, "unread")]
    assert a.get("/v1/me/notifications/count")[1] == {"unread": 1}


def test_another_workspaces_key_cannot_read_or_change_this_workspaces_data(server, duo):
    st, out, _ = duo.post_event(appointment_event("appointment.booked", ["m_a"]))
    assert st == 202
    event_id = out["event"]["id"]
    nid = out["notifications"][0]["id"]
    other = Workspace(server.url)
    check_404(*other.host.get("/v1/members/m_a"))
    check_404(*other.host.delete("/v1/members/m_a"))
    check_404(*other.host.get("/v1/events/" + event_id))
    st, listing, _ = other.host.get("/v1/members")
    assert st == 200 and listing["members"] == []
    # a PUT makes the other workspace's own member, never touches this one
    st, made, _ = other.host.put("/v1/members/m_a", {"name": "Intruder", "role": "owner"})
    assert st == 201, made
    st, mine, _ = duo.host.get("/v1/members/m_a")
    assert st == 200 and mine["name"] == "M_A" and mine["role"] == "practitioner"
    # its member of the same id sees nothing of ours
    intruder = other.as_member("m_a")
    assert intruder.get("/v1/me/notifications", params={"filter": "all"})[1]["items"] == []
    check_404(*intruder.patch("/v1/me/notifications/" + nid, {"state": "read"}))
    assert duo.as_member("m_a").get("/v1/me/notifications/count")[1] == {"unread": 1}
    # an event posted there with the same id is its own
    st, theirs, _ = other.post_event(appointment_event("appointment.booked", ["m_a"],
                                                       event_id=event_id))
    assert st == 202, theirs
    assert duo.host.get("/v1/events/" + event_id)[1]["notifications"][0]["id"] == nid


def test_token_naming_another_workspace_is_refused(server, duo):
    other = Workspace(server.url)
    other.member("m_x")
    # signed with our secret but naming the other workspace: its secret does not match
    check_401(*me(duo, sign_token(duo.secret, claims_for(duo, "m_a", ws=other.id))))
    # signed with the other secret for our member id there: no such member there
    check_401(*me(duo, sign_token(other.secret, claims_for(duo, "m_a", ws=other.id))))


def test_a_workspace_cannot_revoke_its_last_live_key_but_the_operator_can(ws, admin):
    st, keys, _ = ws.host.get("/v1/workspace/keys")
    live = [k["key_id"] for k in keys["keys"] if k["revoked_at"] is None]
    assert len(live) == 1
    st, err, _ = ws.host.delete("/v1/workspace/keys/" + live[0])
    assert st == 409 and err["error"]["code"] == "last_key", err
    assert ws.host.get("/v1/workspace")[0] == 200          # still usable
    st, _, _ = admin.delete("/v1/workspaces/%s/keys/%s" % (ws.id, live[0]))
    assert st == 204
    assert ws.host.get("/v1/workspace")[0] == 401


def test_a_token_for_an_unknown_workspace_reads_like_a_bad_signature(ws):
    ws.member("m_a")
    now = int(datetime.now().timestamp())
    unknown = sign_token(ws.secret, {"sub": "m_a", "ws": "no_such_ws", "iat": now, "exp": now + 600})
    forged = sign_token("hss_wrong", {"sub": "m_a", "ws": ws.id, "iat": now, "exp": now + 600})
    a = Client(ws.url, unknown).get("/v1/me/notifications")
    b = Client(ws.url, forged).get("/v1/me/notifications")
    assert a[0] == b[0] == 401
    assert a[1]["error"] == b[1]["error"]
