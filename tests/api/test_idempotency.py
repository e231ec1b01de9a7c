"""An event id is an idempotency key: sending the same event twice never
makes two notifications, and a refused request leaves its id free."""
import concurrent.futures
import json
import threading

import pytest

from conftest import Client, Workspace, appointment_event, feed_all, recipients, unique


# ---- helpers ----

def post_bytes(ws, data):
    return ws.host.call("POST", "/v1/events", data=data,
                        headers={"Content-Type": "application/json"})


def event_notifications(ws, event_id):
    st, ev, _ = ws.host.get("/v1/events/" + event_id)
    assert st == 200, ev
    return sorted((n["id"], n["member_id"]) for n in ev["notifications"])


@pytest.fixture
def trio(ws):
    for m in ("m_a", "m_b", "m_c"):
        ws.member(m)
    ws.feeds = {m: ws.as_member(m) for m in ("m_a", "m_b", "m_c")}
    return ws


def feed_counts(ws):
    return {m: len(feed_all(c)) for m, c in ws.feeds.items()}


# ---- tests ----

def test_same_id_same_body_returns_200_with_byte_identical_answer_and_nothing_new(trio):
    ev = appointment_event("appointment.booked", ["m_a", "m_b", "m_c"])
    data = json.dumps(ev).encode()
    st, first, r1 = post_bytes(trio, data)
    assert st == 202, first
    assert recipients(first) == ["m_a", "m_b", "m_c"]
    counts = feed_counts(trio)
    assert counts == {"m_a": 1, "m_b": 1, "m_c": 1}
    notes = event_notifications(trio, ev["id"])

    for _ in range(3):
        st, again, r2 = post_bytes(trio, data)
        assert st == 200, again
        assert r2.content == r1.content, "the duplicate's answer must be byte-identical"
    assert feed_counts(trio) == counts
    assert event_notifications(trio, ev["id"]) == notes
    st, c, _ = trio.feeds["m_a"].get("/v1/me/notifications/count")
    assert c == {"unread": 1}


def test_duplicate_after_the_member_read_it_still_returns_200_and_changes_no_state(trio):
    ev = appointment_event("appointment.booked", ["m_a"])
    st, first, r1 = trio.post_event(ev)
    assert st == 202
    nid = first["notifications"][0]["id"]
    st, out, _ = trio.feeds["m_a"].patch("/v1/me/notifications/" + nid, {"state": "read"})
    assert st == 200, out
    st, again, r2 = trio.post_event(ev)
    assert st == 200, again
    assert again == first
    items = feed_all(trio.feeds["m_a"])
    assert [(i["id"], i["state"]) for i in items] == [(nid, "read")]


def test_same_json_value_with_other_key_order_and_whitespace_is_a_duplicate(trio):
    ev = appointment_event("appointment.booked", ["m_a", "m_b"])
    st, first, _ = post_bytes(trio, json.dumps(ev).encode())
    assert st == 202, first
    reordered = json.dumps(ev, sort_keys=True, indent=3, separators=(" ,  ", " :\t"))
    # reverse the key order of every object as well
    def rev(v):
        if isinstance(v, dict):
            return {k: rev(v[k]) for k in reversed(list(v))}
        if isinstance(v, list):
            return [rev(x) for x in v]
        return v
    for text in (reordered, "\n\n" + json.dumps(rev(ev)) + "\n  "):
        st, again, _ = post_bytes(trio, text.encode())
        assert st == 200, again
        assert again == first
    assert feed_counts(trio) == {"m_a": 1, "m_b": 1, "m_c": 0}


@pytest.mark.parametrize("first,again", [("120", "120.0"), ("120", "1.2e2"),
                                         ("120.5", "120.50")])
def test_same_number_written_another_way_is_the_same_json_value(trio, first, again):
    """JSON has one number type: 120, 120.0 and 1.2e2 are the same value, so a
    host that re-sends through another serializer gets a duplicate, not 409."""
    ev = {"id": "evt_num_" + first.replace(".", "_"), "type": "invoice.paid",
          "occurred_at": "2026-11-21T09:30:00Z",
          "data": {"invoice": {"id": "inv_1", "amount": "@AMOUNT@", "currency": "EUR",
                               "staff_ids": ["m_a"]},
                   "client": {"id": "cl_1", "name": "Dana Reyes"}}}
    text = json.dumps(ev)
    st, out, _ = post_bytes(trio, text.replace('"@AMOUNT@"', first).encode())
    assert st == 202, out
    st, again_out, _ = post_bytes(trio, text.replace('"@AMOUNT@"', again).encode())
    assert st == 200, again_out
    assert again_out == out


