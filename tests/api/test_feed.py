"""A member's in-app feed: filters, order, states, the exact unread count,
read-all, stable cursor pagination, bad parameters, and isolation.

PRODUCT.md "The in-app feed"; API.md "Member" and "Decisions".
"""
import pytest

from conftest import ADMIN_KEY, Workspace, appointment_event

ITEM_FIELDS = {"id", "type", "category", "title", "body", "state", "created_at", "data"}


# ---- helpers ----

def notify(ws, mid, n=1, event_type="appointment.booked"):
    """Post n events that each give `mid` one in-app item; their ids, oldest first."""
    ids = []
    for _ in range(n):
        st, out, _ = ws.post_event(appointment_event(event_type, [mid]))
        assert st == 202, out
        mine = [x for x in out["notifications"] if x["member_id"] == mid]
        assert len(mine) == 1 and "in_app" in mine[0]["channels"], out
        ids.append(mine[0]["id"])
    return ids


def page(member, **params):
    st, body, _ = member.get("/v1/me/notifications", params=params)
    assert st == 200, body
    return body


def ids_of(member, filter_=None, limit=100):
    params = {"limit": limit}
    if filter_:
        params["filter"] = filter_
    body = page(member, **params)
    assert body["next_cursor"] is None
    return [i["id"] for i in body["items"]]


def count(member):
    st, body, _ = member.get("/v1/me/notifications/count")
    assert st == 200, body
    return body["unread"]


def set_state(member, nid, state):
    st, body, _ = member.patch("/v1/me/notifications/" + nid, {"state": state})
    assert st == 200, body
    assert body["id"] == nid and body["state"] == state
    return body


def read_all(member):
    st, body, _ = member.post("/v1/me/notifications/read-all", {})
    assert st == 200, body
    return body


def advance(ws, seconds):
    st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": seconds}, token=ADMIN_KEY)
    assert st == 200, body


@pytest.fixture
def sam(ws):
    ws.member("m_sam")
    return ws.as_member("m_sam")


# ---- filters and order ----

def test_feed_defaults_to_unread_and_each_filter_shows_its_state(ws, sam):
    a, b, c, d = notify(ws, "m_sam", 4)
    set_state(sam, b, "read")
    set_state(sam, c, "ignored")
    default = page(sam)
    assert [i["id"] for i in default["items"]] == [d, a]
    assert ids_of(sam, "unread") == [d, a]
    assert ids_of(sam, "read") == [b]
    assert ids_of(sam, "ignored") == [c]
    assert ids_of(sam, "all") == [d, c, b, a]
    states = {i["id"]: i["state"] for i in page(sam, filter="all")["items"]}
    assert states == {a: "unread", b: "read", c: "ignored", d: "unread"}


def test_feed_items_carry_the_documented_fields(ws, sam):
    ev = appointment_event("appointment.booked", ["m_sam"])
    st, out, _ = ws.post_event(ev)
    item = page(sam)["items"][0]
    assert ITEM_FIELDS <= set(item), item
    assert item["id"] == out["notifications"][0]["id"]
    assert item["type"] == "appointment.booked"
    assert item["category"] == "scheduling"
    assert item["title"] and item["body"]
    assert item["state"] == "unread"
    assert item["created_at"].endswith("Z")
    assert item["data"] == ev["data"]


def test_feed_is_newest_first(ws, sam):
    ids = []
    for _ in range(4):
        ids += notify(ws, "m_sam")
        advance(ws, 1)
    items = page(sam, filter="all")["items"]
    assert [i["id"] for i in items] == list(reversed(ids))
    created = [i["created_at"] for i in items]
    assert created == sorted(created, reverse=True)
    assert len(set(created)) == 4, created  # one second apart on Herald's clock


def test_empty_feed_has_no_items_no_cursor_and_zero_count(ws, sam):
    for f in ("unread", "read", "ignored", "all"):
        body = page(sam, filter=f)
        assert body["items"] == [] and body["next_cursor"] is None
    assert count(sam) == 0


# ---- state changes and the exact count ----

