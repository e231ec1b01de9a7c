"""Email over SMTP against a real SMTP server (aiosmtpd) started by the test:
what arrives (headers, both parts, no PHI unless the workspace opts in),
connection reuse, STARTTLS, implicit TLS, AUTH, and how refusals are
retried (4xx), dead-lettered (5xx, or too many attempts)."""
import concurrent.futures
import email.header
import email.utils
import os
import re

import pytest

from conftest import Client, Herald, Workspace, appointment_event, unique
from smtp_peer import SmtpPeer

FROM = "notify@clinic.example"

# aiosmtpd counts only STARTTLS as TLS, so AUTH over implicit TLS warns.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def start_herald(tmp, peer, *extra, env=None):
    args = ["--test-clock", "--email-provider", "smtp", "--smtp-url", peer.url,
            "--smtp-from", FROM, "--delivery-max-attempts", "3", "--delivery-backoff-s", "10",
            "--delivery-backoff-max-s", "40", "--smtp-timeout-s", "10"]
    if peer.tls:
        args += ["--smtp-tls", "starttls", "--smtp-ca-file", peer.cert]
    else:
        args += ["--smtp-tls", "off"]
    return Herald(os.path.join(tmp, "h.db"), *args, *extra, env=env).start()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    peer = SmtpPeer().start()
    h = start_herald(str(tmp_path_factory.mktemp("smtp")), peer)
    yield h, peer
    rc = h.stop()
    peer.stop()
    assert rc == 0


def settle(ws, seconds=0):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds})
    assert st == 200, body


def practitioner(ws, address=None, **fields):
    mid = unique("m")
    fields.setdefault("locale", "en-IE")
    ws.member(mid, "practitioner", email=address or mid + "@clinic.example",
              timezone="Europe/Dublin", **fields)
    st, body, _ = ws.as_member(mid).patch(
        "/v1/me/preferences", {"cancellation_alerts": {"channels": "email", "within_days": None}})
    assert st == 200, body
    return mid


def cancel(ws, mid):
    ev = appointment_event("appointment.cancelled", [mid], source="client_portal",
                           starts_at="2026-11-22T14:30:00Z", reason="Knee surgery follow-up")
    st, body, _ = ws.post_event(ev)
    assert st == 202, body
    return ev


def to(peer, address):
    return [m for m in peer.messages if address in m.rcpt]


def deliveries(ws, **params):
    st, body, _ = ws.host.get("/v1/deliveries", params=dict(limit="100", **params))
    assert st == 200, body
    return body["items"]


def test_a_message_has_headers_and_both_parts_and_no_phi(plain):
    h, peer = plain
    ws = Workspace(h.url)
    st, body, _ = ws.host.patch("/v1/workspace", {"email_sender_name": "Harbour Physio",
                                                  "app_url": "https://app.example/inbox"})
    assert st == 200, body
    mid = practitioner(ws)
    cancel(ws, mid)
    settle(ws)
    [m] = to(peer, mid + "@clinic.example")
    msg = m.msg
    assert m.mail_from == FROM
    assert msg["From"].addresses[0].display_name == "Harbour Physio"
    assert msg["From"].addresses[0].addr_spec == FROM
    assert msg["To"].addresses[0].addr_spec == mid + "@clinic.example"
    assert str(msg["Subject"]) == "Cancellation: Sun, 22 Nov, 14:30"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert email.utils.parsedate_to_datetime(msg["Date"]).tzinfo is not None
    assert re.fullmatch(r"<herald\.\d+\.\d+@clinic\.example>", msg["Message-ID"])
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    text, html = parts[0].get_content(), parts[1].get_content()
    assert "Open the app for details: https://app.example/inbox" in text
    assert '<a href="https://app.example/inbox">' in html
    assert "\r\n" in m.raw.decode() and "\n\n" not in m.raw.decode().replace("\r\n", "")
    for part in (str(msg["Subject"]), text, html):
        assert "Dana" not in part and "Reyes" not in part and "Knee" not in part
    [d] = deliveries(ws)
    assert d["status"] == "sent" and d["provider"] == "smtp"
    assert d["message_id"] == msg["Message-ID"]
    assert d["attempts"][0]["ok"] and d["attempts"][0]["answer"].startswith("250")
    assert peer.ehlo_names == {"clinic.example"}


def test_names_and_reasons_only_with_the_workspace_opt_in(plain):
    h, peer = plain
    ws = Workspace(h.url)
    ws.host.patch("/v1/workspace", {"phi_in_external_channels": True})
    mid = practitioner(ws)
    cancel(ws, mid)
    settle(ws)
    [m] = to(peer, mid + "@clinic.example")
    text = m.msg.get_body(("plain",)).get_content()
    html = m.msg.get_body(("html",)).get_content()
    assert "Dana Reyes" in text and "Knee surgery follow-up" in text
    assert "Dana Reyes" in html


