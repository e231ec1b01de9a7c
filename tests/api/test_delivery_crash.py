"""kill -9 during a burst of deliveries, then restart: every delivery ends
`sent` (or `dead`), none is lost, and the sink never records one twice.

Each acknowledged cancellation makes three email deliveries, which the sink
provider sends while the burst goes on, so the kill lands with deliveries
pending, claimed and half-recorded. After the restart the test clock moves
past the lease, so claims the dead process held come back."""
import os

from conftest import Client, Herald, Workspace, appointment_event
from test_crash import burst_then_kill, parallel

import test_crash

MEMBERS = test_crash.MEMBERS
LEASE_S = 30


def alerting_members(ws):
    for m in MEMBERS:
        ws.member(m, email=m + "@clinic.example")
        st, body, _ = ws.as_member(m).patch(
            "/v1/me/preferences",
            {"cancellation_alerts": {"channels": "email", "within_days": None}})
        assert st == 200, body


def test_kill_9_during_deliveries_loses_none_and_sends_none_twice(tmpdir_path, monkeypatch):
    db = os.path.join(tmpdir_path, "crash.db")
    args = ("--test-clock", "--delivery-lease-s", str(LEASE_S), "--smtp-timeout-s", "5",
            "--sms-timeout-s", "5", "--push-timeout-s", "5")
    servers = []
    # The burst posts cancellations (three email deliveries each).
    monkeypatch.setattr(test_crash, "appointment_event",
                        lambda _type, members: appointment_event(
                            "appointment.cancelled", members, starts_at="2026-11-22T14:30:00Z"))
    monkeypatch.setattr(test_crash, "ACKS_BEFORE_KILL", 300)
    try:
        h = Herald(db, *args).start()
        servers.append(h)
        ws = Workspace(h.url)
        alerting_members(ws)
        acked, attempted, unexpected = burst_then_kill(h, ws)
        assert not unexpected, unexpected[:5]

        h = Herald(db, *args).start()
        servers.append(h)
        ws.url = h.url
        ws.admin = Client(h.url, ws.admin.token)
        ws.host = Client(h.url, ws.key)
        # Past every lease the killed process held; everything due is sent.
        st, body, _ = ws.admin.post("/v1/test/clock", {"advance_s": LEASE_S + 1})
        assert st == 200, body

        def get_event(ctx, event_id):
            c = ctx.setdefault("c", Client(h.url, ws.key))
            return event_id, c.get("/v1/events/" + event_id)

        events = parallel(get_event, sorted(attempted))
        want = {m: set() for m in MEMBERS}
        for event_id, (st, body, _) in events:
            if event_id in acked:
                assert st == 200, ("acknowledged event lost", event_id)
            if st != 200:
                continue
            ds = body["deliveries"]
            assert sorted(d["member_id"] for d in ds) == MEMBERS, (event_id, ds)
            assert {d["status"] for d in ds} == {"sent"}, (event_id, ds)
            for d in ds:
                want[d["member_id"]].add(d["id"])
        for m in MEMBERS:
            assert len(want[m]) >= len(acked)
            st, body, _ = ws.host.get("/v1/dev/sink", params={"limit": "1000", "member_id": m})
            assert st == 200
            recorded = [x["delivery_id"] for x in body["items"]]
            assert len(recorded) < 1000
            assert len(set(recorded)) == len(recorded), "the sink recorded a delivery twice"
            assert set(recorded) == want[m]
        for status in ("pending", "sending", "failed"):
            st, page, _ = ws.host.get("/v1/deliveries", params={"status": status})
            assert page["items"] == [], (status, page["items"][:3])
    finally:
        for s in servers:
            s.kill()
