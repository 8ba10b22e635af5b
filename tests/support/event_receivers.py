"""Receivers for the tests that deliver (posture events, task-failure notifications), started by the test on
127.0.0.1: an HTTPS webhook (its own trustme CA, scripted answers such as 503 or 429 with Retry-After) and an
SMTP server (aiosmtpd). They record what arrives; nothing leaves the machine."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET_PATH = "/workflows/secret-sig-9f8e7d6c5b4a"


@dataclass
class HttpsReceiver:
    """What arrived (path and JSON body per request) and what to answer next (status, headers), then 200."""

    url: str
    ca_bundle: str
    received: list[dict[str, Any]] = field(default_factory=list)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r["body"] for r in self.received]


@contextmanager
def https_receiver(tmp_path: Path, path: str = SECRET_PATH) -> Iterator[HttpsReceiver]:
    import trustme

    ca = trustme.CA()
    ca_file = tmp_path / f"receiver-ca-{id(ca)}.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    receiver = HttpsReceiver(url="", ca_bundle=str(ca_file))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            with receiver.lock:
                receiver.received.append(
                    {"path": self.path, "content_type": self.headers["Content-Type"], "body": body}
                )
                status, headers = receiver.script.pop(0) if receiver.script else (200, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    receiver.url = f"https://127.0.0.1:{server.server_address[1]}{path}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpInbox:
    """Each message as (envelope recipients, parsed message); `senders` holds each one's envelope sender."""

    port: int
    messages: list[tuple[list[str], Message]] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)


@contextmanager
def smtp_inbox() -> Iterator[SmtpInbox]:
    """An aiosmtpd server on an ephemeral loopback port that keeps every message it is given."""
    import socket

    from aiosmtpd.controller import Controller

    inbox = SmtpInbox(port=0)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            inbox.senders.append(envelope.mail_from)
            inbox.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
