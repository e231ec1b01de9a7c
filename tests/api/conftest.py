"""Fixtures for Herald's API tests: a real `herald serve` on a loopback port.

One server per test session (with --test-clock) serves most tests; each test
gets its own workspace, so tests never see each other's data. Tests that
restart or kill a server start their own with `Herald(...)`.
"""
import base64
import hashlib
import queue
import socket
import threading
import hmac
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERALD_BIN = os.environ.get("HERALD_BIN", os.path.join(ROOT, "build", "herald"))
ADMIN_KEY = "hak_" + "a" * 40
# How long a herald may take to start listening; scripts/valgrind.sh raises
# it, as Herald starts several times slower under valgrind.
START_TIMEOUT = float(os.environ.get("HERALD_TEST_START_TIMEOUT", "15"))

# HERALD_TEST_STORE=postgresql runs every test on PostgreSQL: a throwaway
# server (scripts/pg.sh) starts with the session, and each database path a
# test names becomes a database of its own on it.
STORE = os.environ.get("HERALD_TEST_STORE", "sqlite")
PG = {"dir": None, "dsn": None, "made": set()}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_start():
    if PG["dsn"]:
        return PG["dsn"]
    d = tempfile.mkdtemp(prefix="herald-pg-")
    out = subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "start", d, str(free_port())],
                         check=True, capture_output=True, text=True)
    PG["dir"] = d
    PG["dsn"] = out.stdout.strip().rsplit("/", 1)[0] + "/"
    return PG["dsn"]


def pg_stop():
    if PG["dir"]:
        subprocess.run([os.path.join(ROOT, "scripts", "pg.sh"), "stop", PG["dir"]], check=False)
        shutil.rmtree(PG["dir"], ignore_errors=True)
        PG["dir"] = PG["dsn"] = None


