"""Small servers on 127.0.0.1 for tests: an SMTP server that keeps what it receives, an HTTP server that
records requests and answers a chosen status.

Use them as pytest fixtures from any test directory (tests/ is on sys.path through tests/conftest.py)::

    from support.servers import http_server, smtp_server  # noqa: F401 (fixtures)

    def test_mail(smtp_server):
        ...send to smtp_server.host, smtp_server.port...
        assert smtp_server.messages[0]["Subject"] == "..."

``free_port()`` gives a port nothing listens on (for "server down" cases). Each server listens on its own
free port, picked by the kernel, so tests and parallel runs do not collide.
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------
# SMTP
# ---------------------------------------------------------------------------

@dataclass
class ReceivedMail:
    """One message as the server got it: envelope and parsed message."""
    mail_from: str
    rcpt_tos: list
    message: email.message.EmailMessage

    def __getitem__(self, header: str):
        return self.message[header]

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class SMTPServer:
    """aiosmtpd on 127.0.0.1 in its own thread; ``messages`` lists what arrived, oldest first."""

    def __init__(self, port: int | None = None):
        from aiosmtpd.controller import Controller  # the venv has it (requirements.txt)

        self.host = LOOPBACK
        self.port = port or free_port()
        self.messages: list[ReceivedMail] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname=self.host, port=self.port)

    async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self._lock:
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def start(self) -> SMTPServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[ReceivedMail]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        with self._lock:
            return list(self.messages)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class HTTPServer:
    """http.server on 127.0.0.1 in a thread; ``requests`` lists what arrived, ``status`` is the answer
    (per path in ``statuses``, else ``status``), with a small JSON body, or the bytes ``bodies`` holds for
    the path."""
    host: str = LOOPBACK
    port: int = 0
    status: int = 200
    statuses: dict = field(default_factory=dict)
    bodies: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)

    def __post_init__(self):
        server = self
        lock = threading.Lock()
        self._lock = lock

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    server.requests.append(Request(self.command, self.path, dict(self.headers.items()), body))
                    status = server.statuses.get(self.path.split("?", 1)[0], server.status)
                    payload = server.bodies.get(self.path.split("?", 1)[0])
                if payload is None:
                    payload = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer  # noqa: N815

            def log_message(self, *_args):
                pass

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> HTTPServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def received(self, path: str | None = None, method: str | None = None) -> list:
        with self._lock:
            return [r for r in self.requests
                    if (path is None or r.path == path) and (method is None or r.method == method)]


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture
def smtp_server():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_server():
    server = HTTPServer().start()
    yield server
    server.stop()
