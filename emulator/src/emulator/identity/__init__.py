"""The identity service: the shape of login.microsoftonline.com (discovery, authorize, device code, token v1/v2)."""

from __future__ import annotations

import orjson
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp
from emulator.faults import Scope
from emulator.identity.discovery import DiscoveryEndpoints
from emulator.identity.errors import AadError, aad_error_body
from emulator.identity.interactive import InteractiveEndpoints
from emulator.identity.issuer import Issuer
from emulator.identity.token import TokenEndpoint

_ESTS = b"2.1.19381.6 - SEC ProdSlices"


class IdentityService(ServiceApp):
    def __init__(self, ctx: EmulatorContext) -> None:
        self.issuer = Issuer(ctx)
        discovery = DiscoveryEndpoints(self.issuer)
        interactive = InteractiveEndpoints(self.issuer)
        token = TokenEndpoint(self.issuer)
        super().__init__(
            ctx,
            "identity",
            [
                Route("/common/discovery/instance", discovery.instance_discovery, name="instance_discovery"),
                Route("/devicelogin", interactive.devicelogin, name="devicelogin"),
                Route("/error", interactive.error_page, name="error_page"),
                Route(
                    "/{tenant}/v2.0/.well-known/openid-configuration",
                    discovery.openid_configuration_v2,
                    name="openid_configuration",
                ),
                Route(
                    "/{tenant}/.well-known/openid-configuration",
                    discovery.openid_configuration_v1,
                    name="openid_configuration_v1",
                ),
                Route("/{tenant}/discovery/v2.0/keys", discovery.keys, name="keys"),
                Route("/{tenant}/discovery/keys", discovery.keys, name="keys_v1"),
                Route("/{tenant}/oauth2/v2.0/authorize", interactive.authorize, name="authorize"),
                Route("/{tenant}/adminconsent", interactive.adminconsent, name="adminconsent"),
                Route("/{tenant}/v2.0/adminconsent", interactive.adminconsent, name="adminconsent_v2"),
                Route(
                    "/{tenant}/oauth2/v2.0/devicecode",
                    interactive.devicecode,
                    methods=["POST"],
                    name="devicecode",
                ),
                Route("/{tenant}/oauth2/v2.0/token", token.token_v2, methods=["POST"], name="token"),
                Route("/{tenant}/oauth2/token", token.token_v1, methods=["POST"], name="token_v1"),
                Route("/{tenant}/oauth2/v2.0/logout", interactive.logout, name="logout"),
            ],
        )

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        name = (scope.get("path_params") or {}).get("tenant")
        if not isinstance(name, str):
            return None
        if name.lower() in ("common", "organizations"):
            return self.ctx.partner_tenant_id
        tenant = self.ctx.tenants.resolve(name)
        return tenant.tenant_id if tenant else name.lower()

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return HTMLResponse("<html><body><h1>404 - Not Found</h1></body></html>", status_code=404)

    def error_payload(
        self, status: int, retry_after: str | None, info: RequestInfo
    ) -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if status == 429:
            # Entra's throttling answer is a bare text body (MSAL .NET issue #2855: "ResponseBody: Too Many Requests").
            return b"Too Many Requests", [(b"content-type", b"text/plain; charset=utf-8")]
        err = AadError(90033, "A transient error has occurred. Please try again.", status=status)
        body = aad_error_body(
            err,
            now=self.ctx.clock.now(),
            identity=self.ctx.endpoints.identity,
            correlation_id=info.client_request_id,
            trace_id=info.request_id,
        )
        return orjson.dumps(body), [(b"content-type", b"application/json; charset=utf-8")]

    def response_headers(self, info: RequestInfo) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-ms-request-id", info.request_id.encode()),
            (b"x-ms-ests-server", _ESTS),
            (b"p3p", b'CP="DSP CUR OTPi IND OTRi ONL FIN"'),
            (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
            (b"x-content-type-options", b"nosniff"),
        ]
        if info.client_request_id:
            headers.append((b"client-request-id", info.client_request_id.encode("latin-1")))
        return headers


def build_app(ctx: EmulatorContext) -> IdentityService:
    return IdentityService(ctx)
