"""SMS through a local HTTP server acting as the provider: the Twilio form
API (Basic auth) and the signed JSON webhook, and how 5xx, 429 with
Retry-After, 4xx and lost connections are retried or dead-lettered."""
import base64
import hashlib
import hmac
import json
import os
import random

import pytest

from conftest import Herald, Workspace, appointment_event, unique
from sms_peer import SmsPeer

SECRET = "whsec_0123456789abcdef"
COMMON = ["--test-clock", "--delivery-max-attempts", "3", "--delivery-backoff-s", "10",
          "--delivery-backoff-max-s", "40", "--sms-timeout-s", "5"]


@pytest.fixture(scope="module")
def peer():
    p = SmsPeer().start()
    yield p
    p.stop()


def herald(tmp_path_factory, *args, env=None):
    return Herald(os.path.join(str(tmp_path_factory.mktemp("sms")), "h.db"),
                  *COMMON, *args, env=env).start()


@pytest.fixture(scope="module")
def twilio(tmp_path_factory, peer):
    h = herald(tmp_path_factory, "--twilio-base-url", peer.url + "/",
               "--twilio-account-sid", "AC123", "--twilio-from", "+15550001111",
               env={"HERALD_TWILIO_AUTH_TOKEN": "tok3n"})
    yield h
    assert h.stop() == 0


@pytest.fixture(scope="module")
def webhook(tmp_path_factory, peer):
    h = Herald(os.path.join(str(tmp_path_factory.mktemp("sms")), "h.db"), *COMMON,
               "--sms-provider", "webhook", "--sms-webhook-url", peer.url + "/send",
               env={"HERALD_SMS_WEBHOOK_SECRET": SECRET}).start()
    yield h
    assert h.stop() == 0


def settle(ws, seconds=0):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body
    return body["now"]


def workspace(h, credits=20, **settings):
    ws = Workspace(h.url)
    st, body, _ = ws.host.post("/v1/workspace/credits", {"add": credits})
    assert st == 200, body
    if settings:
        st, body, _ = ws.host.patch("/v1/workspace", settings)
        assert st == 200, body
    return ws


def practitioner(ws):
    mid = unique("m")
    phone = "+3538%08d" % random.randrange(10 ** 8)
    ws.member(mid, "practitioner", phone=phone, timezone="Europe/Dublin", locale="en-IE")
    st, body, _ = ws.as_member(mid).patch(
        "/v1/me/preferences", {"cancellation_alerts": {"channels": "sms", "within_days": None}})
    assert st == 200, body
    return mid, phone


def cancel(ws, mid):
    ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z",
                           reason="Knee surgery follow-up")
    st, body, _ = ws.post_event(ev)
    assert st == 202, body


def delivery(ws):
    st, body, _ = ws.host.get("/v1/deliveries", params={"channel": "sms"})
    assert st == 200, body
    [d] = body["items"]
    return d


def balance(ws):
    return ws.host.get("/v1/workspace/credits")[1]["balance"]


# ---- Twilio ----

