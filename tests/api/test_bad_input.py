"""Bad input gets a precise error (which field, why) and changes nothing.

Every rejection here is checked for the error shape
{"error": {"code", "message", "field"}}, an X-Request-Id, and that nothing
was stored: the event id is still unknown (GET /v1/events/{id} -> 404) and
the members' feeds are unchanged.
"""
import copy
import json
import re
import socket
from urllib.parse import urlparse

import pytest

from conftest import recv_all, unique

ANY = object()

# ---- helpers ----


def check_error(st, body, r, status, code=ANY, field=ANY):
    """A JSON error answer with the contract's shape."""
    assert st == status, (st, body)
    assert r.headers.get("X-Request-Id"), "every response carries X-Request-Id"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    assert {"code", "message", "field"} <= set(err), err
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"], err
    if code is not ANY:
        assert err["code"] == code, err
    if field is not ANY:
        assert err["field"] == field, err
    return err


def post_raw(ws, data, content_type="application/json"):
    headers = {"Content-Type": content_type} if content_type else {}
    if isinstance(data, str):
        data = data.encode()
    return ws.host.call("POST", "/v1/events", data=data, headers=headers)


def unread_of(ws, member_id):
    st, m, _ = ws.host.get("/v1/members/" + member_id)
    assert st == 200, m
    return m["unread"]


def assert_not_stored(ws, event_id, members=("m_a", "m_b")):
    if event_id is not None:
        st, body, r = ws.host.get("/v1/events/" + event_id)
        assert st == 404, ("a rejected event must not be stored", body)
        assert r.headers.get("X-Request-Id")
    for m in members:
        assert unread_of(ws, m) == 0, "a rejected event must not reach %s's feed" % m


@pytest.fixture
def wsm(ws):
    """A workspace with members m_a and m_b (a practitioner and an owner)."""
    ws.member("m_a", role="practitioner")
    ws.member("m_b", role="owner")
    return ws


# ---- a valid event of every type ----

def _client():
    return {"id": "cl_1", "name": "Dana Reyes", "assigned_staff_ids": ["m_a"]}


def _appointment():
    return {"id": "ap_1", "starts_at": "2026-11-24T14:30:00Z", "ends_at": "2026-11-24T15:20:00Z",
            "staff_ids": ["m_a"],
            "service": {"id": "sv_1", "name": "Initial consult", "assignee_ids": []}}


def _referral(amount=True):
    r = {"id": "rf_1", "referrer_id": "m_a", "referred_name": "Jo Bloggs"}
    if amount:
        r.update(amount=10, currency="EUR", reason="signup")
    return r


DATA = {
    "appointment.assigned": lambda: {"appointment": _appointment(), "client": _client()},
    "appointment.booked": lambda: {"appointment": _appointment(), "client": _client()},
    "appointment.cancelled": lambda: {"appointment": _appointment(), "client": _client(),
                                      "reason": "Feeling unwell"},
    "appointment.rescheduled": lambda: {"appointment": _appointment(), "client": _client(),
                                        "previous": {"starts_at": "2026-11-23T10:00:00Z",
                                                     "ends_at": "2026-11-23T10:50:00Z"}},
    "appointment.confirmed": lambda: {"appointment": _appointment(), "client": _client()},
    "form.submitted": lambda: {"client": _client(),
                               "form": {"id": "fm_1", "name": "Intake", "staff_ids": ["m_b"]}},
    "file.uploaded": lambda: {"client": _client(), "file": {"id": "f_1", "name": "scan.pdf"}},
    "note.created": lambda: {"client": _client(),
                             "note": {"id": "n_1", "title": "Sleep", "text": "Better"}},
    "note.updated": lambda: {"client": _client(),
                             "note": {"id": "n_1", "title": "Sleep", "text": "Worse"}},
    "client.assigned": lambda: {"client": _client()},
    "invoice.paid": lambda: {"invoice": {"id": "inv_1", "number": "INV-0001", "amount": 120.5,
                                         "currency": "EUR", "staff_ids": ["m_a"]},
                             "client": _client()},
    "subscription.payment_failed": lambda: {"subscription": {"id": "sub_1", "plan": "Pro",
                                                             "amount": 49, "currency": "EUR"}},
    "referral.credited": lambda: {"referral": _referral()},
    "referral.joined": lambda: {"referral": _referral(amount=False)},
    "inbox.member_added": lambda: {"inbox": {"id": "ib_1", "name": "Front desk",
                                             "member_ids": ["m_a"]}, "member_id": "m_b"},
    "inbox.member_removed": lambda: {"inbox": {"id": "ib_1", "name": "Front desk",
                                               "member_ids": ["m_a"]}, "member_id": "m_b"},
    "message.received": lambda: {"conversation": {"id": "cv_1", "name": "Dana",
                                                  "participant_ids": ["m_a", "m_b"]},
                                 "message": {"id": "msg_1", "text": "Running late"}},
}
assert len(DATA) == 17


