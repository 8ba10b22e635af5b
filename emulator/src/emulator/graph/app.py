"""The Graph service: `/v1.0` routing, bearer validation (signature, lifetime, audience, tenant), permission
checks per route, Graph's error shape and response headers.

Adding endpoints: create a module listed in `GRAPH_MODULES` that defines `routes(ctx) -> list[BaseRoute]`,
built with `graph_route()`; `build_app` collects every listed module that exists. Handlers read the caller
with `graph_claims(request)` / `graph_tenant(request)`, answer with `graph_json()` / `graph_error()`, and
consult data-level faults with `ctx.faults.take_for(request.scope, {"empty_page"})`. `$batch` can re-enter
the service with `GraphService.call_internal()` (`request.scope["app"]`), which applies auth, faults and stats
per inner request.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp, header, request_info
from emulator.faults import Scope
from emulator.identity.resources import GRAPH, GRAPH_APP_ID
from emulator.tenants import Tenant
from emulator.tokens import BearerError, bearer_from_header

GRAPH_MODULES: tuple[str, ...] = (
    "emulator.graph.directory",
    "emulator.graph.security",
    "emulator.graph.relationships",
    "emulator.graph.contracts",
    "emulator.graph.batch",
)
VERSIONS = ("v1.0", "beta")
ODATA_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)
GRAPH_AUDIENCES = frozenset(
    {GRAPH_APP_ID, *GRAPH.identifier_uris, *(u.rstrip("/") for u in GRAPH.identifier_uris)}
)
_DIAGNOSTIC = b'{"ServerInfo":{"DataCenter":"West Europe","Slice":"E","Ring":"5","ScaleUnit":"003","RoleInstance":"AM2PEPF0001A2B3"}}'


class GraphRoute(Route):
    """A `/v1.0` route with the permissions that allow it: delegated `scp` values or application `roles`.

    Empty `permissions` means any valid Graph token is enough.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] = ("GET",),
        name: str | None = None,
        permissions: Iterable[str] = (),
        app_permissions: Iterable[str] | None = None,
        delegated_only: bool = False,
    ) -> None:
        super().__init__(f"/v1.0{path}", endpoint, methods=list(methods), name=name)
        self.delegated = frozenset(p.lower() for p in permissions)
        self.application = frozenset(
            p.lower() for p in (permissions if app_permissions is None else app_permissions)
        )
        self.delegated_only = delegated_only

    def allows(self, claims: dict[str, Any]) -> bool:
        if "scp" in claims:
            return not self.delegated or bool(self.delegated & {s.lower() for s in claims["scp"].split()})
        if self.delegated_only:
            return True  # the handler answers with Graph's own "delegated only" error
        return not self.application or bool(self.application & {r.lower() for r in claims.get("roles", ())})


def graph_route(path: str, endpoint: Callable[..., Any], **kwargs: Any) -> GraphRoute:
    """A Graph route under /v1.0 (`path` without the version, e.g. "/security/alerts_v2")."""
    return GraphRoute(path, endpoint, **kwargs)


def graph_date(ctx: EmulatorContext) -> str:
    """`innerError.date` as Graph writes it (no zone designator), on the emulator clock."""
    return ctx.clock.now().strftime("%Y-%m-%dT%H:%M:%S")


def graph_error_body(
    ctx: EmulatorContext, info: RequestInfo, code: str, message: str, inner: dict[str, Any] | None = None
) -> dict[str, Any]:
    inner_error = {
        **(inner or {}),
        "date": graph_date(ctx),
        "request-id": info.request_id,
        "client-request-id": info.client_request_id or info.request_id,
    }
    return {"error": {"code": code, "message": message, "innerError": inner_error}}


def graph_error(
    request: Request, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    """An error in Graph's shape: {"error": {"code", "message", "innerError": {date, request-id, client-request-id}}}."""
    ctx: EmulatorContext = request.scope["app"].ctx
    body = graph_error_body(ctx, request_info(request), code, message)
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def graph_json(
    request: Request, body: Any, status: int = 200, *, headers: dict[str, str] | None = None
) -> Response:
    """A Graph OData JSON response."""
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=ODATA_JSON)


def graph_claims(request: Request) -> dict[str, Any]:
    """Validated claims of the caller's token."""
    claims = request_info(request).claims
    assert claims is not None, "graph_claims() outside an authenticated Graph route"
    return claims


