"""What every service module builds on: the shared `EmulatorContext` and `ServiceApp`, the per-port ASGI app
that routes a request, counts it, applies transport faults and stamps the service's response headers.

A service module exposes `build_app(ctx: EmulatorContext) -> ServiceApp` (see `emulator.server`). Handlers
are ordinary Starlette endpoints (`async def handler(request) -> Response`); `request.scope["emulator"]` is the
`RequestInfo` of the request (service, route, tenant, request id, validated token claims).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from emulator.clock import EmulatorClock
from emulator.config import EmulatorConfig
from emulator.data.portfolio import Portfolio
from emulator.faults import (
    PLATFORM_DATA_KINDS,
    TRANSPORT_KINDS,
    FaultRegistry,
    Receive,
    Scope,
    Send,
    apply_transport_fault,
    mutate_body,
)
from emulator.state import EmulatorState
from emulator.stats import RequestStats
from emulator.tenants import TenantDirectory
from emulator.tokens import TokenService


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs of the services (no trailing slash) and the CA bundle path."""

    identity: str
    graph: str
    partner_center: str
    key_vault: str
    admin: str
    ca_bundle: str
    power_bi: str = ""

    @property
    def key_vault_resource(self) -> str:
        """The resource the vault names in its bearer challenge: the parent of its host (architecture.md §1)."""
        parts = urlsplit(self.key_vault)
        host = parts.hostname or ""
        parent = host.split(".", 1)[1] if "." in host else host
        return f"https://{parent}:{parts.port}" if parts.port else f"https://{parent}"

    def line(self, partner_tenant_id: str, pid: int) -> dict[str, Any]:
        """The JSON object `serve` prints on start."""
        return {
            "identity": self.identity,
            "graph": self.graph,
            "partner_center": self.partner_center,
            "key_vault": self.key_vault,
            "admin": self.admin,
            "power_bi": self.power_bi,
            "ca_bundle": self.ca_bundle,
            "partner_tenant_id": partner_tenant_id,
            "pid": pid,
        }


@dataclass
class EmulatorContext:
    """Everything a service needs; one per emulator process."""

    config: EmulatorConfig
    endpoints: Endpoints
    clock: EmulatorClock
    state: EmulatorState
    portfolio: Portfolio
    tenants: TenantDirectory
    faults: FaultRegistry
    stats: RequestStats
    tokens: TokenService
    services: dict[str, ServiceApp] = field(default_factory=dict)
    # Shared caches other modules may keep here (e.g. generated data pages), keyed by module name.
    extensions: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def partner_tenant_id(self) -> str:
        return self.tenants.partner.tenant_id


@dataclass(slots=True)
class RequestInfo:
    """Per-request facts the service layer fills in before the handler runs."""

    service: str
    route_name: str | None
    endpoint: str
    request_id: str
    client_request_id: str | None
    tenant: str | None = None
    claims: dict[str, Any] | None = None
    internal: bool = False

    @property
    def endpoint_names(self) -> tuple[str | None, str]:
        return (self.route_name, self.endpoint)


def json_response(
    data: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json; charset=utf-8",
) -> Response:
    """A JSON response serialised with orjson (fast; keys in insertion order)."""
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type=media_type)


def request_info(request: Request) -> RequestInfo:
    """The `RequestInfo` of a request served by a `ServiceApp`."""
    return request.scope["emulator"]