def event_of(event_type, event_id=None):
    actor = {"kind": "client", "id": "cl_1", "name": "Dana Reyes"}
    return {"id": event_id or unique("evt"), "type": event_type,
            "occurred_at": "2026-11-21T09:30:00Z", "source": "client_portal",
            "actor": actor, "data": DATA[event_type]()}


def booking(event_id=None):
    return event_of("appointment.booked", event_id)


APPT_REQUIRED = ["data.appointment", "data.client", "data.appointment.id",
                 "data.appointment.starts_at", "data.appointment.staff_ids",
                 "data.client.id", "data.client.name"]
REQUIRED = {
    "appointment.assigned": APPT_REQUIRED,
    "appointment.booked": APPT_REQUIRED,
    "appointment.cancelled": APPT_REQUIRED,
    "appointment.confirmed": APPT_REQUIRED,
    "appointment.rescheduled": APPT_REQUIRED + ["data.previous", "data.previous.starts_at"],
    "form.submitted": ["data.client", "data.form", "data.form.id", "data.form.name",
                       "data.client.id"],
    "file.uploaded": ["data.client", "data.file", "data.file.id", "data.file.name"],
    "note.created": ["data.client", "data.note", "data.note.id"],
    "note.updated": ["data.client", "data.note", "data.note.id"],
    "client.assigned": ["data.client", "data.client.id", "data.client.name",
                        "data.client.assigned_staff_ids"],
    "invoice.paid": ["data.invoice", "data.client", "data.invoice.id", "data.invoice.amount",
                     "data.invoice.currency"],
    "subscription.payment_failed": ["data.subscription", "data.subscription.id",
                                    "data.subscription.plan", "data.subscription.amount",
                                    "data.subscription.currency"],
    "referral.credited": ["data.referral", "data.referral.id", "data.referral.referrer_id",
                          "data.referral.referred_name"],
    "referral.joined": ["data.referral", "data.referral.id", "data.referral.referrer_id",
                        "data.referral.referred_name"],
    "inbox.member_added": ["data.inbox", "data.member_id", "data.inbox.id", "data.inbox.name",
                           "data.inbox.member_ids"],
    "inbox.member_removed": ["data.inbox", "data.member_id", "data.inbox.id",
                             "data.inbox.name", "data.inbox.member_ids"],
    "message.received": ["data.conversation", "data.message", "data.conversation.id",
                         "data.conversation.participant_ids", "data.message.id"],
}
assert set(REQUIRED) == set(DATA)


def without(event, dotted):
    ev = copy.deepcopy(event)
    parts = dotted.split(".")
    obj = ev
    for p in parts[:-1]:
        obj = obj[p]
    del obj[parts[-1]]
    return ev


def set_path(event, dotted, value):
    ev = copy.deepcopy(event)
    parts = dotted.split(".")
    obj = ev
    for p in parts[:-1]:
        obj = obj[p]
    obj[parts[-1]] = value
    return ev


# ---- every type: the valid shape is accepted, each required field is named ----

@pytest.mark.parametrize("event_type", sorted(DATA))
def test_valid_event_of_every_type_is_accepted(wsm, event_type):
    ev = event_of(event_type)
    st, out, r = wsm.post_event(ev)
    assert st == 202, (event_type, out)
    assert out["event"]["id"] == ev["id"]
    assert r.headers.get("X-Request-Id")


@pytest.mark.parametrize("event_type,field", [(t, f) for t in sorted(REQUIRED)
                                              for f in REQUIRED[t]],
                         ids=lambda v: v)