def graph_tenant(request: Request) -> Tenant:
    """The tenant the caller's token is for (the tenant whose data the request addresses)."""
    ctx: EmulatorContext = request.scope["app"].ctx
    tenant = ctx.tenants.by_id(graph_claims(request)["tid"])
    assert tenant is not None
    return tenant


def odata_context(ctx: EmulatorContext, fragment: str) -> str:
    return f"{ctx.endpoints.graph}/v1.0/$metadata#{fragment}"


class GraphService(ServiceApp):
    def __init__(self, ctx: EmulatorContext, routes: Sequence[BaseRoute] = ()) -> None:
        super().__init__(ctx, "graph", routes)
        self._challenge = (
            f'Bearer realm="", authorization_uri="{ctx.endpoints.identity}/common/oauth2/authorize", '
            f'client_id="{GRAPH_APP_ID}"'
        )

    def _refuse(self, info: RequestInfo, status: int, code: str, message: str) -> Response:
        body = graph_error_body(self.ctx, info, code, message)
        headers = {"WWW-Authenticate": self._challenge} if status == 401 else None
        return Response(
            orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
        )

    async def authenticate(self, scope: Scope, info: RequestInfo) -> Response | None:
        route = scope.get("route")
        if route is None:
            return None  # unknown path: not_found answers, as Graph does, before looking at the token
        token = bearer_from_header(header(scope, b"authorization"))
        try:
            claims = self.ctx.tokens.validate(
                token, audiences=GRAPH_AUDIENCES, now=self.ctx.clock.timestamp()
            )
        except BearerError as err:
            return self._refuse(info, 401, "InvalidAuthenticationToken", err.message)
        if self.ctx.tenants.by_id(claims["tid"]) is None:
            return self._refuse(
                info, 401, "InvalidAuthenticationToken", "Access token validation failure. Invalid tenant."
            )
        info.claims = claims
        info.tenant = claims["tid"]
        if isinstance(route, GraphRoute) and not route.allows(claims):
            return self._refuse(
                info, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
            )
        return None

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        return info.tenant or self.ctx.tokens.peek_tenant(bearer_from_header(header(scope, b"authorization")))

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        segments = [s for s in scope.get("path", "").split("/") if s]
        if not segments or segments[0] not in VERSIONS:
            return self._refuse(
                info, 400, "BadRequest", f"Invalid version: {segments[0] if segments else ''}"
            )
        segment = segments[1] if len(segments) > 1 else ""
        return self._refuse(info, 400, "BadRequest", f"Resource not found for the segment '{segment}'.")

    def error_payload(
        self, status: int, retry_after: str | None, info: RequestInfo
    ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if status == 429:
            # examples/graph_v1_error_429_throttled.json
            body: dict[str, Any] = {
                "error": {
                    "code": "TooManyRequests",
                    "innerError": {
                        "code": "429",
                        "date": graph_date(self.ctx),
                        "message": "Please retry after",
                        "request-id": info.request_id,
                        "status": "429",
                    },
                    "message": "Please retry again later.",
                }
            }
        else:
            code, message = {
                500: ("generalException", "An unspecified error has occurred."),
                502: ("BadGateway", "The server received an invalid response from an upstream server."),
                503: (
                    "serviceNotAvailable",
                    "The service is temporarily unavailable for maintenance or is overloaded. "
                    "You may repeat the request after a delay.",
                ),
                504: (
                    "GatewayTimeout",
                    "The server, while acting as a proxy, did not receive a timely response from "
                    "the upstream server.",
                ),
            }.get(status, ("generalException", "An unspecified error has occurred."))
            body = graph_error_body(self.ctx, info, code, message)
        return orjson.dumps(body), [(b"content-type", b"application/json")]

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        return [
            (b"request-id", info.request_id.encode()),
            (b"client-request-id", (info.client_request_id or info.request_id).encode("latin-1")),
            (b"x-ms-ags-diagnostic", _DIAGNOSTIC),
            (b"strict-transport-security", b"max-age=31536000"),
            (b"cache-control", b"no-cache"),
        ]


def build_app(ctx: EmulatorContext) -> GraphService:
    """The Graph service with the routes of every module in GRAPH_MODULES that exists."""
    service = GraphService(ctx)
    for module_name in GRAPH_MODULES:
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        service.add_routes(module.routes(ctx))
    return service
