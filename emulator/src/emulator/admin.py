"""The admin API (architecture.md "Admin API", a stable contract): partner credentials, the clock, faults,
request statistics, the portfolio summary, health. Never faulted, never counted in /stats."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator.context import EmulatorContext, RequestInfo, ServiceApp, json_response
from emulator.data.determinism import stable_uuid
from emulator.data.summary import summary
from emulator.faults import FaultSpecError, Scope
from emulator.graph.directory import new_application, new_secret, seed_partner_directory
from emulator.identity import IdentityService
from emulator.identity.clients import find_client
from emulator.identity.resources import AAD_GRAPH, GRAPH, PARTNER_CENTER, Resource

PARTNER_APP_NAME = "Partner Smart Office (emulator)"
# What the pipeline asks for: delegated Graph security reads, GDAP and directory reads, Partner Center access.
PARTNER_APP_DELEGATED: dict[Resource, tuple[str, ...]] = {
    GRAPH: (
        "SecurityAlert.Read.All",
        "SecurityIncident.Read.All",
        "SecurityEvents.Read.All",
        "DelegatedAdminRelationship.Read.All",
        "Directory.Read.All",
        "User.Read",
        "offline_access",
        "openid",
        "profile",
    ),
    PARTNER_CENTER: ("user_impersonation",),
    # Legacy Azure AD Graph, as in Partner Center's Secure Application Model sample (MSOnline-style tools).
    AAD_GRAPH: ("Directory.AccessAsUser.All",),
}
PARTNER_APP_ROLES: dict[Resource, tuple[str, ...]] = {
    GRAPH: (
        "SecurityAlert.Read.All",
        "SecurityIncident.Read.All",
        "SecurityEvents.Read.All",
        "Directory.Read.All",
    ),
}


def _iso(ctx: EmulatorContext) -> str:
    return ctx.clock.now().isoformat().replace("+00:00", "Z")


def _error(status: int, message: str) -> Response:
    return json_response({"error": message}, status)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ValueError("the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the request body must be a JSON object")
    return body


class AdminService(ServiceApp):
    counted = False
    faultable = False

    def __init__(self, ctx: EmulatorContext) -> None:
        super().__init__(ctx, "admin")
        self.add_routes(
            [
                Route("/health", self.health, name="health"),
                Route(
                    "/partner-credentials",
                    self.partner_credentials,
                    methods=["POST"],
                    name="partner_credentials",
                ),
                Route("/clock", self.clock, name="clock"),
                Route("/clock/advance", self.advance, methods=["POST"], name="clock_advance"),
                Route("/faults", self.list_faults, name="faults"),
                Route("/faults", self.add_fault, methods=["POST"], name="faults_add"),
                Route("/faults", self.clear_faults, methods=["DELETE"], name="faults_clear"),
                Route("/faults/{id}", self.get_fault, name="fault"),
                Route("/faults/{id}", self.delete_fault, methods=["DELETE"], name="fault_delete"),
                Route("/stats", self.stats, name="stats"),
                Route("/stats", self.reset_stats, methods=["DELETE"], name="stats_reset"),
                Route("/portfolio", self.portfolio, name="portfolio"),
                Route("/portfolio/customers", self.customers, name="portfolio_customers"),
                Route("/portfolio/direct", self.direct_tenants, name="portfolio_direct"),
            ]
        )

    def tenant_of(self, scope: Scope, info: RequestInfo) -> str | None:
        return None

    def not_found(self, scope: Scope, info: RequestInfo) -> Response:
        return _error(404, f"no admin endpoint {scope.get('method')} {scope.get('path')}")

    async def health(self, request: Request) -> Response:
        return json_response({"status": "ok"})

    # -- partner credentials ------------------------------------------------------------------------------
    async def partner_credentials(self, request: Request) -> Response:
        """Register (or reuse) the partner app, add a fresh secret, consent, and mint a partner refresh token."""
        ctx = self.ctx
        identity = ctx.services["identity"]
        assert isinstance(identity, IdentityService)
        issuer = identity.issuer
        partner = ctx.tenants.partner
        now = ctx.clock.now()
        app = next(
            (a for a in ctx.state.applications(partner.tenant_id) if a["displayName"] == PARTNER_APP_NAME),
            None,
        )
        if app is None:
            app = new_application(partner, now)
            app.update(
                {
                    "displayName": PARTNER_APP_NAME,
                    "signInAudience": "AzureADMultipleOrgs",
                    "web": {**app["web"], "redirectUris": ["http://localhost"]},
                    "publicClient": {"redirectUris": ["http://localhost"]},
                }
            )
        # Reused or new, the app asks for exactly what the pipeline needs (state dirs outlive code changes), and
        # allows public-client flows as `register-app` leaves it (the device code consent signs in through them).
        app["requiredResourceAccess"] = _partner_app_access()
        app["isFallbackPublicClient"] = True
        secret = new_secret()
        key_id = str(uuid.uuid4())
        end = now + timedelta(days=730)
        ctx.state.add_password(app["id"], key_id, secret, now.timestamp(), end.timestamp())
        app["passwordCredentials"].append(
            {
                "customKeyIdentifier": None,
                "displayName": "admin partner-credentials",
                "endDateTime": _iso_of(end),
                "hint": secret[:3],
                "keyId": key_id,
                "secretText": None,
                "startDateTime": _iso_of(now),
            }
        )
        ctx.state.put_application(partner.tenant_id, app)
        sp = ctx.state.service_principal_by_app_id(partner.tenant_id, app["appId"])
        if sp is None:
            sp = {
                "id": _stable_id(ctx, "sp", app["appId"]),
                "appId": app["appId"],
                "displayName": PARTNER_APP_NAME,
                "appDisplayName": PARTNER_APP_NAME,
                "appOwnerOrganizationId": partner.tenant_id,
                "servicePrincipalType": "Application",
                "servicePrincipalNames": [app["appId"]],
                "signInAudience": "AzureADMultipleOrgs",
                "accountEnabled": True,
                "tags": [],
                "appRoles": [],
                "oauth2PermissionScopes": [],
                "deletedDateTime": None,
            }
            ctx.state.put_service_principal(partner.tenant_id, sp)
        seed_partner_directory(ctx)
        admin_agents = next(
            g for g in ctx.state.groups(partner.tenant_id) if g["displayName"] == "AdminAgents"
        )
        ctx.state.add_member(admin_agents["id"], sp["id"], "servicePrincipal")
        client = find_client(ctx.state, app["appId"])
        assert client is not None
        issuer.grant_consent(client, None)
        refresh_token = issuer.new_refresh_token(client, amr=["pwd", "mfa"], auth_time=ctx.clock.timestamp())
        return json_response(
            {
                "partner_tenant_id": partner.tenant_id,
                "client_id": app["appId"],
                "client_secret": secret,
                "refresh_token": refresh_token,
            }
        )

    # -- clock --------------------------------------------------------------------------------------------
    async def clock(self, request: Request) -> Response:
        return json_response(
            {
                "now": _iso(self.ctx),
                "start": _iso_of(self.ctx.clock.start),
                "offset_seconds": self.ctx.clock.offset.total_seconds(),
            }
        )

    async def advance(self, request: Request) -> Response:
        try:
            body = await _json_body(request)
        except ValueError as err:
            return _error(400, str(err))
        units = {k: body[k] for k in ("days", "hours", "minutes", "seconds") if k in body}
        unknown = set(body) - set(units)
        if (
            not units
            or unknown
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in units.values()
            )
        ):
            return _error(400, 'give {"days": n} and/or {"hours": n} (non-negative numbers)')
        self.ctx.clock.advance(timedelta(**units))
        return json_response({"now": _iso(self.ctx)})

    # -- faults -------------------------------------------------------------------------------------------
    async def add_fault(self, request: Request) -> Response:
        try:
            fault = self.ctx.faults.add(await _json_body(request), now=self.ctx.clock.now())
        except (FaultSpecError, ValueError) as err:
            return _error(400, str(err))
        return json_response(fault.to_json(), 201)

    async def list_faults(self, request: Request) -> Response:
        return json_response({"faults": [f.to_json() for f in self.ctx.faults.list()]})

    async def get_fault(self, request: Request) -> Response:
        found = next((f for f in self.ctx.faults.list() if f.id == request.path_params["id"]), None)
        return (
            json_response(found.to_json())
            if found
            else _error(404, "no such fault (it may have fired its count)")
        )

    async def delete_fault(self, request: Request) -> Response:
        if self.ctx.faults.delete(request.path_params["id"]):
            return Response(status_code=204)
        return _error(404, "no such fault (it may have fired its count)")

    async def clear_faults(self, request: Request) -> Response:
        return json_response({"deleted": self.ctx.faults.clear()})

    # -- stats --------------------------------------------------------------------------------------------
    async def stats(self, request: Request) -> Response:
        return json_response(self.ctx.stats.snapshot())

    async def reset_stats(self, request: Request) -> Response:
        self.ctx.stats.reset(self.ctx.clock.now())
        return Response(status_code=204)

    # -- portfolio ----------------------------------------------------------------------------------------
    async def portfolio(self, request: Request) -> Response:
        """The data generator's summary (emulator.data.summary), plus the clock and the partner admin."""
        body = summary(self.ctx.portfolio, self.ctx.clock.now())
        body["now"] = _iso(self.ctx)
        body["partner"]["admin_user_principal_name"] = self.ctx.portfolio.partner.user_principal_name
        return json_response(body)

    async def direct_tenants(self, request: Request) -> Response:
        """The partner's direct tenants (not CSP customers: Partner Center does not list them)."""
        return json_response(
            [
                {
                    "tenant_id": d.tenant_id,
                    "company_name": d.company_name,
                    "default_domain": d.default_domain,
                    "seats": d.seats,
                    "plan": d.plan.name,
                }
                for d in self.ctx.portfolio.direct_tenants
            ]
        )

    async def customers(self, request: Request) -> Response:
        now = self.ctx.clock.now()
        try:
            offset = int(request.query_params.get("offset", "0"))
            limit = int(request.query_params.get("limit", str(self.ctx.portfolio.tenants)))
        except ValueError:
            return _error(400, "offset and limit must be integers")
        rows = []
        for index in range(max(offset, 0), min(offset + max(limit, 0), self.ctx.portfolio.tenants)):
            c = self.ctx.portfolio.customer(index)
            rows.append(
                {
                    "index": c.index,
                    "tenant_id": c.tenant_id,
                    "company_name": c.company_name,
                    "default_domain": c.default_domain,
                    "custom_domain": c.custom_domain,
                    "seats": c.seats,
                    "plan": c.plan.name,
                    "relationship": c.relationship,
                    "access": c.access,
                    "assignment_gap": c.assignment_gap,
                    "listed": c.is_listed(now),
                    "has_delegated_access": c.has_delegated_access(now),
                    "can_read_security": c.can_read_security(now),
                    "baked_fault": c.baked_fault,
                }
            )
        return json_response({"customers": rows})


def _partner_app_access() -> list[dict[str, Any]]:
    """requiredResourceAccess of the partner app, with Microsoft's permission ids."""
    entries = []
    for resource in (
        *PARTNER_APP_DELEGATED,
        *(r for r in PARTNER_APP_ROLES if r not in PARTNER_APP_DELEGATED),
    ):
        access = [
            {"id": p.id, "type": "Scope"}
            for v in PARTNER_APP_DELEGATED.get(resource, ())
            if (p := resource.scope(v)) is not None
        ]
        access += [
            {"id": p.id, "type": "Role"}
            for v in PARTNER_APP_ROLES.get(resource, ())
            if (p := resource.role(v)) is not None
        ]
        entries.append({"resourceAppId": resource.app_id, "resourceAccess": access})
    return entries


def _iso_of(moment: Any) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _stable_id(ctx: EmulatorContext, *parts: object) -> str:
    return stable_uuid(ctx.config.seed, "admin", ctx.partner_tenant_id, *parts)


def build_app(ctx: EmulatorContext) -> AdminService:
    return AdminService(ctx)