def test_missing_required_data_field_is_named_and_nothing_stored(wsm, event_type, field):
    ev = without(event_of(event_type), field)
    check_error(*wsm.post_event(ev), 400, "missing_field", field)
    assert_not_stored(wsm, ev["id"])


@pytest.mark.parametrize("field", ["data.appointment.starts_at", "data.client"])
def test_required_field_set_to_null_counts_as_missing(wsm, field):
    ev = set_path(booking(), field, None)
    check_error(*wsm.post_event(ev), 400, "missing_field", field)
    assert_not_stored(wsm, ev["id"])


def test_message_received_without_sender_actor_is_refused(wsm):
    ev = event_of("message.received")
    del ev["actor"]
    check_error(*wsm.post_event(ev), 400, ANY, "actor")
    assert_not_stored(wsm, ev["id"])


# ---- the envelope ----

@pytest.mark.parametrize("field", ["id", "type", "occurred_at", "data"])
def test_missing_envelope_field_is_missing_field_with_its_name(wsm, field):
    ev = booking()
    del ev[field]
    check_error(*wsm.post_event(ev), 400, "missing_field", field)
    assert_not_stored(wsm, ev.get("id"))


def test_unknown_type_is_unknown_type_on_field_type(wsm):
    ev = booking()
    ev["type"] = "appointment.teleported"
    err = check_error(*wsm.post_event(ev), 400, "unknown_type", "type")
    assert "appointment.teleported" in err["message"]
    assert_not_stored(wsm, ev["id"])


WRONG = [
    ("id", 12345, "id"),
    ("id", "evt with spaces", "id"),
    ("id", "e" * 129, "id"),
    ("id", "", "id"),
    ("type", 7, "type"),
    ("occurred_at", "yesterday", "occurred_at"),
    ("occurred_at", "2026-11-21 09:30", "occurred_at"),
    ("source", "fax", "source"),
    ("actor", "Dana", "actor"),
    ("actor.kind", "robot", "actor.kind"),
    ("actor.id", 17, "actor.id"),
    ("data", ["not", "an", "object"], "data"),
    ("data.appointment", "ap_1", "data.appointment"),
    ("data.appointment.id", "has/slash", "data.appointment.id"),
    ("data.appointment.staff_ids", "m_a", "data.appointment.staff_ids"),
    ("data.appointment.staff_ids", ["m_a", 5], "data.appointment.staff_ids[1]"),
    ("data.appointment.staff_ids", ["m_a", "m_b", "bad id"], "data.appointment.staff_ids[2]"),
    ("data.appointment.starts_at", "next Tuesday", "data.appointment.starts_at"),
    ("data.appointment.starts_at", "2026-13-45T25:61:00Z", "data.appointment.starts_at"),
    ("data.appointment.starts_at", 1795000000, "data.appointment.starts_at"),
    ("data.appointment.ends_at", "soon", "data.appointment.ends_at"),
    ("data.appointment.service.assignee_ids", [None], "data.appointment.service.assignee_ids[0]"),
    ("data.client.name", "", "data.client.name"),
    ("data.client.assigned_staff_ids", {"m_a": True}, "data.client.assigned_staff_ids"),
]


@pytest.mark.parametrize("path,value,field", WRONG, ids=[w[2] + "=" + repr(w[1])[:20]
                                                          for w in WRONG])
def test_wrong_value_names_the_precise_field_path(wsm, path, value, field):
    ev = set_path(booking(), path, value)
    check_error(*wsm.post_event(ev), 400, "invalid_field", field)
    event_id = ev["id"] if isinstance(ev["id"], str) and ev["id"] and len(ev["id"]) <= 128 \
        and " " not in ev["id"] else None
    assert_not_stored(wsm, event_id)


@pytest.mark.parametrize("path,value", [
    ("data.invoice.amount", -1),
    ("data.invoice.amount", "120.50"),
    ("data.invoice.currency", "eur"),
    ("data.invoice.currency", "EURO"),
    ("data.invoice.currency", 978),
    ("data.invoice.staff_ids", ["m_a", ""]),
])
def test_invoice_amount_and_currency_are_checked(wsm, path, value):
    ev = set_path(event_of("invoice.paid"), path, value)
    field = path + "[1]" if path.endswith("staff_ids") else path
    check_error(*wsm.post_event(ev), 400, "invalid_field", field)
    assert_not_stored(wsm, ev["id"])


