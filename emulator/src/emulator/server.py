"""`emulator serve`: state, context, one uvicorn server on six sockets (one per service), the JSON line.

The ASGI root dispatches on the local port of the connection (`scope["server"]`), so each service is its
own origin, as at Microsoft. Service modules follow one convention: `build_app(ctx) -> ServiceApp`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import os
import signal
import socket
import sys
from datetime import timedelta
from typing import Any

import uvicorn
from starlette.responses import Response

from emulator.clock import EmulatorClock
from emulator.config import SERVICES, EmulatorConfig
from emulator.context import EmulatorContext, Endpoints, RequestInfo, ServiceApp, json_response
from emulator.data.portfolio import Portfolio
from emulator.faults import FaultRegistry, Receive, Scope, Send
from emulator.state import EmulatorState
from emulator.stats import RequestStats
from emulator.tenants import TenantDirectory
from emulator.tls import ensure_tls
from emulator.tokens import SigningKey, TokenService

log = logging.getLogger("emulator")

SERVICE_MODULES: dict[str, str] = {
    "identity": "emulator.identity",
    "graph": "emulator.graph.app",
    "partner_center": "emulator.partner_center",
    "key_vault": "emulator.keyvault",
    "admin": "emulator.admin",
    "power_bi": "emulator.power_bi",
}
_CLOCK_OFFSET_KEY = "clock_offset_seconds"


class PartnerCenterPlaceholder(ServiceApp):
    """Partner Center before `emulator/partner_center.py` exists: every path is an unknown resource."""

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return json_response(
            {"code": 404, "description": "Resource not found.", "data": [], "source": "PartnerFD"}, 404
        )


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """One listening socket per service: P..P+5, or ephemeral ports when `port` is 0."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for offset in range(len(SERVICES)):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port + offset if port else 0))
            sock.listen(2048)
            sock.setblocking(False)
            sockets.append(sock)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _url(host: str, port: int) -> str:
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def build_context(config: EmulatorConfig, ports: dict[str, int], ca_bundle: str) -> EmulatorContext:
    """The shared context (state opened, clock restored, portfolio built) for already-bound ports."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    state = EmulatorState(config.state_dir / "emulator.sqlite3")
    offset = float(state.get_meta(_CLOCK_OFFSET_KEY) or 0)
    clock = EmulatorClock(
        config.now,
        offset=timedelta(seconds=offset),
        running=config.running_clock,
        persist=lambda delta: state.set_meta(_CLOCK_OFFSET_KEY, str(delta.total_seconds())),
    )
    portfolio = Portfolio(config.seed, config.tenants, config.now, config.fault_profile)
    endpoints = Endpoints(**{name: _url(config.host, ports[name]) for name in SERVICES}, ca_bundle=ca_bundle)
    return EmulatorContext(
        config=config,
        endpoints=endpoints,
        clock=clock,
        state=state,
        portfolio=portfolio,
        tenants=TenantDirectory(portfolio),
        faults=FaultRegistry(state, config.seed),
        stats=RequestStats(clock.now()),
        tokens=TokenService(SigningKey.load_or_create(config.state_dir / "keys")),
    )


def build_services(ctx: EmulatorContext) -> dict[str, ServiceApp]:
    """Each service's app, from its module's `build_app(ctx)` (Partner Center: a placeholder until it exists)."""
    for name in SERVICES:
        module_name = SERVICE_MODULES[name]
        if importlib.util.find_spec(module_name) is None:
            ctx.services[name] = PartnerCenterPlaceholder(ctx, name)
            continue
        ctx.services[name] = importlib.import_module(module_name).build_app(ctx)
    return ctx.services


class PortDispatcher:
    """The ASGI root: picks the service by the local port the connection arrived on."""

    def __init__(self, apps_by_port: dict[int, ServiceApp]) -> None:
        self.apps_by_port = apps_by_port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        server = scope.get("server")
        app = self.apps_by_port.get(server[1]) if server else None
        if app is None:
            if scope["type"] == "http":
                await send(
                    {"type": "http.response.start", "status": 421, "headers": [(b"content-length", b"0")]}
                )
                await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)


class _AnnouncingServer(uvicorn.Server):
    """Prints the endpoint line once every socket accepts connections."""

    def __init__(self, config: uvicorn.Config, line: dict[str, Any]) -> None:
        super().__init__(config)
        self._line = line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if not self.should_exit:
            sys.stdout.write(json.dumps(self._line) + "\n")
            sys.stdout.flush()


class _QuietAbort(logging.Filter):
    """Deliberate mid-body aborts (the `reset` fault) are not errors worth a log line each."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def serve(config: EmulatorConfig) -> None:
    """Run until SIGTERM/SIGINT. Logs go to stderr; stdout carries only the JSON line."""
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("uvicorn.error").addFilter(_QuietAbort())
    tls = ensure_tls(config.state_dir)
    sockets = bind_sockets(config.host, config.port)
    ports = {name: sock.getsockname()[1] for name, sock in zip(SERVICES, sockets, strict=True)}
    ctx = build_context(config, ports, str(tls.ca_bundle))
    services = build_services(ctx)
    dispatcher = PortDispatcher({ports[name]: services[name] for name in SERVICES})
    uv_config = uvicorn.Config(
        dispatcher,
        ssl_certfile=str(tls.cert_chain),
        ssl_keyfile=str(tls.private_key),
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        timeout_keep_alive=120,  # long-lived client pools (benchmarks) should not pay a TLS handshake per burst
        server_header=False,
        date_header=True,
    )
    line = ctx.endpoints.line(ctx.partner_tenant_id, os.getpid())
    log.info(
        "emulator: %d customers, seed %d, clock %s, state %s",
        config.tenants,
        config.seed,
        ctx.clock.now().isoformat(),
        config.state_dir,
    )
    # uvicorn re-raises the signal that stopped it once it has shut down gracefully; these no-op handlers
    # receive it, so the process then exits normally (code 0) after closing its state.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    try:
        _AnnouncingServer(uv_config, line).run(sockets=sockets)
    finally:
        ctx.state.close()
    log.info("emulator stopped")