def test_state_changes_keep_the_unread_count_exact(ws, sam):
    a, b, c = notify(ws, "m_sam", 3)
    assert count(sam) == 3
    assert set_state(sam, a, "read")["unread"] == 2
    assert count(sam) == 2
    # Marking read again changes nothing.
    set_state(sam, a, "read")
    assert count(sam) == 2
    set_state(sam, a, "unread")
    assert count(sam) == 3
    set_state(sam, b, "ignored")
    assert count(sam) == 2
    # read -> ignored does not touch the count.
    set_state(sam, c, "read")
    assert count(sam) == 1
    set_state(sam, c, "ignored")
    assert count(sam) == 1
    # Restore: ignored -> unread.
    set_state(sam, b, "unread")
    assert count(sam) == 2
    assert ids_of(sam, "ignored") == [c]
    assert ids_of(sam, "unread") == [b, a]
    # ignored -> read.
    set_state(sam, c, "read")
    assert ids_of(sam, "read") == [c]
    assert count(sam) == 2
    # A new item counts too.
    notify(ws, "m_sam")
    assert count(sam) == 3


def test_restore_moves_an_ignored_item_back_to_unread(ws, sam):
    (a,) = notify(ws, "m_sam")
    set_state(sam, a, "ignored")
    assert ids_of(sam) == [] and ids_of(sam, "ignored") == [a]
    assert count(sam) == 0
    set_state(sam, a, "unread")
    assert ids_of(sam) == [a] and ids_of(sam, "ignored") == []
    assert count(sam) == 1


def test_read_all_marks_unread_read_leaves_ignored_and_says_how_many(ws, sam):
    a, b, c, d, e = notify(ws, "m_sam", 5)
    set_state(sam, b, "ignored")
    set_state(sam, d, "read")
    assert count(sam) == 3
    out = read_all(sam)
    assert out["changed"] == 3
    assert count(sam) == 0
    assert ids_of(sam, "unread") == []
    assert ids_of(sam, "ignored") == [b]
    assert ids_of(sam, "read") == [e, d, c, a]
    # Nothing left to change.
    assert read_all(sam)["changed"] == 0
    assert count(sam) == 0
    # New items after read-all are unread.
    (f,) = notify(ws, "m_sam")
    assert count(sam) == 1
    assert ids_of(sam) == [f]
    assert read_all(sam)["changed"] == 1
    assert count(sam) == 0


def test_read_all_touches_only_the_callers_items(ws, sam):
    ws.member("m_kim")
    kim = ws.as_member("m_kim")
    notify(ws, "m_sam", 2)
    notify(ws, "m_kim", 3)
    assert read_all(sam)["changed"] == 2
    assert count(kim) == 3
    assert len(ids_of(kim, "unread")) == 3


@pytest.mark.parametrize("body,field", [
    ({"state": "archived"}, "state"),
    ({"state": "READ"}, "state"),
    ({"state": None}, "state"),
    ({"state": 1}, "state"),
    ({}, "state"),
    ({"state": "read", "colour": "red"}, "colour"),
], ids=["unknown-state", "wrong-case", "null", "number", "missing", "unknown-key"])
def test_bad_state_change_is_400_with_field_and_changes_nothing(ws, sam, body, field):
    (a,) = notify(ws, "m_sam")
    st, err, _ = sam.patch("/v1/me/notifications/" + a, body)
    assert st == 400, err
    assert err["error"]["field"] == field
    assert ids_of(sam, "unread") == [a]
    assert count(sam) == 1


# ---- cursor pagination ----

def walk(member, limit, filter_=None):
    """Every page of the feed; returns the pages' id lists."""
    pages, cursor = [], None
    while True:
        params = {"limit": limit}
        if filter_:
            params["filter"] = filter_
        if cursor:
            params["cursor"] = cursor
        body = page(member, **params)
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "pagination does not end"


