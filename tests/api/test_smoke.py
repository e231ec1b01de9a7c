"""The shortest path through Herald: a booking reaches its practitioner's feed."""
from conftest import appointment_event, recipients


def test_booking_reaches_the_feed(ws):
    ws.member("m_sam")
    st, out, r = ws.post_event(appointment_event("appointment.booked", ["m_sam"]))
    assert st == 202, out
    assert r.headers["X-Request-Id"]
    assert recipients(out) == ["m_sam"]
    sam = ws.as_member("m_sam")
    st, feed, _ = sam.get("/v1/me/notifications")
    assert st == 200
    assert [i["type"] for i in feed["items"]] == ["appointment.booked"]
    assert feed["items"][0]["state"] == "unread"
    st, count, _ = sam.get("/v1/me/notifications/count")
    assert count == {"unread": 1}
