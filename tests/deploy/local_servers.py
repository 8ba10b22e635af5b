"""Small real servers on 127.0.0.1 for the alerting tests: an HTTPS webhook receiver (its own CA, made
with trustme) and an SMTP receiver. They record what arrives; nothing leaves the machine."""

from __future__ import annotations

import json
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any


@dataclass
class WebhookReceiver:
    url: str
    ca_bundle: str
    received: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200


@contextmanager
def https_webhook(tmp_path: Path, path: str = "/hooks/secret-token-abc123") -> Iterator[WebhookReceiver]:
    """An HTTPS server on an ephemeral port whose certificate only the yielded CA bundle trusts."""
    import trustme

    ca = trustme.CA()
    ca_file = tmp_path / "webhook-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    receiver = WebhookReceiver(url="", ca_bundle=str(ca_file))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            receiver.received.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    **json.loads(self.rfile.read(length)),
                }
            )
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
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
class SmtpReceiver:
    port: int
    messages: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def smtp_server() -> Iterator[SmtpReceiver]:
    """A plain SMTP receiver (loopback only) that speaks just enough of RFC 5321 for smtplib."""
    receiver = SmtpReceiver(port=0)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            def reply(text: str) -> None:
                self.wfile.write(text.encode() + b"\r\n")

            reply("220 localhost test SMTP")
            envelope: dict[str, Any] = {"rcpt": []}
            lines: list[str] = []
            in_data = False
            while line := self.rfile.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if in_data:
                    if text == ".":
                        in_data = False
                        receiver.messages.append({**envelope, "data": "\n".join(lines)})
                        envelope, lines = {"rcpt": []}, []
                        reply("250 OK")
                    else:
                        lines.append(text[1:] if text.startswith("..") else text)
                    continue
                verb = text[:4].upper()
                if verb == "EHLO":
                    reply("250-localhost")
                    reply("250 8BITMIME")
                elif verb == "MAIL":
                    envelope["from"] = text[10:].strip("<> ")
                    reply("250 OK")
                elif verb == "RCPT":
                    envelope["rcpt"].append(text[8:].strip("<> "))
                    reply("250 OK")
                elif verb == "DATA":
                    in_data = True
                    reply("354 end with .")
                elif verb == "QUIT":
                    reply("221 bye")
                    return
                else:
                    reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