def test_twilio_gets_a_form_post_with_basic_auth(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    cancel(ws, mid)
    settle(ws)
    [r] = peer.to(phone)
    assert r.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert r.headers["authorization"] == "Basic " + base64.b64encode(b"AC123:tok3n").decode()
    assert r.form == {"To": phone, "From": "+15550001111",
                      "Body": "Cancellation: Sun, 22 Nov, 14:30. Open the app for details."}
    d = delivery(ws)
    assert d["status"] == "sent" and d["provider"] == "twilio"
    assert d["message_id"].startswith("SM") and d["attempts"][0]["answer"].startswith("201")
    assert balance(ws) == 19


def test_the_workspace_sender_id_replaces_the_default_from(twilio, peer):
    ws = workspace(twilio, sms_sender_id="HarbourPT")
    mid, phone = practitioner(ws)
    cancel(ws, mid)
    settle(ws)
    [r] = peer.to(phone)
    assert r.form["From"] == "HarbourPT"


def test_a_5xx_is_retried_and_charged_once(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(503, {}, {"code": 20500, "message": "Internal error"})]
    cancel(ws, mid)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "failed" and d["reason"].startswith("503")
    assert balance(ws) == 19
    settle(ws, 10)
    d = delivery(ws)
    assert d["status"] == "sent" and [a["ok"] for a in d["attempts"]] == [False, True]
    assert len(peer.to(phone)) == 2
    assert balance(ws) == 19  # paid once, whatever the tries


def test_429_waits_at_least_its_retry_after(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(429, {"Retry-After": "120"}, {"code": 20429,
                                                         "message": "Too Many Requests"})]
    cancel(ws, mid)
    now = settle(ws)
    d = delivery(ws)
    assert d["status"] == "failed" and "20429" in d["reason"]
    assert d["next_attempt_at"] >= now[:17]  # a sanity check of the shape
    settle(ws, 60)  # past the backoff (10 s) but not the Retry-After
    assert len(peer.to(phone)) == 1
    settle(ws, 61)
    assert delivery(ws)["status"] == "sent" and len(peer.to(phone)) == 2


def test_a_4xx_is_permanent_and_says_why(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(400, {}, {"code": 21211, "message": "The 'To' number is not valid.",
                                     "status": 400})]
    cancel(ws, mid)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "dead" and "21211" in d["reason"] and "not valid" in d["reason"]
    settle(ws, 600)
    assert len(peer.to(phone)) == 1


def test_refused_credentials_are_kept_for_a_retry(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(401, {}, {"code": 20003, "message": "Authenticate"})]
    cancel(ws, mid)
    settle(ws)
    assert delivery(ws)["status"] == "failed"
    settle(ws, 10)
    assert delivery(ws)["status"] == "sent"


def test_a_dropped_connection_is_retried(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    # Two: libcurl itself tries once more when a reused connection dies
    # before answering.
    peer.script[phone] = ["close", "close"]
    cancel(ws, mid)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "failed" and d["attempts"][0]["ok"] is False
    settle(ws, 10)
    assert delivery(ws)["status"] == "sent"


def test_always_failing_ends_dead_after_the_maximum_attempts(twilio, peer):
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(500, {}, "")] * 10
    cancel(ws, mid)
    settle(ws)
    for _ in range(5):
        settle(ws, 40)
    d = delivery(ws)
    assert d["status"] == "dead" and len(d["attempts"]) == 3
    assert len(peer.to(phone)) == 3
    # Failed attempts are timed: the gaps grow (10 s, then 20 s, with jitter).
    assert all(a["latency_ms"] >= 0 for a in d["attempts"])


# ---- the signed webhook ----

def verify(req, secret=SECRET):
    sig = dict(part.split("=", 1) for part in req.headers["x-herald-signature"].split(","))
    mac = hmac.new(secret.encode(), sig["t"].encode() + b"." + req.body, hashlib.sha256)
    return hmac.compare_digest(mac.hexdigest(), sig["v1"]), int(sig["t"])


def test_webhook_posts_signed_json(webhook, peer):
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    cancel(ws, mid)
    now = settle(ws)
    [r] = peer.to(phone)
    assert r.path == "/send" and r.headers["content-type"] == "application/json"
    d = delivery(ws)
    assert r.json == {"id": d["id"], "workspace": ws.id, "to": phone, "from": None,
                      "text": "Cancellation: Sun, 22 Nov, 14:30. Open the app for details.",
                      "segments": 1, "encoding": "GSM-7"}
    ok, t = verify(r)
    assert ok
    assert r.headers["idempotency-key"] == d["id"]
    assert d["status"] == "sent" and d["message_id"].startswith("gw-")
    # A wrong secret does not verify; nor does a changed body.
    assert not verify(r, "another-secret-123")[0]
    r.body = r.body.replace(b"Cancellation", b"Cancelation")
    assert not verify(r)[0]


def test_webhook_retries_keep_the_idempotency_key_and_sign_again(webhook, peer):
    ws = workspace(webhook, sms_sender_id="HarbourPT")
    mid, phone = practitioner(ws)
    peer.script[phone] = [(502, {}, "bad gateway")]
    cancel(ws, mid)
    settle(ws)
    settle(ws, 10)
    first, second = peer.to(phone)
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert verify(first)[0] and verify(second)[0]
    assert verify(second)[1] >= verify(first)[1] + 5
    assert second.json["from"] == "HarbourPT"
    d = delivery(ws)
    assert d["status"] == "sent" and d["attempts"][0]["answer"].startswith("502")


def test_webhook_4xx_is_dead(webhook, peer):
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(422, {}, {"error": "unroutable"})]
    cancel(ws, mid)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "dead" and "unroutable" in d["reason"]


def raw_deliveries(ws):
    """The delivery log's bytes, which must be UTF-8 (requests would
    quietly replace what is not)."""
    st, _, r = ws.host.get("/v1/deliveries", params={"channel": "sms"})
    assert st == 200
    return json.loads(r.content.decode("utf-8"))["items"]