# ---- malformed bodies ----

def test_malformed_json_is_invalid_json(wsm):
    body = '{"id": "evt_bad_json", "type": "appointment.booked", '
    check_error(*post_raw(wsm, body), 400, "invalid_json")
    assert_not_stored(wsm, "evt_bad_json")


def test_trailing_garbage_after_json_is_invalid_json(wsm):
    ev = booking()
    check_error(*post_raw(wsm, json.dumps(ev) + " {}"), 400, "invalid_json")
    assert_not_stored(wsm, ev["id"])


@pytest.mark.parametrize("body", ["[]", '"an event"', "42", "null", "true",
                                  '[{"id": "evt_in_array"}]'])
def test_non_object_body_is_refused(wsm, body):
    check_error(*post_raw(wsm, body), 400, "invalid_json")
    assert_not_stored(wsm, None)


def test_empty_body_is_refused(wsm):
    check_error(*post_raw(wsm, b""), 400)
    assert_not_stored(wsm, None)


def test_invalid_utf8_is_refused(wsm):
    ev = booking()
    data = json.dumps(ev).encode().replace(b"Dana Reyes", b"Dana \xff\xfe", 1)
    check_error(*post_raw(wsm, data), 400)
    assert_not_stored(wsm, ev["id"])


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/jsonp", "multipart/form-data", None])
def test_wrong_content_type_is_415(wsm, ctype):
    ev = booking()
    check_error(*post_raw(wsm, json.dumps(ev), content_type=ctype), 415)
    assert_not_stored(wsm, ev["id"])


def test_json_content_type_with_charset_is_accepted(wsm):
    ev = booking()
    st, out, _ = post_raw(wsm, json.dumps(ev), content_type="application/json; charset=utf-8")
    assert st == 202, out


def test_duplicate_keys_in_envelope_are_refused(wsm):
    ev = booking()
    text = json.dumps(ev)
    text = text.replace('"id": "%s"' % ev["id"], '"id": "%s", "id": "%s_b"' % (ev["id"], ev["id"]))
    check_error(*post_raw(wsm, text), 400)
    assert_not_stored(wsm, ev["id"])
    st, _, _ = wsm.host.get("/v1/events/%s_b" % ev["id"])
    assert st == 404


def test_duplicate_keys_inside_data_are_refused(wsm):
    ev = booking()
    text = json.dumps(ev).replace('"staff_ids": ["m_a"]',
                                  '"staff_ids": ["m_a"], "staff_ids": ["m_b"]', 1)
    assert text.count('"staff_ids"') == 2
    check_error(*post_raw(wsm, text), 400)
    assert_not_stored(wsm, ev["id"])


def nested(depth):
    """A JSON value of exactly `depth` nested arrays."""
    return "[" * depth + "]" * depth


def test_nesting_deeper_than_32_is_too_deep(wsm):
    ev = booking()
    ev["data"]["extra"] = "__DEEP__"
    # the envelope object and data are 2 levels: 31 more makes 33
    text = json.dumps(ev).replace('"__DEEP__"', nested(31))
    check_error(*post_raw(wsm, text), 400, "too_deep")
    assert_not_stored(wsm, ev["id"])


def test_nesting_of_exactly_32_levels_is_accepted(wsm):
    ev = booking()
    ev["data"]["extra"] = "__DEEP__"
    text = json.dumps(ev).replace('"__DEEP__"', nested(30))
    st, out, _ = post_raw(wsm, text)
    assert st == 202, out


def test_pathologically_deep_body_is_too_deep_not_a_crash(wsm):
    check_error(*post_raw(wsm, "[" * 200000), 400, "too_deep")
    check_error(*post_raw(wsm, '{"a":' * 30000 + "1" + "}" * 30000), 400, "too_deep")
    st, body, _ = wsm.host.get("/v1/workspace")
    assert st == 200, body


# ---- size limits ----

def _parse_http(data):
    """(status, headers, body) of the last final answer in raw bytes."""
    while True:
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if 100 <= status < 200:
            data = rest
            continue
        n = int(headers.get("content-length", len(rest)))
        return status, headers, rest[:n]