def test_same_json_value_with_escaped_unicode_is_a_duplicate(trio):
    ev = appointment_event("appointment.booked", ["m_a"])
    ev["data"]["client"]["name"] = "Zoë Ní Bhriain"
    st, first, _ = post_bytes(trio, json.dumps(ev, ensure_ascii=False).encode())
    assert st == 202, first
    st, again, _ = post_bytes(trio, json.dumps(ev, ensure_ascii=True).encode())
    assert st == 200, again
    assert again == first


@pytest.mark.parametrize("change", ["starts_at", "staff", "extra_field", "type", "actor"])
def test_same_id_with_different_body_is_409_idempotency_conflict_and_changes_nothing(trio,
                                                                                    change):
    ev = appointment_event("appointment.booked", ["m_a"])
    st, first, _ = trio.post_event(ev)
    assert st == 202, first
    other = json.loads(json.dumps(ev))
    if change == "starts_at":
        other["data"]["appointment"]["starts_at"] = "2026-11-25T14:30:00Z"
    elif change == "staff":
        other["data"]["appointment"]["staff_ids"] = ["m_a", "m_b"]
    elif change == "extra_field":
        other["data"]["note_for_us"] = "kept and ignored, but part of the body"
    elif change == "type":
        other["type"] = "appointment.confirmed"
    else:
        other["actor"] = {"kind": "member", "id": "m_c"}
    st, body, r = trio.post_event(other)
    assert st == 409, body
    assert r.headers.get("X-Request-Id")
    assert body["error"]["code"] == "idempotency_conflict"
    assert body["error"]["field"] == "id"
    assert body["error"]["message"]
    assert feed_counts(trio) == {"m_a": 1, "m_b": 0, "m_c": 0}
    st, stored, _ = trio.host.get("/v1/events/" + ev["id"])
    assert stored["event"]["type"] == ev["type"]
    assert stored["event"]["data"] == ev["data"]
    # the original body is still a plain duplicate
    st, again, _ = trio.post_event(ev)
    assert st == 200 and again == first


def test_same_id_sent_concurrently_makes_exactly_one_event(trio):
    ev = appointment_event("appointment.booked", ["m_a", "m_b", "m_c"])
    data = json.dumps(ev).encode()
    n = 20
    barrier = threading.Barrier(n)
    clients = [Client(trio.url, trio.key) for _ in range(n)]
    for c in clients:  # open the connections before the race
        assert c.get("/v1/workspace")[0] == 200

    def send(c):
        barrier.wait()
        r = c.http.post(c.url + "/v1/events", data=data, timeout=30,
                        headers={"Authorization": "Bearer " + c.token,
                                 "Content-Type": "application/json"})
        return r.status_code, r.content

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, clients))
    statuses = sorted(s for s, _ in answers)
    assert statuses == [200] * (n - 1) + [202], statuses
    bodies = {b for _, b in answers}
    assert len(bodies) == 1, "every answer must carry the same outcome"
    outcome = json.loads(bodies.pop())
    assert recipients(outcome) == ["m_a", "m_b", "m_c"]
    assert feed_counts(trio) == {"m_a": 1, "m_b": 1, "m_c": 1}
    notes = event_notifications(trio, ev["id"])
    assert [m for _, m in notes] == ["m_a", "m_b", "m_c"]
    for m, c in trio.feeds.items():
        st, count, _ = c.get("/v1/me/notifications/count")
        assert count == {"unread": 1}, m


def test_same_id_with_different_bodies_sent_concurrently_makes_one_event_rest_409(trio):
    n = 12
    bodies = []
    for i in range(n):
        ev = appointment_event("appointment.booked", ["m_a", "m_b"], event_id="evt_race_1")
        ev["data"]["appointment"]["id"] = "ap_race_%d" % i
        bodies.append(json.dumps(ev).encode())
    barrier = threading.Barrier(n)
    clients = [Client(trio.url, trio.key) for _ in range(n)]
    for c in clients:
        assert c.get("/v1/workspace")[0] == 200

    def send(i):
        barrier.wait()
        st, body, _ = clients[i].call("POST", "/v1/events", data=bodies[i],
                                      headers={"Content-Type": "application/json"})
        return i, st, body

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(send, range(n)))
    statuses = sorted(st for _, st, _ in answers)
    assert statuses == [202] + [409] * (n - 1), statuses
    for _, st, body in answers:
        if st == 409:
            assert body["error"]["code"] == "idempotency_conflict"
    winner = [i for i, st, _ in answers if st == 202][0]
    st, stored, _ = trio.host.get("/v1/events/evt_race_1")
    assert stored["event"]["data"]["appointment"]["id"] == "ap_race_%d" % winner
    assert feed_counts(trio) == {"m_a": 1, "m_b": 1, "m_c": 0}