def test_pages_cover_the_feed_once_in_order_and_the_last_has_null_cursor(ws, sam):
    ids = notify(ws, "m_sam", 7)
    pages = walk(sam, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == list(reversed(ids))


def test_page_that_ends_exactly_at_the_last_item_has_null_cursor(ws, sam):
    ids = notify(ws, "m_sam", 6)
    pages = walk(sam, 3)
    assert pages == [list(reversed(ids))[:3], list(reversed(ids))[3:]]
    body = page(sam, limit=6)
    assert len(body["items"]) == 6 and body["next_cursor"] is None
    body = page(sam, limit=5)
    assert len(body["items"]) == 5 and body["next_cursor"]


def test_default_limit_is_50(ws, sam):
    notify(ws, "m_sam", 51)
    body = page(sam)
    assert len(body["items"]) == 50 and body["next_cursor"]
    rest = page(sam, cursor=body["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


def test_pagination_is_stable_while_new_items_arrive(ws, sam):
    old = notify(ws, "m_sam", 5)
    newest_first = list(reversed(old))
    p1 = page(sam, limit=2)
    assert [i["id"] for i in p1["items"]] == newest_first[:2]
    new = notify(ws, "m_sam", 3)
    p2 = page(sam, limit=2, cursor=p1["next_cursor"])
    assert [i["id"] for i in p2["items"]] == newest_first[2:4]
    notify(ws, "m_sam", 1)
    p3 = page(sam, limit=2, cursor=p2["next_cursor"])
    assert [i["id"] for i in p3["items"]] == newest_first[4:]
    assert p3["next_cursor"] is None
    # A fresh first page shows the new items on top.
    assert [i["id"] for i in page(sam, limit=3)["items"]][1:] == list(reversed(new))[:2]


def test_pagination_of_a_filter_walks_only_that_state(ws, sam):
    ids = notify(ws, "m_sam", 6)
    for nid in ids[::2]:
        set_state(sam, nid, "read")
    assert walk(sam, 2, "read") == [[ids[4], ids[2]], [ids[0]]]
    assert walk(sam, 2, "all") == [[ids[5], ids[4]], [ids[3], ids[2]], [ids[1], ids[0]]]


@pytest.mark.parametrize("params,field", [
    ({"filter": "archived"}, "filter"),
    ({"filter": ""}, "filter"),
    ({"filter": "UNREAD"}, "filter"),
    ({"limit": "0"}, "limit"),
    ({"limit": "-1"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "2.5"}, "limit"),
    ({"limit": ""}, "limit"),
    ({"cursor": "garbage"}, "cursor"),
    ({"cursor": ""}, "cursor"),
    ({"cursor": "AAAAAAAAAAAAAA"}, "cursor"),
], ids=lambda v: repr(v) if isinstance(v, dict) else v)
def test_bad_filter_limit_or_cursor_is_400_with_the_field(ws, sam, params, field):
    notify(ws, "m_sam", 2)
    st, err, _ = sam.get("/v1/me/notifications", params=params)
    assert st == 400, err
    assert err["error"]["field"] == field, err


def test_limit_1_and_100_are_accepted(ws, sam):
    notify(ws, "m_sam", 2)
    assert len(page(sam, limit="1")["items"]) == 1
    assert len(page(sam, limit="100")["items"]) == 2


@pytest.mark.parametrize("made_for,used_with", [
    ("all", "unread"), ("unread", "all"), ("unread", "read"), ("read", "ignored"),
])
def test_cursor_from_another_filter_is_400(ws, sam, made_for, used_with):
    ids = notify(ws, "m_sam", 4)
    for nid in ids:
        set_state(sam, nid, made_for if made_for != "all" else "unread")
    first = page(sam, filter=made_for, limit=1)
    assert first["next_cursor"]
    st, err, _ = sam.get("/v1/me/notifications",
                         params={"filter": used_with, "limit": 1, "cursor": first["next_cursor"]})
    assert st == 400, err
    assert err["error"]["field"] == "cursor"
    # The default filter is unread: a cursor of `all` fails there too.
    if used_with == "unread":
        st, err, _ = sam.get("/v1/me/notifications", params={"cursor": first["next_cursor"]})
        assert st == 400 and err["error"]["field"] == "cursor"


# ---- isolation ----

def test_another_members_notification_is_404_and_never_visible(ws, sam):
    ws.member("m_kim")
    kim = ws.as_member("m_kim")
    (sams,) = notify(ws, "m_sam")
    (kims,) = notify(ws, "m_kim")
    for state in ("read", "unread", "ignored"):
        st, err, _ = kim.patch("/v1/me/notifications/" + sams, {"state": state})
        assert st == 404, err
    assert ids_of(kim, "all") == [kims]
    for f in ("unread", "read", "ignored"):
        assert sams not in ids_of(kim, f)
    assert count(kim) == 1
    # Sam's item is untouched.
    assert ids_of(sam, "unread") == [sams]
    assert count(sam) == 1


def test_notification_of_another_workspace_is_404(ws, sam, server):
    (sams,) = notify(ws, "m_sam")
    other = Workspace(server.url)
    other.member("m_sam")  # same host id, other practice
    twin = other.as_member("m_sam")
    st, err, _ = twin.patch("/v1/me/notifications/" + sams, {"state": "read"})
    assert st == 404, err
    assert ids_of(twin, "all") == []
    assert count(twin) == 0
    assert count(sam) == 1


@pytest.mark.parametrize("nid", ["ntf_999999999", "ntf_0", "abc", "ntf_x", "1"])
def test_unknown_notification_id_is_404(ws, sam, nid):
    notify(ws, "m_sam")
    st, err, _ = sam.patch("/v1/me/notifications/" + nid, {"state": "read"})
    assert st == 404, err
    assert count(sam) == 1


def test_notification_with_in_app_off_is_not_in_the_feed(ws, sam):
    st, body, _ = sam.patch("/v1/me/preferences",
                            {"categories": {"scheduling": {"in_app": False}}})
    assert st == 200, body
    st, out, _ = ws.post_event(appointment_event("appointment.booked", ["m_sam"]))
    assert st == 202
    n = out["notifications"][0]
    assert n["member_id"] == "m_sam" and n["channels"] == ["push"]
    for f in ("unread", "read", "ignored", "all"):
        assert ids_of(sam, f) == []
    assert count(sam) == 0
    st, err, _ = sam.patch("/v1/me/notifications/" + n["id"], {"state": "read"})
    assert st == 404, err
    assert read_all(sam)["changed"] == 0
    # Other categories still reach the feed.
    st, out, _ = ws.post_event({
        "id": "evt_note_" + n["id"], "type": "note.created", "occurred_at": "2026-11-21T09:30:00Z",
        "actor": {"kind": "client", "id": "cl_1"},
        "data": {"client": {"id": "cl_1", "name": "Dana Reyes", "assigned_staff_ids": ["m_sam"]},
                 "note": {"id": "nt_1"}}})
    assert st == 202, out
    assert [i["type"] for i in page(sam)["items"]] == ["note.created"]
    assert count(sam) == 1


# ---- credentials ----

def test_deleted_members_token_is_refused(ws, sam):
    notify(ws, "m_sam", 2)
    assert count(sam) == 2
    st, _, _ = ws.host.delete("/v1/members/m_sam")
    assert st == 204
    for method, path, body in [("GET", "/v1/me/notifications", None),
                               ("GET", "/v1/me/notifications/count", None),
                               ("POST", "/v1/me/notifications/read-all", {}),
                               ("GET", "/v1/me/preferences", None)]:
        st, err, _ = sam.call(method, path, json_body=body)
        assert st == 401, (path, err)
    st, _, _ = ws.host.get("/v1/members/m_sam")
    assert st == 404


def test_inactive_members_token_is_refused(ws, sam):
    notify(ws, "m_sam")
    ws.member("m_sam", active=False)
    st, _, _ = sam.get("/v1/me/notifications")
    assert st == 401
    ws.member("m_sam", active=True)
    st, _, _ = sam.get("/v1/me/notifications")
    assert st == 200


def test_feed_needs_a_member_token(ws, sam):
    st, _, _ = ws.host.get("/v1/me/notifications")
    assert st == 403
    st, _, _ = sam.get("/v1/me/notifications", token="not.a.token")
    assert st == 401
    st, _, _ = sam.call("GET", "/v1/me/notifications", token="")
    assert st == 401