def header(scope: Scope, name: bytes) -> str | None:
    """A request header (lower-case name) from an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class ServiceApp:
    """One emulated service on its own port. Subclasses override the hooks to give it its own shape."""

    counted = True  # requests show up in admin /stats
    faultable = True  # transport faults may hit it

    def __init__(self, ctx: EmulatorContext, name: str, routes: Sequence[BaseRoute] = ()) -> None:
        self.ctx = ctx
        self.name = name
        self.routes: list[BaseRoute] = list(routes)

    def add_routes(self, routes: Sequence[BaseRoute]) -> None:
        self.routes.extend(routes)

    # -- hooks --------------------------------------------------------------------------------------------
    async def authenticate(self, scope: Scope, info: RequestInfo) -> Response | None:
        """Validate credentials before the handler; return a response to refuse the request."""
        return None

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        """The tenant whose data the request addresses (stats and fault matching)."""
        params = scope.get("path_params") or {}
        value = params.get("tenant") or params.get("tenant_id") or params.get("customer_id")
        return value.lower() if isinstance(value, str) else None

    def http_error(self, status: int, message: str, info: RequestInfo) -> Response:
        """A protocol-level refusal (wrong method, …) in this service's error shape."""
        code = {405: "Request_BadRequest"}.get(status, "BadRequest")
        return json_response({"error": {"code": code, "message": message or "Request not valid."}}, status)

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return json_response({"error": {"code": "NotFound", "message": "Resource not found."}}, 404)

    def error_payload(
        self, status: int, retry_after: str | None, info: RequestInfo
    ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        """Body + headers of a throttled/failed response in this service's error shape (transport faults).

        The default is Partner Center's (so `emulator/partner_center.py` need not override it): its 429 body
        differs from its generic error body {code, description, data, source} (examples/partnercenter_error_429.json).
        """
        if status == 429:
            seconds = retry_after or "1"
            body: dict[str, Any] = {
                "statusCode": 429,
                "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
            }
        else:
            body = {
                "code": 5000 if status != 504 else 5004,
                "description": "The service is temporarily unavailable. Try again later.",
                "data": [],
                "source": "PartnerFD",
            }
        return orjson.dumps(body), [(b"content-type", b"application/json; charset=utf-8")]

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        """Headers every response of this service carries (request ids and the like)."""
        return []

    # -- ASGI ---------------------------------------------------------------------------------------------
    def _match(self, scope: Scope) -> tuple[BaseRoute | None, dict[str, Any]]:
        partial: tuple[BaseRoute | None, dict[str, Any]] = (None, {})
        for route in self.routes:
            match, child = route.matches(scope)
            if match is Match.FULL:
                return route, child
            if match is Match.PARTIAL and partial[0] is None:
                partial = (route, child)
        return partial

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        route, child = self._match(scope)
        if route is not None:
            scope.update(child)
            scope["route"] = route
        info = RequestInfo(
            service=self.name,
            route_name=getattr(route, "name", None) if route is not None else None,
            endpoint=getattr(route, "path", "(unmatched)") if route is not None else "(unmatched)",
            request_id=str(uuid.uuid4()),
            client_request_id=header(scope, b"client-request-id"),
            internal=bool(scope.get("emulator.internal")),
        )
        scope["emulator"] = info
        scope["app"] = self
        scope.setdefault("state", {})
        status = 500
        extra: list[tuple[bytes, bytes]] | None = None

        async def stamped(message: Any) -> None:
            nonlocal status, extra
            if message["type"] == "http.response.start":
                status = message["status"]
                if extra is None:
                    extra = self.response_headers(info)
                if extra:
                    present = {k.lower() for k, _ in message.get("headers", ())}
                    message["headers"] = [
                        *message.get("headers", ()),
                        *(h for h in extra if h[0] not in present),
                    ]
            await send(message)

        try:
            refusal = await self.authenticate(scope, info)
            if info.tenant is None:
                info.tenant = self.tenant_of(scope, info)
            if refusal is not None:
                await refusal(scope, receive, stamped)
            elif route is None:
                await self.not_found(scope, info)(scope, receive, stamped)
            else:
                fault = None
                if self.faultable and self.ctx.faults.active:
                    kinds = ("throttle", "http_error", "slow") if info.internal else TRANSPORT_KINDS
                    fault = self.ctx.faults.take(
                        self.name, info.endpoint_names, info.tenant, kinds, path=scope.get("path")
                    )
                mutation = None
                if fault is None and self.faultable and self.ctx.faults.active:
                    mutation = self.ctx.faults.take(
                        self.name,
                        info.endpoint_names,
                        info.tenant,
                        PLATFORM_DATA_KINDS,
                        path=scope.get("path"),
                    )
                if mutation is not None:
                    self.ctx.stats.record_fault(self.name, mutation.kind)
                    await _serve_mutated(mutation, scope, receive, stamped, route.handle)
                elif fault is None:
                    try:
                        await route.handle(scope, receive, stamped)
                    except HTTPException as exc:  # e.g. 405 from a route matched on path but not method
                        await self.http_error(exc.status_code, str(exc.detail), info)(scope, receive, stamped)
                else:
                    self.ctx.stats.record_fault(self.name, fault.kind)
                    await apply_transport_fault(
                        fault,
                        scope,
                        receive,
                        stamped,
                        route.handle,
                        lambda code, retry: self.error_payload(code, retry, info),
                    )
        finally:
            if self.counted:
                self.ctx.stats.record(self.name, info.endpoint, info.tenant, status, batched=info.internal)

    async def call_internal(
        self,
        method: str,
        path: str,
        *,
        headers: list[tuple[bytes, bytes]] | None = None,
        body: bytes = b"",
        base_scope: Scope | None = None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Serve a request in-process through this service (for `$batch`): (status, headers, body)."""
        raw_path, _, query = path.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method.upper(),
            "scheme": "https",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": headers or [],
            "server": (base_scope or {}).get("server"),
            "client": (base_scope or {}).get("client"),
            "emulator.internal": True,
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        result: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                result["status"] = message["status"]
                result["headers"] = list(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                result["body"].append(message.get("body", b""))

        await self(scope, receive, capture)
        return result["status"], result["headers"], b"".join(result["body"])


async def _serve_mutated(
    fault: Any,
    scope: Scope,
    receive: Receive,
    send: Send,
    handle: Callable[[Scope, Receive, Send], Awaitable[None]],
) -> None:
    """Serve the route, then send its JSON body changed by a `mutate` fault (successful answers only)."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: Any) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await handle(scope, receive, capture)
    body = b"".join(chunks)
    status = int(start.get("status", 500))
    if 200 <= status < 300:
        body = mutate_body(fault, body)
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
