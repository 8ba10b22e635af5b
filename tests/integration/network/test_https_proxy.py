"""Behind a corporate proxy: the product's requests sessions (identity through MSAL, Partner Center, app
registration, the alert webhook: all `smart_office.tls.requests_session`) and the Graph client send HTTPS
through HTTPS_PROXY — a CONNECT tunnel, TLS still verified end to end against the emulator's CA — and go
direct to hosts NO_PROXY names."""

from __future__ import annotations

import asyncio
import select
import socket
import socketserver
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

import msal
import pytest

from smart_office.clouds import cloud_from_endpoints
from smart_office.graph.client import GraphClient
from smart_office.tls import requests_session
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


class _TunnelHandler(socketserver.StreamRequestHandler):
    """One CONNECT: note the target, answer 200, then copy bytes both ways until either side closes."""

    def handle(self) -> None:
        request = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(request) < 2 or request[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return
        host, _, port = request[1].rpartition(":")
        self.server.tunnels.append(request[1])  # type: ignore[attr-defined]
        with socket.create_connection((host, int(port)), timeout=30) as upstream:
            self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.wfile.flush()
            sockets = [self.connection, upstream]
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    return
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (upstream if source is self.connection else self.connection).sendall(data)


class _Proxy(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _TunnelHandler)
        self.tunnels: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Proxy]:
    server = _Proxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", server.url)
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _customer_token(handle: EmulatorHandle) -> tuple[str, str]:
    """A Graph token for one customer, through the product's identity session (what TokenExchanger uses)."""
    cloud = cloud_from_endpoints(handle.endpoints)
    creds = handle.partner_credentials()
    tenant = next(c["tenant_id"] for c in handle.customers() if c["has_delegated_access"])
    app = msal.ConfidentialClientApplication(
        creds["client_id"],
        client_credential=creds["client_secret"],
        authority=cloud.authority(tenant),
        instance_discovery=False,
        http_client=requests_session(cloud.ca_bundle),
    )
    result = app.acquire_token_by_refresh_token(creds["refresh_token"], [GRAPH_SCOPE])
    assert "access_token" in result, result.get("error_description")
    return tenant, result["access_token"]


async def _secure_scores(handle: EmulatorHandle, tenant: str, token: str) -> dict:
    async def tokens(_tenant: str, _scope: str, _force: bool = False) -> str:
        return token

    async with GraphClient(cloud_from_endpoints(handle.endpoints), tokens) as graph:
        body, _, _ = await graph.get_json(tenant, f"{graph.cloud.graph_base}/security/secureScores?$top=1")
    return body


def _authority(handle: EmulatorHandle) -> str:
    return urlsplit(handle.identity).netloc


def _graph(handle: EmulatorHandle) -> str:
    return urlsplit(handle.graph).netloc


def test_identity_and_graph_go_through_https_proxy(emulator: EmulatorHandle, proxy: _Proxy) -> None:
    tenant, token = _customer_token(emulator)
    identity_tunnels = [t for t in proxy.tunnels if t == _authority(emulator)]
    assert identity_tunnels, proxy.tunnels

    before = len(proxy.tunnels)
    body = asyncio.run(_secure_scores(emulator, tenant, token))
    assert body["value"][0]["azureTenantId"] == tenant
    assert proxy.tunnels[before:]
    assert set(proxy.tunnels[before:]) == {_graph(emulator)}


def test_no_proxy_hosts_go_direct(
    emulator: EmulatorHandle, proxy: _Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    tenant, token = _customer_token(emulator)
    body = asyncio.run(_secure_scores(emulator, tenant, token))
    assert body["value"][0]["azureTenantId"] == tenant
    assert proxy.tunnels == []