def test_many_ids_sent_concurrently_twice_each_make_one_notification_each(trio):
    events = [appointment_event("appointment.booked", ["m_a"]) for _ in range(10)]
    payloads = [json.dumps(e).encode() for e in events] * 2
    local = threading.local()

    def send(data):
        if not hasattr(local, "c"):
            local.c = Client(trio.url, trio.key)
        return local.c.call("POST", "/v1/events", data=data,
                            headers={"Content-Type": "application/json"})[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(send, payloads))
    assert sorted(statuses) == [200] * 10 + [202] * 10, statuses
    items = feed_all(trio.feeds["m_a"])
    assert sorted(i["event_id"] for i in items) == sorted(e["id"] for e in events)


@pytest.mark.parametrize("breakage", ["bad_time", "missing_data", "unknown_type",
                                      "wrong_content_type", "malformed_json"])
def test_request_refused_with_4xx_stores_nothing_so_its_id_stays_free(trio, breakage):
    ev = appointment_event("appointment.booked", ["m_a"])
    headers = {"Content-Type": "application/json"}
    bad = json.loads(json.dumps(ev))
    if breakage == "bad_time":
        bad["data"]["appointment"]["starts_at"] = "tomorrow at two"
    elif breakage == "missing_data":
        del bad["data"]
    elif breakage == "unknown_type":
        bad["type"] = "appointment.vanished"
    elif breakage == "wrong_content_type":
        headers = {"Content-Type": "text/plain"}
    text = json.dumps(bad)
    if breakage == "malformed_json":
        text = text[:-1]
    st, body, _ = trio.host.call("POST", "/v1/events", data=text.encode(), headers=headers)
    assert 400 <= st < 500, body
    st, body, _ = trio.host.get("/v1/events/" + ev["id"])
    assert st == 404, body
    st, out, _ = trio.post_event(ev)
    assert st == 202, out
    assert recipients(out) == ["m_a"]
    assert feed_counts(trio)["m_a"] == 1


def test_same_event_id_in_two_workspaces_is_two_events(server, trio):
    other = Workspace(server.url)
    other.member("m_a")
    ev = appointment_event("appointment.booked", ["m_a"])
    st, one, _ = trio.post_event(ev)
    assert st == 202, one
    ev2 = json.loads(json.dumps(ev))
    ev2["data"]["client"]["name"] = "Someone Else"
    st, two, _ = other.post_event(ev2)
    assert st == 202, two
    assert one["notifications"][0]["id"] != two["notifications"][0]["id"]
    # each workspace keeps its own body, and a duplicate in one is a duplicate there only
    st, got, _ = other.host.get("/v1/events/" + ev["id"])
    assert got["event"]["data"]["client"]["name"] == "Someone Else"
    st, got, _ = trio.host.get("/v1/events/" + ev["id"])
    assert got["event"]["data"]["client"]["name"] == "Dana Reyes"
    assert trio.post_event(ev)[0] == 200
    assert other.post_event(ev2)[0] == 200
    assert other.post_event(ev)[0] == 409
    a = feed_all(trio.feeds["m_a"])
    b = feed_all(other.as_member("m_a"))
    assert len(a) == 1 and len(b) == 1
    assert "Dana Reyes" in a[0]["body"] and "Someone Else" in b[0]["body"]


def test_decimal_amounts_are_kept_as_sent(ws):
    ws.member("m_pay", role="owner")
    ev = {"id": unique("evt"), "type": "invoice.paid", "occurred_at": "2026-11-21T09:30:00Z",
          "data": {"invoice": {"id": "inv_1", "number": "INV-7", "amount": 19.99, "currency": "EUR",
                               "staff_ids": ["m_pay"]},
                   "client": {"id": "cl_1", "name": "Dana Reyes"}}}
    st, _, _ = ws.post_event(ev)
    assert st == 202
    st, got, _ = ws.host.get("/v1/events/" + ev["id"])
    assert got["event"]["data"]["invoice"]["amount"] == 19.99
    st, _, r = ws.host.get("/v1/events/" + ev["id"])
    assert '"amount":19.99' in r.text
