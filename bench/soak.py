#!/usr/bin/env python3
"""The soak's driver (run by bench/soak.sh, which starts Herald and the flaky
SMTP sink): mixed load for SECONDS, Herald's memory sampled throughout, then
a check that nothing was lost or duplicated.

Load, all at once:
  - ingest at RATE events/s over 4 keep-alive connections: bookings,
    cancellations (some members have email alerts), notes and invoices
    (email by default), secure messages (grouped in 10 s windows); some
    repeats of answered events (must be 200, byte for byte the stored
    answer) and some conflicting reuses of an id (must be 409);
  - feed reads by member tokens: pages with filters and cursors, counts,
    PATCHes of an item's state;
  - SSE streams that connect for a random 1-8 s and drop, half of them
    resuming with Last-Event-ID; each one's ids must follow on, none skipped
    or repeated;
  - deliveries: every email goes to the sink, which refuses some with 451.

Afterwards: wait for windows to close and the outbox to drain, then check
every accepted event, every member's feed, the delivery log against what the
sink accepted, and print a summary. Exit status 1 if any check fails.

Standard library only; RSS comes from /proc/PID/status (VmRSS, VmHWM).
"""
import argparse
import collections
import http.client
import json
import os
import random
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

P = argparse.ArgumentParser()
P.add_argument("--port", type=int, required=True)
P.add_argument("--admin", required=True)
P.add_argument("--pid", type=int, required=True)
P.add_argument("--db", required=True)
P.add_argument("--sink-log", required=True)
P.add_argument("--seconds", type=float, default=600)
P.add_argument("--warmup", type=float, default=120)
P.add_argument("--rate", type=float, default=150)
P.add_argument("--max-attempts", type=int, default=3)
P.add_argument("--streams", type=int, default=12)
P.add_argument("--seed", type=int, default=1)
A = P.parse_args()

HOST = "127.0.0.1"
MEMBERS = ["m%02d" % i for i in range(30)]
WITH_EMAIL = {m for i, m in enumerate(MEMBERS) if i % 2 == 0}
ALERTS = {m for i, m in enumerate(MEMBERS) if i % 4 == 0}      # cancellation alerts by email
CONVERSATIONS = 40
stop = threading.Event()
lock = threading.Lock()


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


