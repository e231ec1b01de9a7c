"""A database made by an earlier schema (version 2: the live feeds and
message windows, with an outbox that held no payload) opens with this
herald: it migrates to the current version and the email its closed message window
was waiting to send goes out, without patient data."""
import os
import sqlite3

from conftest import ADMIN_KEY, Client, Herald, sqlite_only

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "herald_v2.sql")


@sqlite_only("an old SQLite file; a PostgreSQL database starts at the current schema")
def test_a_version_2_database_migrates_and_its_outbox_is_sent(tmpdir_path):
    db = os.path.join(tmpdir_path, "v2.db")
    con = sqlite3.connect(db)
    with open(FIXTURE) as f:
        con.executescript(f.read())
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    h = Herald(db, "--test-clock").start()
    try:
        admin = Client(h.url, ADMIN_KEY)
        st, body, _ = admin.get("/readyz")
        assert st == 200 and body["schema_version"] == 5
        st, key, _ = admin.post("/v1/workspaces/old/keys", {"name": "after"})
        assert st == 201, key
        host = Client(h.url, key["api_key"])
        # The fixture's rows were due when it was made (2026-11-21).
        st, body, _ = admin.post("/v1/test/clock", {"advance_s": 3600})
        assert st == 200, body
        st, body, _ = host.get("/v1/deliveries")
        assert st == 200, body
        got = {(d["member_id"], d["channel"]): d for d in body["items"]}
        assert set(got) == {("m_a", "email"), ("m_a", "push"), ("m_b", "push")}
        assert got[("m_a", "email")]["status"] == "sent"
        assert got[("m_a", "push")]["status"] == "skipped"
        assert got[("m_a", "push")]["reason"] == "made_before_delivery"
        # The old row's send is in the audit trail the migration made.
        st, body, _ = host.get("/v1/audit", params={"action": "delivery.attempt"})
        assert st == 200, body
        assert [(e["member_id"], e["details"]["channel"], e["details"]["ok"])
                for e in body["items"]] == [("m_a", "email", True)]
        st, body, _ = host.get("/v1/dev/sink")
        [mail] = body["items"]
        assert mail["to"] == "ann@old.example" and mail["subject"] == "New messages"
        assert "hello" not in mail["text"] and "Dana" not in mail["text"]
        # What version 2 stored is still there: the events and the feed.
        st, ev, _ = host.get("/v1/events/evt_0")
        assert st == 200 and ev["event"]["type"] == "message.received"
        st, tok, _ = host.post("/v1/members/m_a/tokens", {})
        st, feed, _ = Client(h.url, tok["token"]).get("/v1/me/notifications")
        assert st == 200 and len(feed["items"]) == 1
        assert feed["items"][0]["title"] == "New messages"
    finally:
        assert h.stop() == 0