def raw_http(url, head, body=b"", timeout=20):
    """Sends raw bytes and reads the answer even if the server stops reading."""
    u = urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=timeout)
    data = b""
    try:
        try:
            s.sendall(head)
            if body:
                s.sendall(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                try:
                    st, h, b = _parse_http(data)
                except (ValueError, IndexError):
                    continue
                if st >= 200 and len(b) >= int(h.get("content-length", 0)):
                    break
    finally:
        s.close()
    assert data, "no answer at all"
    return _parse_http(data)


def check_raw_error(answer, status, code=ANY):
    st, headers, body = answer
    assert st == status, (st, body)
    assert headers.get("x-request-id"), headers
    assert headers.get("content-type", "").startswith("application/json"), headers
    err = json.loads(body)["error"]
    assert {"code", "message", "field"} <= set(err), err
    if code is not ANY:
        assert err["code"] == code, err
    return err


def event_head(ws, length, extra=""):
    u = urlparse(ws.url)
    return ("POST /v1/events HTTP/1.1\r\nHost: %s:%d\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/json\r\n%s" % (u.hostname, u.port, ws.key, extra)
            + ("Content-Length: %d\r\n" % length if length is not None else "")
            + "\r\n").encode()


def big_event(size):
    ev = booking()
    ev["data"]["padding"] = "x"
    text = json.dumps(ev)
    pad = size - len(text) + 1
    return ev, text.replace('"padding": "x"', '"padding": "%s"' % ("x" * pad)).encode()


@pytest.mark.parametrize("size", [300 * 1024, 5 * 1024 * 1024], ids=["300KB", "5MB"])
def test_body_over_the_limit_is_413_body_too_large_as_json(wsm, size):
    ev, body = big_event(size)
    assert len(body) == size
    answer = raw_http(wsm.url, event_head(wsm, len(body)), body)
    check_raw_error(answer, 413, "body_too_large")
    assert_not_stored(wsm, ev["id"])


def test_chunked_body_over_the_limit_is_413(wsm):
    ev, body = big_event(300 * 1024)
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 16384]), body[i:i + 16384])
                      for i in range(0, len(body), 16384)) + b"0\r\n\r\n"
    answer = raw_http(wsm.url, event_head(wsm, None, "Transfer-Encoding: chunked\r\n"), chunks)
    check_raw_error(answer, 413, "body_too_large")
    assert_not_stored(wsm, ev["id"])


def test_body_of_100KB_is_under_the_limit_and_accepted(wsm):
    ev, body = big_event(100 * 1024)
    st, out, _ = post_raw(wsm, body)
    assert st == 202, out


# ---- raw HTTP garbage ----

def test_malformed_request_line_is_400_json(server):
    answer = raw_http(server.url, b"THIS IS NOT HTTP\r\n\r\n")
    check_raw_error(answer, 400)


def test_binary_garbage_is_400_json(server):
    answer = raw_http(server.url, b"\x00\x01\x02\xff\xfe GET / HTTP/1.1\r\n\r\n")
    check_raw_error(answer, 400)


