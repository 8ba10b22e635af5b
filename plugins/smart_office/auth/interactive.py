"""Interactive sign-ins: authorization code + PKCE with a localhost redirect, or device code for headless hosts.

The browser step is a callable so the same code serves a person (`webbrowser.open`) and a test that
plays the person against the emulator. MSAL builds the PKCE challenge, state and nonce; this module only
owns the loopback listener that receives the redirect.
"""

from __future__ import annotations

import http.server
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msal

log = logging.getLogger(__name__)

# Like Partner Center PowerShell v3: try a small range of loopback ports so a busy one is not fatal.
DEFAULT_REDIRECT_PORTS = range(8400, 8410)


class InteractiveSignInError(RuntimeError):
    """The sign-in did not complete (timeout, user cancelled, or the identity service refused)."""


class _RedirectHandler(http.server.BaseHTTPRequestHandler):
    server: _RedirectServer

    def do_GET(self) -> None:
        self._receive(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

    def do_POST(self) -> None:
        # response_mode=form_post: the code arrives in the body, not in a URL a proxy or history could keep.
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 1_000_000)).decode("utf-8", "replace")
        self._receive(dict(parse_qsl(body, keep_blank_values=True)))

    def _receive(self, params: dict[str, str]) -> None:
        if "code" not in params and "error" not in params:
            self.send_response(404)
            self.end_headers()
            return
        self.server.result = params
        ok = "error" not in params
        body = (
            "<html><body><h3>Partner Smart Office</h3><p>"
            + ("Sign-in complete. You can close this window." if ok else "Sign-in failed; see the terminal.")
            + "</p></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.server.done.set()

    def log_message(self, format: str, *args: Any) -> None:  # the query string carries the code: never log it
        return


class _RedirectServer(http.server.HTTPServer):
    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _RedirectHandler)
        self.result: dict[str, str] | None = None
        self.done = threading.Event()


def _bind(ports: Iterable[int]) -> _RedirectServer:
    for port in ports:
        try:
            return _RedirectServer(port)
        except OSError:
            continue
    raise InteractiveSignInError(f"no free loopback port in {list(ports)} for the sign-in redirect")


def sign_in_with_browser(
    app: msal.ClientApplication,
    scopes: list[str],
    *,
    open_browser: Callable[[str], object],
    ports: Iterable[int] = DEFAULT_REDIRECT_PORTS,
    timeout: float = 300.0,
    login_hint: str | None = None,
    prompt: str | None = "select_account",
) -> dict[str, Any]:
    """Authorization code flow with PKCE and form_post; the browser posts the code to http://localhost:<port>.

    Returns MSAL's result dict.
    """
    server = _bind(ports)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, name="smart-office-redirect", daemon=True)
    thread.start()
    try:
        flow = app.initiate_auth_code_flow(
            scopes,
            redirect_uri=f"http://localhost:{port}",
            login_hint=login_hint,
            prompt=prompt,
            response_mode="form_post",
        )
        if "auth_uri" not in flow:
            raise InteractiveSignInError(f"could not start the sign-in: {flow.get('error')}")
        open_browser(flow["auth_uri"])
        if not server.done.wait(timeout):
            raise InteractiveSignInError(f"no sign-in completed within {timeout:.0f}s")
        assert server.result is not None
        if "error" in server.result:
            raise InteractiveSignInError(
                f"sign-in refused: {server.result.get('error')}: {server.result.get('error_description', '')[:300]}"
            )
        try:
            return app.acquire_token_by_auth_code_flow(flow, server.result)
        except ValueError as exc:  # state mismatch and similar protocol violations
            raise InteractiveSignInError(f"sign-in response rejected: {exc}") from None
    finally:
        server.shutdown()
        server.server_close()


def sign_in_with_device_code(
    app: msal.PublicClientApplication,
    scopes: list[str],
    *,
    show: Callable[[dict[str, Any]], object],
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Device code flow: `show` receives the flow (message, user_code, verification_uri) for the person."""
    flow = app.initiate_device_flow(scopes=scopes)
    if "user_code" not in flow:
        raise InteractiveSignInError(
            f"could not start the device code flow: {flow.get('error_description', flow)}"
        )
    flow["expires_at"] = min(flow.get("expires_at", 0) or float("inf"), time.time() + timeout)
    show(flow)
    return app.acquire_token_by_device_flow(flow)


def free_port() -> int:
    """An unused loopback port (tests)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