def test_html_part_escapes_what_came_from_the_event(plain):
    h, peer = plain
    ws = Workspace(h.url)
    ws.host.patch("/v1/workspace", {"phi_in_external_channels": True,
                                    "email_sender_name": "Smith & <Jones>"})
    mid = practitioner(ws)
    ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z",
                           client={"id": "cl_x", "name": "<b>Bobby</b> & \"Tables\""})
    ws.post_event(ev)
    settle(ws)
    [m] = to(peer, mid + "@clinic.example")
    html = m.msg.get_body(("html",)).get_content()
    assert "<b>Bobby</b>" not in html
    assert "&lt;b&gt;Bobby&lt;/b&gt; &amp; &quot;Tables&quot;" in html
    assert "Smith &amp; &lt;Jones&gt;" in html
    assert m.msg["From"].addresses[0].display_name == "Smith & <Jones>"


def test_non_ascii_sender_and_subject_are_encoded_words(plain):
    h, peer = plain
    ws = Workspace(h.url)
    name = "Clínica Müller – Physiothérapie & Réadaptation de la Côte d’Émeraude"
    st, body, _ = ws.host.patch("/v1/workspace", {"email_sender_name": name})
    assert st == 200, body
    mid = practitioner(ws, locale="fr-FR")
    cancel(ws, mid)
    settle(ws)
    [m] = to(peer, mid + "@clinic.example")
    raw_headers = m.raw.split(b"\r\n\r\n")[0].decode("ascii")  # 7-bit on the wire
    assert "=?UTF-8?B?" in raw_headers
    assert "\r\n =?UTF-8?B?" in raw_headers  # a long name is folded
    assert max(len(line) for line in raw_headers.split("\r\n")) <= 998
    # Decoded per RFC 2047 (the space between encoded words is not text;
    # Python's address parser keeps it, so decode the raw header instead).
    raw_from = re.search(r"\r\nFrom: (.*?) <", "\r\n" + raw_headers, re.S).group(1)
    words = email.header.decode_header(raw_from.replace("\r\n", ""))
    assert str(email.header.make_header(words)) == name
    assert str(m.msg["Subject"]).startswith("Cancellation: dim. 22 nov")


def test_a_subject_cannot_inject_headers(plain):
    h, peer = plain
    ws = Workspace(h.url)
    ws.host.patch("/v1/workspace", {"email_sender_name": "Evil\r\nBcc: x@evil.example"})
    mid = practitioner(ws)
    cancel(ws, mid)
    settle(ws)
    [m] = to(peer, mid + "@clinic.example")
    assert m.msg["Bcc"] is None and m.rcpt == [mid + "@clinic.example"]


def test_connections_are_reused_across_messages(plain):
    h, peer = plain
    ws = Workspace(h.url)
    mids = [practitioner(ws) for _ in range(5)]
    before = {m.peer for m in peer.messages}
    for mid in mids:  # one at a time: each could have had a connection of its own
        cancel(ws, mid)
        settle(ws)
    mine = [m for m in peer.messages if m.rcpt[0] in {x + "@clinic.example" for x in mids}]
    assert len(mine) == 5
    assert len({m.peer for m in mine}) == 1
    assert len({m.peer for m in mine} - before) <= 1


def test_a_burst_uses_at_most_smtp_connections(plain):
    h, peer = plain
    ws = Workspace(h.url)
    mids = [practitioner(ws) for _ in range(30)]

    def post(mid):
        ev = appointment_event("appointment.cancelled", [mid], starts_at="2026-11-22T14:30:00Z")
        return Client(ws.url, ws.key).post("/v1/events", ev)[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(post, mids)) == {202}
    settle(ws)
    addrs = {x + "@clinic.example" for x in mids}
    mine = [m for m in peer.messages if m.rcpt[0] in addrs]
    assert len(mine) == 30 and len({m.rcpt[0] for m in mine}) == 30
    assert len({m.peer for m in mine}) <= 4  # smtp_connections' default


def test_a_5xx_refusal_is_permanent(plain):
    h, peer = plain
    ws = Workspace(h.url)
    address = unique("gone") + "@clinic.example"
    peer.script[address] = [550]
    mid = practitioner(ws, address)
    cancel(ws, mid)
    settle(ws)
    [d] = deliveries(ws)
    assert d["status"] == "dead" and "550" in d["reason"]
    assert len(d["attempts"]) == 1 and d["attempts"][0]["ok"] is False
    settle(ws, 3600)
    assert len(deliveries(ws)[0]["attempts"]) == 1 and to(peer, address) == []