def psql(dsn, sql):
    """Runs SQL on a PostgreSQL database; returns the rows as lists of text."""
    out = subprocess.run(["psql", dsn, "-qAtX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def database_for(path):
    """The --database value for a test's database path: the path itself on
    SQLite; on PostgreSQL, a database named after it, made empty the first
    time this session names it."""
    if STORE != "postgresql":
        return path
    base = pg_start()
    name = "t_" + hashlib.sha1(path.encode()).hexdigest()[:20]
    if name not in PG["made"]:
        psql(base + "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        psql(base + "postgres", "CREATE DATABASE %s" % name)
        PG["made"].add(name)
    return base + name


def db_exec(path, sql, params=()):
    """Runs one statement (with ?N parameters, integers only) on a test's
    database, with Herald stopped or not; returns the rows."""
    if STORE != "postgresql":
        import sqlite3
        con = sqlite3.connect(path)
        try:
            rows = con.execute(sql, params).fetchall()
            con.commit()
            return rows
        finally:
            con.close()
    text = re.sub(r"\?(\d+)", lambda m: str(int(params[int(m.group(1)) - 1])), sql)
    return [[int(v) if re.fullmatch(r"-?\d+", v) else v for v in row]
            for row in psql(database_for(path), text)]


def sqlite_only(reason):
    return pytest.mark.skipif(STORE != "sqlite", reason=reason)


class Herald:
    """A herald serve process on 127.0.0.1 with an ephemeral port."""

    def __init__(self, db, *args, env=None, log=None):
        self.db = db
        # The log may live apart from the database (a test that fills the
        # database's file system still wants to read it).
        self.log_path = log or db + ".log"
        self.args = list(args)
        self.env = dict(os.environ, HERALD_ADMIN_KEY=ADMIN_KEY, **(env or {}))
        self.proc = None
        self.url = None

    def start(self, timeout=None):
        timeout = timeout or START_TIMEOUT
        cmd = [HERALD_BIN, "serve", "--listen", "127.0.0.1:0", "--database", database_for(self.db),
               "--log-level", "warn", *self.args]
        # stderr goes to a file: a pipe nobody reads could fill and stall herald.
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log,
                                     env=self.env, text=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                self.url = m.group(1)
                return self
        self.proc.kill()
        self.proc.wait()
        with open(self.log_path) as f:
            raise RuntimeError("herald did not start: " + f.read()[-2000:])

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def kill(self):
        return self.stop(signal.SIGKILL)


class Client:
    """Thin HTTP helper: returns (status, json-or-text, response)."""

    def __init__(self, url, token=None):
        self.url = url
        self.token = token
        self.http = requests.Session()

    def call(self, method, path, json_body=None, token=None, data=None, headers=None,
             params=None):
        h = dict(headers or {})
        tok = token if token is not None else self.token
        if tok:
            h["Authorization"] = "Bearer " + tok
        if json_body is not None:
            data = json.dumps(json_body)
            h.setdefault("Content-Type", "application/json")
        r = self.http.request(method, self.url + path, data=data, headers=h, params=params,
                              timeout=30)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        return r.status_code, body, r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("POST", path, json_body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("PUT", path, json_body=body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("PATCH", path, json_body=body, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


class SSE:
    """A Server-Sent Events client on a raw socket, read by a background
    thread into a queue of events: {"event", "id", "data" (parsed JSON when
    it is JSON), "comment"}. Waiting on it waits for bytes from the server,
    never for a timer to run out (the timeout only bounds a failure)."""

    def __init__(self, url, token=None, last_event_id=None, query=None, headers=None):
        from urllib.parse import urlparse, urlencode
        u = urlparse(url)
        params = dict(query or {})
        qs = ("?" + urlencode(params)) if params else ""
        h = {"Host": u.netloc, "Accept": "text/event-stream"}
        if token:
            h["Authorization"] = "Bearer " + token
        if last_event_id is not None:
            h["Last-Event-ID"] = str(last_event_id)
        h.update(headers or {})
        self.sock = socket.create_connection((u.hostname, u.port), timeout=30)
        req = "GET /v1/me/stream%s HTTP/1.1\r\n" % qs + "".join(
            "%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
        self.sock.sendall(req.encode())
        self.events = queue.Queue()
        self.status = None
        self.head = b""
        self.closed = threading.Event()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("no answer to the stream request")

    def _read(self):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                d = self.sock.recv(65536)
                if not d:
                    break
                buf += d
            head, _, buf = buf.partition(b"\r\n\r\n")
            self.head = head
            self.status = int(head.split(b" ", 2)[1]) if head else 0
            self._ready.set()
            if self.status != 200:
                self.body = buf
                return
            while True:
                while b"\n\n" in buf:
                    raw, _, buf = buf.partition(b"\n\n")
                    self.events.put(self._parse(raw.decode()))
                d = self.sock.recv(65536)
                if not d:
                    break
                buf += d
        except OSError:
            pass
        finally:
            self._ready.set()
            self.closed.set()

    @staticmethod
    def _parse(raw):
        ev = {"event": "message", "id": None, "data": None, "comment": None}
        data = []
        for line in raw.split("\n"):
            if line.startswith(":"):
                ev["comment"] = line[1:].strip()
            elif line.startswith("event: "):
                ev["event"] = line[7:]
            elif line.startswith("id: "):
                ev["id"] = int(line[4:])
            elif line.startswith("data: "):
                data.append(line[6:])
            elif line.startswith("retry: "):
                ev["event"] = "retry"
        if data:
            text = "\n".join(data)
            try:
                ev["data"] = json.loads(text)
            except ValueError:
                ev["data"] = text
        return ev

    def next(self, timeout=10, skip=("retry",)):
        """The next event (heartbeats and `retry` skipped)."""
        while True:
            ev = self.events.get(timeout=timeout)
            if ev["event"] in skip or (ev["comment"] is not None and ev["data"] is None
                                       and ev["event"] == "message"):
                continue
            return ev

    def until(self, pred, timeout=10):
        """Events up to and including the first one pred accepts."""
        seen = []
        while True:
            ev = self.next(timeout)
            seen.append(ev)
            if pred(ev):
                return seen

    def drain(self):
        """Events already received, without waiting."""
        out = []
        while True:
            try:
                ev = self.events.get_nowait()
            except queue.Empty:
                return [e for e in out if e["event"] != "retry"]
            out.append(ev)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(5)


def recv_all(sock):
    """Everything a raw socket receives until the server closes it; closes
    the socket."""
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    finally:
        sock.close()


def parse_response(data):
    """(status, headers with lower-case names, body bytes) of one raw
    HTTP/1.1 answer."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in
               (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def sign_token(secret, claims, alg="HS256"):
    """A member token as a host backend would sign it."""
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), (header + "." + payload).encode(), hashlib.sha256).digest()
    return header + "." + payload + "." + b64url(sig)


_ids = itertools.count(1)


def unique(prefix):
    return "%s_%d_%s" % (prefix, next(_ids), uuid.uuid4().hex[:6])


class Workspace:
    """A fresh workspace with helpers for members, tokens and events."""

    def __init__(self, server_url):
        self.admin = Client(server_url, ADMIN_KEY)
        self.id = unique("ws")
        st, body, _ = self.admin.post("/v1/workspaces", {"id": self.id, "name": "Test practice",
                                                         "timezone": "Europe/Dublin"})
        assert st == 201, body
        self.key = body["api_key"]
        self.secret = body["signing_secret"]
        self.host = Client(server_url, self.key)
        self.url = server_url

    def member(self, member_id, role="practitioner", **fields):
        body = {"name": fields.pop("name", member_id.title()), "role": role}
        body.update(fields)
        st, out, _ = self.host.put("/v1/members/" + member_id, body)
        assert st in (200, 201), out
        return out

    def token(self, member_id):
        st, out, _ = self.host.post("/v1/members/%s/tokens" % member_id, {})
        assert st == 201, out
        return out["token"]

    def as_member(self, member_id):
        return Client(self.url, self.token(member_id))

    def post_event(self, event):
        return self.host.post("/v1/events", event)


@pytest.fixture(scope="session", autouse=True)
def store_server():
    """PostgreSQL for the session when the suite runs on it."""
    if STORE == "postgresql":
        pg_start()
    yield
    pg_stop()


@pytest.fixture(scope="session")
def server(store_server):
    tmp = tempfile.mkdtemp(prefix="herald-api-")
    h = Herald(os.path.join(tmp, "herald.db"), "--test-clock").start()
    yield h
    rc = h.stop()
    with open(h.db + ".log") as f:
        log = f.read()
    shutil.rmtree(tmp, ignore_errors=True)
    # A clean exit after the whole session: under AddressSanitizer a leak
    # or an error makes it non-zero, and the log says what.
    assert rc == 0, "herald exited %s:\n%s" % (rc, log[-4000:])


@pytest.fixture
def ws(server):
    return Workspace(server.url)


@pytest.fixture
def admin(server):
    return Client(server.url, ADMIN_KEY)


@pytest.fixture
def tmpdir_path():
    d = tempfile.mkdtemp(prefix="herald-t-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# ---- event builders ----

def appointment_event(event_type, staff_ids, *, event_id=None, actor=None, source="reception",
                      assignee_ids=(), client_staff_ids=(), starts_at="2026-11-24T14:30:00Z",
                      occurred_at="2026-11-21T09:30:00Z", **extra_data):
    data = {
        "appointment": {"id": unique("ap"), "starts_at": starts_at,
                        "ends_at": "2026-11-24T15:20:00Z", "staff_ids": list(staff_ids),
                        "service": {"id": "sv_1", "name": "Initial consult",
                                    "assignee_ids": list(assignee_ids)}},
        "client": {"id": "cl_1", "name": "Dana Reyes",
                   "assigned_staff_ids": list(client_staff_ids)},
    }
    data.update(extra_data)
    return {"id": event_id or unique("evt"), "type": event_type, "occurred_at": occurred_at,
            "source": source,
            "actor": actor or {"kind": "client", "id": "cl_1", "name": "Dana Reyes"},
            "data": data}


def feed_all(client):
    """Every item of a member's feed (filter=all), paged through."""
    items, cursor = [], None
    while True:
        params = {"filter": "all", "limit": "100"}
        if cursor:
            params["cursor"] = cursor
        st, page, _ = client.get("/v1/me/notifications", params=params)
        assert st == 200, page
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def recipients(outcome):
    return sorted(n["member_id"] for n in outcome["notifications"])


def skipped(outcome):
    return {s["member_id"]: s["reason"] for s in outcome["skipped"]}