def test_bad_header_line_is_400_json(server):
    answer = raw_http(server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n")
    check_raw_error(answer, 400)


def test_headers_over_16KiB_are_431_json(server):
    head = ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n" % ("a" * 17000)).encode()
    check_raw_error(raw_http(server.url, head), 431)


def test_many_headers_over_16KiB_in_total_are_431_json(server):
    lines = "".join("X-H%d: %s\r\n" % (i, "b" * 100) for i in range(200))
    head = ("GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n" % lines).encode()
    check_raw_error(raw_http(server.url, head), 431)


def test_server_still_serves_after_garbage(server):
    for junk in (b"GET\r\n\r\n", b"POST /v1/events HTTP/9.9\r\n\r\n", b"\x16\x03\x01\x02\x00"
                 b"\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n"):
        st, _, _ = raw_http(server.url, junk, timeout=5)
        assert 400 <= st < 500
    st, headers, body = raw_http(server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert st == 200, body


def test_unknown_endpoint_is_404_json_and_wrong_method_405(ws):
    check_error(*ws.host.get("/v1/nope"), 404)
    st, body, r = ws.host.call("DELETE", "/v1/events")
    check_error(st, body, r, 405)
    assert "POST" in r.headers.get("Allow", "")


# ---- members PUT validation ----

MEMBER_BAD = [
    ({"email": "not-an-email"}, "email"),
    ({"email": "two@@example.com"}, "email"),
    ({"email": "a b@example.com"}, "email"),
    ({"email": 17}, "email"),
    ({"phone": "0861234567"}, "phone"),
    ({"phone": "+353 86 123 4567"}, "phone"),
    ({"phone": "+35386123456789012"}, "phone"),
    ({"phone": "+0861234567"}, "phone"),
    ({"role": "boss"}, "role"),
    ({"role": 3}, "role"),
    ({"timezone": "Mars/Base"}, "timezone"),
    ({"timezone": ""}, "timezone"),
    ({"locale": 12}, "locale"),
    ({"active": "yes"}, "active"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"nickname": "Sammy"}, "nickname"),
    ({"id": "someone_else"}, "id"),
]


@pytest.mark.parametrize("fields,field", MEMBER_BAD, ids=[f for _, f in MEMBER_BAD])
def test_member_put_refuses_bad_field_and_creates_nothing(ws, fields, field):
    body = {"name": "Sam", "role": "practitioner"}
    body.update(fields)
    check_error(*ws.host.put("/v1/members/m_new", body), 400, "invalid_field", field)
    st, out, _ = ws.host.get("/v1/members/m_new")
    assert st == 404, out


@pytest.mark.parametrize("fields,field", MEMBER_BAD[:12], ids=[f for _, f in MEMBER_BAD[:12]])
def test_member_put_refusal_leaves_existing_member_unchanged(ws, fields, field):
    before = ws.member("m_old", email="sam@example.com", phone="+353861234567",
                       timezone="Europe/Dublin")
    check_error(*ws.host.put("/v1/members/m_old", dict(fields)), 400, "invalid_field", field)
    st, after, _ = ws.host.get("/v1/members/m_old")
    assert st == 200
    assert after == before


def test_member_put_with_bad_member_id_in_path_is_400(ws):
    check_error(*ws.host.put("/v1/members/bad%20id", {"name": "X"}), 400, ANY, "member_id")


def test_member_put_valid_fields_round_trip(ws):
    body = {"name": "Sam Ryan", "email": "sam@example.com", "phone": "+353861234567",
            "role": "receptionist", "timezone": "Australia/Sydney", "locale": "en-AU",
            "active": True}
    st, out, _ = ws.host.put("/v1/members/m_ok", body)
    assert st == 201, out
    for k, v in body.items():
        assert out[k] == v, k
    st, again, _ = ws.host.put("/v1/members/m_ok", dict(body, name="Sam R."))
    assert st == 200 and again["name"] == "Sam R."


# ---- more raw HTTP that must be refused cleanly, never crash the server ----

RAW_BAD = [
    ("url_over_16KiB", b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 431),
    ("too_many_headers", b"GET /healthz HTTP/1.1\r\n"
     + b"".join(b"A%d: b\r\n" % i for i in range(300)) + b"\r\n", 431),
    ("negative_content_length",
     b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    ("content_length_and_chunked", b"POST /v1/events HTTP/1.1\r\nHost: x\r\n"
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("bad_chunk_size", b"POST /v1/events HTTP/1.1\r\nHost: x\r\n"
     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ("empty_header_name", b"GET /healthz HTTP/1.1\r\n: x\r\n\r\n", 400),
    ("nul_in_header", b"GET /v1/members HTTP/1.1\r\nAuthorization: Bearer hk_\x00a\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,data,status", RAW_BAD, ids=[c[0] for c in RAW_BAD])
def test_raw_protocol_abuse_is_refused_with_json_error(server, name, data, status):
    check_raw_error(raw_http(server.url, data), status)
    st, _, _ = raw_http(server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert st == 200


def test_huge_content_length_is_refused_before_reading_the_body(wsm):
    answer = raw_http(wsm.url, event_head(wsm, 10 ** 12))
    check_raw_error(answer, 413, "body_too_large")


def test_pipelined_requests_are_answered_in_order(server):
    u = urlparse(server.url)
    s = socket.create_connection((u.hostname, u.port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
              b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = recv_all(s)
    statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]
    assert statuses == [200, 404, 200], data