def test_a_gateway_answer_that_is_not_utf8_is_logged_as_utf8(webhook, peer):
    # A gateway's Latin-1 error page: the delivery log (JSON) shows it
    # readable, the bytes that are not UTF-8 replaced (found by fuzz_provider).
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(422, {}, b"Num\xe9ro inconnu \xff\xfe")]
    cancel(ws, mid)
    settle(ws)
    [d] = raw_deliveries(ws)
    assert d["status"] == "dead"
    assert d["reason"] == "422: Num?ro inconnu ??", d["reason"]
    assert d["attempts"][0]["answer"] == d["reason"]


def test_an_answer_cut_short_never_splits_a_character(twilio, peer):
    # Twilio's message is kept to 200 bytes: a cut inside a two-byte
    # character leaves a '?', not half of it (found by fuzz_provider).
    ws = workspace(twilio)
    mid, phone = practitioner(ws)
    message = "x" * 199 + "\u00e9t\u00e9"
    peer.script[phone] = [(400, {}, {"code": 21211, "message": message, "status": 400})]
    cancel(ws, mid)
    settle(ws)
    [d] = raw_deliveries(ws)
    assert d["status"] == "dead"
    assert d["reason"] == "400 21211: " + "x" * 199 + "?", d["reason"]


def test_unicode_sms_is_ucs2_and_counted_that_way(webhook, peer):
    ws = workspace(webhook, phi_in_external_channels=True)
    mid, phone = practitioner(ws)
    ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z",
                           client={"id": "cl_z", "name": "Zoë 😀"})
    ws.post_event(ev)
    settle(ws)
    [r] = peer.to(phone)
    assert r.json["encoding"] == "UCS-2" and "Zoë 😀" in r.json["text"]
    assert r.json["segments"] == delivery(ws)["segments"] == 1


@pytest.mark.parametrize("args,says", [
    (["--sms-provider", "webhook", "--sms-webhook-url", "ftp://x",
      "--sms-webhook-secret", SECRET], "sms_webhook_url"),
    (["--sms-provider", "webhook", "--sms-webhook-url", "http://127.0.0.1:1/x",
      "--sms-webhook-secret", "short"], "sms_webhook_secret"),
    (["--sms-provider", "twilio"], "twilio_account_sid"),
    (["--twilio-account-sid", "AC1", "--twilio-auth-token", "t"], "twilio_from"),
    (["--sms-provider", "pigeon"], "pigeon"),
])
def test_bad_sms_settings_stop_the_start(tmp_path, args, says):
    h = Herald(os.path.join(str(tmp_path), "h.db"), *args)
    with pytest.raises(RuntimeError) as e:
        h.start()
    assert says in str(e.value)


def test_refused_credentials_pause_the_channel_without_spending_attempts(webhook, peer):
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    peer.script[phone] = [(401, {}, {"error": "bad key"})] * 3
    cancel(ws, mid)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "failed" and d["attempts"] == [] and "401" in d["reason"]
    for _ in range(3):  # more than delivery_max_attempts pauses: never dead
        settle(ws, 10)
    d = delivery(ws)
    assert d["status"] == "sent" and len(d["attempts"]) == 1
    assert len(peer.to(phone)) == 4


def test_a_dead_sms_sends_its_email_fallback(webhook, peer):
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    ws.member(mid, "practitioner", phone=phone, email=mid + "@clinic.example",
              timezone="Europe/Dublin", locale="en-IE")
    peer.script[phone] = [(422, {}, {"error": "unroutable"})]
    cancel(ws, mid)
    settle(ws)
    st, body, _ = ws.host.get("/v1/deliveries")
    got = {d["channel"]: d for d in body["items"]}
    assert got["sms"]["status"] == "dead"
    assert got["email"]["status"] == "sent" and got["email"]["fallback_for"] == got["sms"]["id"]


def test_a_send_whose_lease_runs_out_in_flight_is_not_sent_twice(webhook, peer):
    ws = workspace(webhook)
    mid, phone = practitioner(ws)
    peer.script[phone] = [("slow", 0.5)]
    cancel(ws, mid)
    # While the gateway takes its time, the clock jumps past the lease
    # (120 s): the row comes back, but the send in flight still owns it.
    settle(ws, 200)
    settle(ws)
    d = delivery(ws)
    assert d["status"] == "sent" and len(d["attempts"]) == 1
    assert len(peer.to(phone)) == 1