def test_a_4xx_refusal_is_retried_after_a_backoff(plain):
    h, peer = plain
    ws = Workspace(h.url)
    address = unique("busy") + "@clinic.example"
    peer.script[address] = [451]
    mid = practitioner(ws, address)
    cancel(ws, mid)
    settle(ws)
    [d] = deliveries(ws)
    assert d["status"] == "failed" and "451" in d["reason"] and d["next_attempt_at"]
    settle(ws, 4)  # the first retry waits 5 to 10 s (10 s, half of it jittered)
    assert deliveries(ws)[0]["status"] == "failed" and to(peer, address) == []
    settle(ws, 6)
    [d] = deliveries(ws)
    assert d["status"] == "sent" and [a["ok"] for a in d["attempts"]] == [False, True]
    assert len(to(peer, address)) == 1


def test_past_the_maximum_attempts_a_delivery_is_dead(plain):
    h, peer = plain
    ws = Workspace(h.url)
    address = unique("full") + "@clinic.example"
    peer.script[address] = [451] * 10
    mid = practitioner(ws, address)
    cancel(ws, mid)
    settle(ws)
    for _ in range(4):
        settle(ws, 40)  # the cap
    [d] = deliveries(ws)
    assert d["status"] == "dead" and len(d["attempts"]) == 3
    assert to(peer, address) == []
    st, body, _ = ws.host.get("/v1/deliveries", params={"status": "dead"})
    assert [x["id"] for x in body["items"]] == [d["id"]]


def test_an_unreachable_server_is_a_transient_failure(tmp_path):
    peer = SmtpPeer()  # never started: the port refuses connections
    h = start_herald(str(tmp_path), peer)
    try:
        ws = Workspace(h.url)
        mid = practitioner(ws)
        cancel(ws, mid)
        settle(ws)
        [d] = deliveries(ws)
        assert d["status"] == "failed" and len(d["attempts"]) == 1
        peer.start()  # it comes back: the retry gets through
        settle(ws, 10)
        [d] = deliveries(ws)
        assert d["status"] == "sent" and len(to(peer, mid + "@clinic.example")) == 1
    finally:
        assert h.stop() == 0
        peer.stop()


@pytest.mark.parametrize("tls", ["starttls", "smtps"])
def test_tls_with_authentication(tmp_path, tls):
    peer = SmtpPeer(tls=tls, auth=("herald", "s3cret")).start()
    h = start_herald(str(tmp_path), peer, "--smtp-username", "herald",
                     env={"HERALD_SMTP_PASSWORD": "s3cret"})
    try:
        ws = Workspace(h.url)
        mid = practitioner(ws)
        cancel(ws, mid)
        settle(ws)
        assert len(to(peer, mid + "@clinic.example")) == 1
        assert peer.logins and all(ok and login == "herald" for _, login, ok in peer.logins)
    finally:
        assert h.stop() == 0
        peer.stop()


def test_starttls_required_but_not_verifiable_sends_nothing(tmp_path):
    peer = SmtpPeer(tls="starttls").start()
    # No CA file: the self-signed certificate cannot be verified.
    h = Herald(os.path.join(str(tmp_path), "h.db"), "--test-clock", "--smtp-url", peer.url,
               "--smtp-from", FROM, "--smtp-tls", "starttls").start()
    try:
        ws = Workspace(h.url)
        mid = practitioner(ws)
        cancel(ws, mid)
        settle(ws)
        [d] = deliveries(ws)
        assert d["status"] == "failed" and peer.messages == []
    finally:
        assert h.stop() == 0
        peer.stop()


@pytest.mark.parametrize("args,says", [
    (["--smtp-url", "http://x", "--smtp-from", FROM], "smtp_url"),
    (["--smtp-url", "smtp://127.0.0.1:1", "--smtp-from", "nobody"], "smtp_from"),
    (["--smtp-url", "smtp://127.0.0.1:1", "--smtp-from", FROM, "--smtp-tls", "maybe"],
     "smtp_tls"),
    (["--email-provider", "carrier-pigeon"], "carrier-pigeon"),
    (["--smtp-timeout-s", "200"], "delivery_lease_s"),
])
def test_bad_email_settings_stop_the_start(tmp_path, args, says):
    h = Herald(os.path.join(str(tmp_path), "h.db"), *args)
    with pytest.raises(RuntimeError) as e:
        h.start()
    assert says in str(e.value)


def test_a_refused_login_pauses_email_and_spends_no_attempt(tmp_path):
    peer = SmtpPeer(tls="starttls", auth=("herald", "s3cret")).start()
    h = start_herald(str(tmp_path), peer, "--smtp-username", "herald",
                     env={"HERALD_SMTP_PASSWORD": "wrong"})
    try:
        ws = Workspace(h.url)
        mid = practitioner(ws)
        cancel(ws, mid)
        settle(ws)
        for _ in range(4):  # past delivery_max_attempts (3): still waiting, not dead
            settle(ws, 10)
        [d] = deliveries(ws)
        assert d["status"] == "failed" and d["attempts"] == []
        assert "535" in d["reason"] or "Login denied" in d["reason"]
        assert peer.messages == [] and len(peer.logins) >= 4
    finally:
        assert h.stop() == 0
        peer.stop()
