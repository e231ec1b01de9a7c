"""A real SMTP server for the tests (Debian's python3-aiosmtpd), on loopback,
that keeps what arrives and answers as each test scripts it.

  peer = SmtpPeer(tls="starttls"|"smtps"|None, auth=("user", "pw")).start()
  peer.messages          -> [Arrived(peer=(ip, port), mail_from, rcpt, raw, msg)]
  peer.script[address]   =  [451, 451]  # RCPT replies to give first, then 250
  peer.stop()
"""
import email
import email.policy
import os
import socket
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

REPLIES = {
    421: "421 4.3.0 Service closing",
    450: "450 4.2.0 Mailbox busy",
    451: "451 4.3.0 Try again later",
    550: "550 5.1.1 No such user",
    553: "553 5.1.3 Bad address",
}


@dataclass
class Arrived:
    peer: tuple
    mail_from: str
    rcpt: list
    raw: bytes
    msg: email.message.EmailMessage


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 and localhost."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Handler:
    def __init__(self, peer):
        self.peer = peer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.peer.lock:
            plan = self.peer.script.get(address)
            code = plan.pop(0) if plan else 250
        if code != 250:
            return REPLIES[code]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.peer.lock:
            self.peer.messages.append(Arrived(tuple(session.peer), envelope.mail_from,
                                              list(envelope.rcpt_tos), raw, msg))
            self.peer.ehlo_names.add(session.host_name)
        return "250 Message accepted for delivery"


class SmtpPeer:
    def __init__(self, tls=None, auth=None):
        self.tls = tls
        self.auth = auth
        self.messages = []
        self.script = {}
        self.logins = []
        self.ehlo_names = set()
        self.lock = threading.Lock()
        self.dir = tempfile.mkdtemp(prefix="herald-smtp-")
        self.cert = None
        self.port = free_port()
        self.controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login.decode(), auth_data.password.decode()) == self.auth
        with self.lock:
            self.logins.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535

    def start(self):
        kwargs = {}
        if self.tls:
            self.cert, key = make_cert(self.dir)
            ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            ctx.load_cert_chain(self.cert, key)
            if self.tls == "smtps":
                kwargs["ssl_context"] = ctx
            else:
                kwargs["tls_context"] = ctx
                kwargs["require_starttls"] = True
        if self.auth:
            kwargs["authenticator"] = self._authenticate
            kwargs["auth_required"] = True
            # aiosmtpd only sees STARTTLS as TLS; implicit TLS is TLS anyway.
            kwargs["auth_require_tls"] = self.tls == "starttls"
        self.controller = Controller(Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost", **kwargs)
        self.controller.start()
        return self

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("smtps" if self.tls == "smtps" else "smtp", self.port)

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def connections(self):
        """How many TCP connections delivered the messages (by client port)."""
        with self.lock:
            return len({m.peer for m in self.messages})
