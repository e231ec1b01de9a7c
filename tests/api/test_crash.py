"""The crash-safety proof: an event accepted with a 2xx is never lost, even
if Herald is killed (SIGKILL) the next instant, and nothing is half-made or
made twice.

A burst of concurrent posts runs against a server of its own; after some
hundreds of acknowledgements the server is killed with posts in flight.
On restart, every acknowledged event is there with exactly its three
notifications, every member's unread count matches their feed, nothing
exists twice, and re-posting an acknowledged event is a duplicate (200).
"""
import concurrent.futures
import os
import threading

import pytest
import requests

from conftest import Client, Herald, Workspace, appointment_event, feed_all

MEMBERS = ["m_1", "m_2", "m_3"]
THREADS = 16
ACKS_BEFORE_KILL = 400


def burst_then_kill(h, ws):
    """Posts unique events from THREADS threads; kills h once enough are
    acknowledged. Returns (acked, attempted, unexpected answers)."""
    acked, attempted, unexpected = {}, {}, []
    lock = threading.Lock()
    enough = threading.Event()

    def worker():
        c = Client(h.url, ws.key)
        mine = []
        n = 0
        while True:
            n += 1
            if mine and n % 10 == 0:
                ev, want = mine[n % len(mine)], 200  # a duplicate in the burst
            else:
                ev, want = appointment_event("appointment.booked", MEMBERS), 202
                with lock:
                    attempted[ev["id"]] = ev
            try:
                st, out, _ = c.post("/v1/events", ev)
            except requests.RequestException:
                return  # the server is gone
            if st != want:
                with lock:
                    unexpected.append((ev["id"], want, st, out))
            if st in (200, 202):
                mine.append(ev)
                with lock:
                    acked[ev["id"]] = ev
                    if len(acked) >= ACKS_BEFORE_KILL:
                        enough.set()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(THREADS)]
    for t in threads:
        t.start()
    try:
        assert enough.wait(120), "the burst did not reach %d acknowledgements" % ACKS_BEFORE_KILL
    finally:
        h.kill()  # SIGKILL, with posts in flight
        for t in threads:
            t.join(30)
    assert not any(t.is_alive() for t in threads)
    return acked, attempted, unexpected


def parallel(fn, items, workers=8):
    local = threading.local()

    def run(item):
        if not hasattr(local, "ctx"):
            local.ctx = {}
        return fn(local.ctx, item)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def verify_after_restart(url, ws, acked, attempted):
    host_key = ws.key

    def get_event(ctx, event_id):
        c = ctx.setdefault("c", Client(url, host_key))
        st, body, _ = c.get("/v1/events/" + event_id)
        return event_id, st, body

    # every acknowledged event is complete
    for event_id, st, body in parallel(get_event, sorted(acked)):
        assert st == 200, ("acknowledged event lost", event_id, body)
        members = sorted(n["member_id"] for n in body["notifications"])
        assert members == MEMBERS, ("acknowledged event incomplete", event_id, body)
    # an unanswered one may be missing, but never half-made
    present = set(acked)
    for event_id, st, body in parallel(get_event, sorted(set(attempted) - set(acked))):
        assert st in (200, 404), (event_id, st, body)
        if st == 200:
            present.add(event_id)
            members = sorted(n["member_id"] for n in body["notifications"])
            assert members == MEMBERS, ("unanswered event half-made", event_id, body)

    check_feeds(url, ws, present)
    return present


def check_feeds(url, ws, present):
    """No duplicates, no phantoms, and every unread count matches its feed."""
    host = Client(url, ws.key)
    for m in MEMBERS:
        st, tok, _ = host.post("/v1/members/%s/tokens" % m, {})
        assert st == 201, tok
        me = Client(url, tok["token"])
        items = feed_all(me)
        ids = [i["id"] for i in items]
        events = [i["event_id"] for i in items]
        assert len(set(ids)) == len(ids), "a notification appears twice in %s's feed" % m
        assert len(set(events)) == len(events), "an event notified %s twice" % m
        assert set(events) == present, "%s's feed does not match the stored events" % m
        st, count, _ = me.get("/v1/me/notifications/count")
        assert count == {"unread": len(items)}, (m, count, len(items))
        assert all(i["state"] == "unread" for i in items)
        st, member, _ = host.get("/v1/members/" + m)
        assert member["unread"] == len(items)


def repost_all(url, ws, events):
    def post(ctx, ev):
        c = ctx.setdefault("c", Client(url, ws.key))
        return ev["id"], c.post("/v1/events", ev)[0]
    return dict(parallel(post, events))


@pytest.mark.parametrize("rounds", [2])
def test_kill_9_during_a_burst_loses_no_acknowledged_event_and_duplicates_nothing(
        tmpdir_path, rounds):
    db = os.path.join(tmpdir_path, "crash.db")
    servers = []
    try:
        h = Herald(db).start()
        servers.append(h)
        ws = Workspace(h.url)
        for m in MEMBERS:
            ws.member(m)
        all_acked, all_attempted = {}, {}
        for round_no in range(rounds):
            acked, attempted, unexpected = burst_then_kill(h, ws)
            assert not unexpected, unexpected[:5]
            all_acked.update(acked)
            all_attempted.update(attempted)

            h = Herald(db).start()
            servers.append(h)
            ws.url = h.url
            present = verify_after_restart(h.url, ws, all_acked, all_attempted)
            assert len(present) >= len(all_acked)

            # every acknowledged event is a duplicate now, never a new one
            answers = repost_all(h.url, ws, list(all_acked.values()))
            made_again = [i for i, st in answers.items() if st != 200]
            assert not made_again, ("re-posted acknowledged events not answered 200",
                                    [(i, answers[i]) for i in made_again[:5]])
            # and re-posting changed no feed
            check_feeds(h.url, ws, present)
    finally:
        for s in servers:
            s.kill()