class Conn:
    """One keep-alive HTTP connection; reconnects after a network error."""

    def __init__(self, token=None):
        self.token = token
        self.c = None

    def call(self, method, path, body=None, token=None, headers=None):
        h = {"Authorization": "Bearer " + (token or self.token)}
        if body is not None:
            if not isinstance(body, bytes):
                body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        for attempt in range(3):
            try:
                if self.c is None:
                    self.c = http.client.HTTPConnection(HOST, A.port, timeout=60)
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                return r.status, r.read()
            except (OSError, http.client.HTTPException):
                if self.c:
                    self.c.close()
                self.c = None
                if attempt == 2:
                    raise
                time.sleep(0.2)

    def json(self, method, path, body=None, **kw):
        st, raw = self.call(method, path, body, **kw)
        return st, (json.loads(raw) if raw else None)


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (t.microsecond // 1000)


def parse_time(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---- set-up: a workspace, 30 members, tokens, preferences ----
admin = Conn(A.admin)
st, ws = admin.json("POST", "/v1/workspaces", {"id": "soak", "name": "Soak", "timezone": "Europe/Dublin"})
assert st == 201, (st, ws)
KEY = ws["api_key"]
host = Conn(KEY)
st, out = host.json("PATCH", "/v1/workspace", {"message_group_window_s": 10})
assert st == 200, out
TOKENS = {}
for i, m in enumerate(MEMBERS):
    body = {"name": "Member %d" % i, "role": "owner" if i == 0 else "admin" if i == 1 else "practitioner"}
    if m in WITH_EMAIL:
        body["email"] = m + "@soak.example"
    st, out = host.json("PUT", "/v1/members/" + m, body)
    assert st == 201, out
    st, out = host.json("POST", "/v1/members/%s/tokens" % m, {"ttl_s": 86400})
    assert st == 201, out
    TOKENS[m] = out["token"]
    if m in ALERTS:
        st, out = Conn(TOKENS[m]).json("PATCH", "/v1/me/preferences",
                                       {"cancellation_alerts": {"channels": "email", "within_days": None}})
        assert st == 200, out
rnd0 = random.Random(A.seed)
PARTICIPANTS = [rnd0.sample(MEMBERS, rnd0.randint(2, 3)) for _ in range(CONVERSATIONS)]

# ---- what the load records ----
accepted = {}            # event id -> (notifications [(nid, member, channels)], windows [(member, conv, closes_at)])
ring = collections.deque(maxlen=4000)   # (event id, body, answer) for repeats
desired = {}             # nid -> state last set by a PATCH that answered 200
stats = collections.Counter()
latency = []
problems = collections.Counter()         # failed checks by name
examples = collections.defaultdict(list)
stream_nids = collections.defaultdict(set)   # member -> ids of notifications seen on streams
last_ids = {}            # member -> a stream position seen, for resuming
samples = []             # (t, VmRSS kB, VmHWM kB, db + wal bytes)


def count(name):
    with lock:
        stats[name] += 1


def problem(name, detail):
    with lock:
        problems[name] += 1
        if len(examples[name]) < 5:
            examples[name].append(detail)


def make_event(rnd, n):
    now = datetime.now(timezone.utc)
    kind = rnd.random()
    eid = "e%07d" % n
    client = {"id": "cl_%d" % rnd.randint(1, 500), "name": "Client %d" % rnd.randint(1, 500)}
    start = now + timedelta(hours=rnd.randint(1, 96))
    appt = {"id": "ap_" + eid, "starts_at": iso(start), "ends_at": iso(start + timedelta(minutes=50)),
            "staff_ids": rnd.sample(MEMBERS, rnd.randint(1, 3))}
    ev = {"id": eid, "occurred_at": iso(now), "source": "reception",
          "actor": {"kind": "client", "id": client["id"], "name": client["name"]}}
    if kind < 0.40:
        ev.update(type="appointment.booked", data={"appointment": appt, "client": client})
    elif kind < 0.60:
        appt["staff_ids"] = appt["staff_ids"][:2]
        ev.update(type="appointment.cancelled", data={"appointment": appt, "client": client,
                                                      "reason": "Feeling unwell"})
    elif kind < 0.75:
        c = rnd.randrange(CONVERSATIONS)
        ev.update(type="message.received", id="msg_" + eid,
                  data={"conversation": {"id": "cv_%d" % c, "name": "Chat %d" % c,
                                         "participant_ids": PARTICIPANTS[c]},
                        "message": {"id": "mm_" + eid, "text": "Message %d" % n}})
    elif kind < 0.90:
        client["assigned_staff_ids"] = rnd.sample(MEMBERS, rnd.randint(1, 2))
        ev.update(type="note.created", data={"client": client,
                                             "note": {"id": "nt_" + eid, "title": "Note", "text": "x" * 200}})
    else:
        ev.update(type="invoice.paid", data={"client": client, "invoice": {
            "id": "in_" + eid, "amount": 80, "currency": "EUR", "staff_ids": rnd.sample(MEMBERS, 1)}})
    return ev


def record(ev, body, answer):
    out = json.loads(answer)
    notes = [(x["id"], x["member_id"], tuple(x["channels"])) for x in out["notifications"]]
    conv = ev["data"]["conversation"]["id"] if ev["type"] == "message.received" else None
    wins = [(g["member_id"], conv, g["closes_at"]) for g in out.get("grouped", [])]
    with lock:
        accepted[ev["id"]] = (notes, wins)
        ring.append((ev["id"], body, answer))


slots = iter(range(1, 1 << 40))     # the pacing: request k is due at T0 + k / RATE
numbers = iter(range(1, 1 << 40))   # event ids
T0 = time.monotonic()


def ingester(k):
    rnd = random.Random(A.seed * 100 + k)
    c = Conn(KEY)
    while not stop.is_set():
        with lock:
            slot = next(slots)
        wait = T0 + slot / A.rate - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        if stop.is_set():
            break
        r = rnd.random()
        if r < 0.08 and len(ring) > 100:          # a repeat: the stored answer, byte for byte
            with lock:
                eid, body, answer = ring[rnd.randrange(len(ring))]
            st, raw = c.call("POST", "/v1/events", body)
            count("repeats")
            if st != 200 or raw != answer:
                problem("repeat not 200 with the same body", "%s: %s %s" % (eid, st, raw[:200]))
            continue
        if r < 0.09 and len(ring) > 100:          # the same id, another body: 409, nothing changes
            with lock:
                eid, body, answer = ring[rnd.randrange(len(ring))]
            other = json.loads(body)
            other["source"] = "staff"
            st, raw = c.call("POST", "/v1/events", json.dumps(other).encode())
            count("conflicts")
            if st != 409:
                problem("conflicting id not 409", "%s: %s %s" % (eid, st, raw[:200]))
            continue
        with lock:
            n = next(numbers)
        ev = make_event(rnd, n)
        body = json.dumps(ev).encode()
        t = time.monotonic()
        try:
            st, raw = c.call("POST", "/v1/events", body)
        except OSError as e:
            problem("ingest network error", "%s: %s" % (ev["id"], e))
            continue
        dt = time.monotonic() - t
        if st in (200, 202):     # 200: an earlier try of this very request got through
            record(ev, body, raw)
            count("events")
            latency.append(dt)
        else:
            problem("ingest not 202", "%s: %s %s" % (ev["id"], st, raw[:200]))


def reader(k, nreaders):
    rnd = random.Random(A.seed * 200 + k)
    mine = [m for i, m in enumerate(MEMBERS) if i % nreaders == k]
    conns = {m: Conn(TOKENS[m]) for m in mine}
    while not stop.is_set():
        m = rnd.choice(mine)
        c = conns[m]
        f = rnd.choice(["unread", "unread", "all", "read", "ignored"])
        path = "/v1/me/notifications?filter=%s&limit=%d" % (f, rnd.choice([10, 20, 50, 100]))
        st, page = c.json("GET", path)
        count("reads")
        if st != 200:
            problem("feed read not 200", "%s %s" % (st, page))
            continue
        if page["next_cursor"] and rnd.random() < 0.3:
            st, _ = c.json("GET", path + "&cursor=" + page["next_cursor"])
            count("reads")
            if st != 200:
                problem("feed page not 200", st)
        st, _ = c.json("GET", "/v1/me/notifications/count")
        count("reads")
        if st != 200:
            problem("count not 200", st)
        if page["items"] and rnd.random() < 0.5:
            item = rnd.choice(page["items"])
            state = rnd.choice(["read", "read", "ignored", "unread"])
            st, out = c.json("PATCH", "/v1/me/notifications/" + item["id"], {"state": state})
            count("patches")
            if st == 200:
                desired[item["id"]] = state
            else:
                problem("PATCH not 200", "%s %s" % (st, out))
        time.sleep(0.03)


def stream_session(rnd):
    m = rnd.choice(MEMBERS)
    resume = last_ids.get(m) if rnd.random() < 0.5 else None
    s = socket.create_connection((HOST, A.port), timeout=2)
    req = "GET /v1/me/stream HTTP/1.1\r\nHost: soak\r\nAuthorization: Bearer %s\r\n" % TOKENS[m]
    if resume is not None:
        req += "Last-Event-ID: %d\r\n" % resume
    s.sendall((req + "\r\n").encode())
    count("stream connects")
    if resume is not None:
        count("stream resumes")
    opened = time.monotonic()
    until = opened + rnd.uniform(1, 8)
    buf = b""
    head = None
    expect = resume            # the next frame with an id must carry expect + 1
    seen = set()
    try:
        while time.monotonic() < until and not stop.is_set():
            try:
                d = s.recv(65536)
            except socket.timeout:
                continue
            if not d:
                # Herald may drop a stream (a slow reader, a replay that
                # overflowed); its client resumes with its id, so this is
                # counted and shown, not failed. The details help find why.
                count("stream closed by Herald")
                with lock:
                    if len(examples["closed"]) < 5:
                        examples["closed"].append("%s after %.1f s, head %s, last id %s, resumed from %s"
                                                  % (m, time.monotonic() - opened, head is not None,
                                                     expect, resume))
                break
            buf += d
            if head is None:
                if b"\r\n\r\n" not in buf:
                    continue
                head, _, buf = buf.partition(b"\r\n\r\n")
                if b" 200 " not in head.split(b"\r\n")[0]:
                    problem("stream not 200", head[:100])
                    return
            while b"\n\n" in buf:
                raw, _, buf = buf.partition(b"\n\n")
                ev, fid, data = "message", None, []
                for line in raw.decode().split("\n"):
                    if line.startswith("event: "):
                        ev = line[7:]
                    elif line.startswith("id: "):
                        fid = int(line[4:])
                    elif line.startswith("data: "):
                        data.append(line[6:])
                count("stream frames")
                if fid is None:
                    continue
                if ev == "reset":
                    count("stream resets")
                    expect = fid
                elif ev == "count":
                    if expect is None:
                        expect = fid
                    elif fid != expect:
                        problem("stream count id off", "%s: %s after %s" % (m, fid, expect))
                else:
                    if expect is not None and fid != expect + 1:
                        problem("stream id skipped or repeated", "%s: %s after %s" % (m, fid, expect))
                    expect = fid
                    if ev == "notification":
                        n = json.loads("\n".join(data))["notification"]
                        if n["id"] in seen:
                            problem("stream notification twice", "%s: %s" % (m, n["id"]))
                        seen.add(n["id"])
                        if n["type"] != "message.received":
                            with lock:
                                stream_nids[m].add(n["id"])
                if expect is not None:
                    last_ids[m] = expect
    finally:
        s.close()


def streamer(k):
    rnd = random.Random(A.seed * 300 + k)
    while not stop.is_set():
        try:
            stream_session(rnd)
        except OSError as e:
            problem("stream network error", str(e))
            time.sleep(0.5)


def sample():
    kb = {}
    with open("/proc/%d/status" % A.pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                kb[k] = int(v.split()[0])
    size = sum(os.path.getsize(A.db + s) for s in ("", "-wal") if os.path.exists(A.db + s))
    samples.append((time.monotonic() - T0, kb["VmRSS"], kb["VmHWM"], size))


def sampler():
    nxt = 0
    while not stop.wait(max(0, T0 + nxt - time.monotonic())):
        sample()
        if nxt % 30 == 0:
            t, rss, hwm, size = samples[-1]
            log("t=%3.0fs rss=%.1f MiB hwm=%.1f MiB db=%.0f MB events=%d reads=%d streams=%d problems=%d"
                % (t, rss / 1024, hwm / 1024, size / 1e6, stats["events"], stats["reads"],
                   stats["stream connects"], sum(problems.values())))
        nxt += 5


threads = [threading.Thread(target=ingester, args=(k,)) for k in range(4)]
threads += [threading.Thread(target=reader, args=(k, 2)) for k in range(2)]
threads += [threading.Thread(target=streamer, args=(k,)) for k in range(A.streams)]
threads.append(threading.Thread(target=sampler))
T0 = time.monotonic()
log("load for %d s (warm-up %d s): %g events/s, 2 feed readers, %d streams"
    % (A.seconds, A.warmup, A.rate, A.streams))
for t in threads:
    t.start()
try:
    time.sleep(A.seconds)
finally:
    stop.set()
    for t in threads:
        t.join()
LOAD_S = time.monotonic() - T0
sample()
load_end = samples[-1]

# ---- drain: windows close, then every delivery reaches sent or dead ----
closes = [parse_time(w[2]) for notes, wins in accepted.values() for w in wins]
if closes:
    wait = (max(closes) - datetime.now(timezone.utc)).total_seconds() + 3
    log("waiting %.0f s for the last message window to close" % max(wait, 0))
    time.sleep(min(max(wait, 0), 60))
deadline = time.monotonic() + 180
while True:
    busy = {s: len(host.json("GET", "/v1/deliveries?limit=1&status=" + s)[1]["items"])
            for s in ("pending", "sending", "failed")}
    if not any(busy.values()) or time.monotonic() > deadline:
        break
    time.sleep(1)
if any(busy.values()):
    problem("outbox not drained within 180 s", busy)
log("drained; checking %d events" % len(accepted))

# ---- check every accepted event ----
pool_conns = threading.local()


def check_event(eid):
    if not hasattr(pool_conns, "c"):
        pool_conns.c = Conn(KEY)
    st, view = pool_conns.c.json("GET", "/v1/events/" + eid)
    if st != 200:
        problem("event missing", "%s: %s" % (eid, st))
        return
    got = sorted((x["id"], x["member_id"], tuple(x["channels"])) for x in view["notifications"])
    if got != sorted(accepted[eid][0]):
        problem("event's notifications differ from its answer", eid)


with ThreadPoolExecutor(4) as ex:
    list(ex.map(check_event, list(accepted)))

# ---- check every member's feed: each notification once, none missing ----
expect_feed = collections.defaultdict(set)
expect_windows = collections.defaultdict(set)
expect_email = set()
for notes, wins in accepted.values():
    for nid, m, ch in notes:
        if "in_app" in ch:
            expect_feed[m].add(nid)
        if "email" in ch:
            expect_email.add(nid)
    for m, conv, closes_at in wins:
        expect_windows[m].add((conv, closes_at))
feed_items = window_items = 0
for m in MEMBERS:
    c = Conn(TOKENS[m])
    items, cursor = [], None
    while True:
        st, page = c.json("GET", "/v1/me/notifications?filter=all&limit=100"
                          + ("&cursor=" + cursor if cursor else ""))
        assert st == 200, page
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    ids = [x["id"] for x in items]
    dups = len(ids) - len(set(ids))
    if dups:
        problem("feed item twice", "%s: %d" % (m, dups))
    plain = {x["id"] for x in items if x["type"] != "message.received"}
    windows = [x for x in items if x["type"] == "message.received"]
    feed_items += len(plain)
    window_items += len(windows)
    for nid in expect_feed[m] - plain:
        problem("notification missing from feed", "%s: %s" % (m, nid))
    for nid in plain - expect_feed[m]:
        problem("feed item no answer announced", "%s: %s" % (m, nid))
    if len(windows) != len(expect_windows[m]):
        problem("message windows: feed items != windows opened",
                "%s: %d items, %d windows" % (m, len(windows), len(expect_windows[m])))
    for nid in stream_nids[m] - expect_feed[m]:
        problem("stream sent a notification no answer announced", "%s: %s" % (m, nid))
    for x in items:
        if x["id"] in desired and x["state"] != desired[x["id"]]:
            problem("state differs from the last PATCH", "%s: %s %s != %s"
                    % (m, x["id"], x["state"], desired[x["id"]]))
    st, cnt = c.json("GET", "/v1/me/notifications/count")
    unread = sum(1 for x in items if x["state"] == "unread")
    if cnt["unread"] != unread:
        problem("count != unread items", "%s: %s != %d" % (m, cnt["unread"], unread))

# ---- check deliveries against what the sink accepted and refused ----
dl, cursor = [], None
while True:
    st, page = host.json("GET", "/v1/deliveries?limit=100" + ("&cursor=" + cursor if cursor else ""))
    assert st == 200, page
    dl += page["items"]
    cursor = page["next_cursor"]
    if not cursor:
        break
sink_ok, sink_fail = collections.Counter(), collections.Counter()
with open(A.sink_log) as f:
    for line in f:
        what, _, mid = line.strip().partition(" ")
        (sink_ok if what == "ok" else sink_fail)[mid] += 1
by_nid = collections.Counter(d["notification_id"] for d in dl)
status = collections.Counter(d["status"] for d in dl)
for nid in expect_email:
    if by_nid[nid] != 1:
        problem("email deliveries per notification != 1", "%s: %d" % (nid, by_nid[nid]))
known = set()
retried = duplicated = 0
for d in dl:
    if d["channel"] != "email":
        problem("unexpected channel", d["id"])
        continue
    if d["notification_id"] not in expect_email and not d["event_id"].startswith("msg_"):
        problem("delivery for no announced email", d["id"])
    # A dead email has no message_id in the log; its Message-ID is made the
    # same way on every try (docs/api.md, "Email over SMTP").
    mid = d["message_id"] or "<herald.%d.%s@soak.example>" % (
        round(parse_time(d["created_at"]).timestamp() * 1000), d["id"][4:])
    known.add(mid)
    fails = [a for a in d["attempts"] if not a["ok"]]
    oks = [a for a in d["attempts"] if a["ok"]]
    if fails:
        retried += 1
    if any("451" not in a["answer"] for a in fails):
        problem("a failed attempt the sink did not refuse", "%s: %s" % (d["id"], fails))
    if sink_ok[mid] > 1:
        duplicated += 1
        problem("email accepted twice by the sink", "%s %s: %d" % (d["id"], mid, sink_ok[mid]))
    if d["status"] == "sent":
        if sink_ok[mid] == 0:
            problem("sent but the sink never accepted it", d["id"])
        if len(oks) != 1 or len(fails) != sink_fail[mid]:
            problem("sent: attempts != the sink's refusals + 1", "%s: %d ok, %d failed, sink refused %d"
                    % (d["id"], len(oks), len(fails), sink_fail[mid]))
    elif d["status"] == "dead":
        if oks or sink_ok[mid] or len(fails) != A.max_attempts or sink_fail[mid] != len(fails):
            problem("dead not explained by the sink's refusals", "%s: %d attempts, sink %d ok %d refused"
                    % (d["id"], len(d["attempts"]), sink_ok[mid], sink_fail[mid]))
    else:
        problem("delivery not terminal", "%s: %s" % (d["id"], d["status"]))
for mid in sink_ok:
    if mid not in known:
        problem("the sink accepted a mail Herald does not list", mid)
lost = (problems["notification missing from feed"] + problems["event missing"]
        + problems["email deliveries per notification != 1"]
        + problems["sent but the sink never accepted it"])

# ---- memory ----
sample()
after = [s for s in samples if s[0] >= A.warmup and s[0] <= load_end[0]]
warm = after[0] if after else samples[0]
growth = load_end[1] / warm[1] - 1
peak = max(s[1] for s in after) if after else load_end[1]
if growth >= 0.10:
    problem("RSS grew 10% or more after warm-up", "%.1f%%" % (growth * 100))
with open(os.path.join(os.path.dirname(A.sink_log), "rss.tsv"), "w") as f:
    f.write("t_s\tvmrss_kb\tvmhwm_kb\tdb_wal_bytes\n")
    for s in samples:
        f.write("%.0f\t%d\t%d\t%d\n" % s)

lat = sorted(latency)
pct = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000) if lat else (lambda q: 0)
rows = [
    ("load", "%.0f s (warm-up %.0f s)" % (LOAD_S, A.warmup)),
    ("events accepted (202)", "%d, %.1f /s, p50 %.1f ms, p99 %.1f ms"
     % (stats["events"], stats["events"] / LOAD_S, pct(0.5), pct(0.99))),
    ("repeats (200, same body) / conflicts (409)", "%d / %d" % (stats["repeats"], stats["conflicts"])),
    ("feed reads / PATCHes", "%d (%.1f /s) / %d" % (stats["reads"], stats["reads"] / LOAD_S, stats["patches"])),
    ("stream connects / resumed / resets", "%d / %d / %d"
     % (stats["stream connects"], stats["stream resumes"], stats["stream resets"])),
    ("streams closed by Herald (not failed)", "%d%s" % (stats["stream closed by Herald"], "".join(
        "\n      " + e for e in examples["closed"]))),
    ("feed items checked (plus window items)", "%d (+%d)" % (feed_items, window_items)),
    ("email deliveries", "%d: %s" % (len(dl), ", ".join("%s %d" % kv for kv in sorted(status.items())))),
    ("deliveries retried / sink refusals", "%d / %d" % (retried, sum(sink_fail.values()))),
    ("lost", "%d" % lost),
    ("duplicated", "%d" % (duplicated + problems["feed item twice"] + problems["stream notification twice"])),
    ("RSS at warm-up end (t=%.0f s)" % warm[0], "%.1f MiB" % (warm[1] / 1024)),
    ("RSS at load end (t=%.0f s)" % load_end[0], "%.1f MiB" % (load_end[1] / 1024)),
    ("RSS growth after warm-up", "%+.1f%% (max after warm-up %.1f MiB, VmHWM %.1f MiB)"
     % (growth * 100, peak / 1024, load_end[2] / 1024)),
    ("database + WAL at load end", "%.0f MB" % (load_end[3] / 1e6)),
]
print()
w = max(len(r[0]) for r in rows)
for k, v in rows:
    print("  %-*s  %s" % (w, k, v))
print()
if problems:
    print("FAILED checks:")
    for k, n in problems.items():
        print("  %s: %d, e.g. %s" % (k, n, examples[k][:3]))
    sys.exit(1)
print("all checks passed")
