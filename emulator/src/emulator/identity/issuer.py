"""Token issuance: scopes to resource and permissions, consent and tenant-access checks (baked portfolio
faults and injected identity faults), and the access, id and refresh tokens themselves.

Consent model: the partner admin's interactive approval (authorize / device code) or the admin API's
partner credentials grant, in the partner tenant, the app's requiredResourceAccess plus any scopes the
request names. Customer tenants inherit that consent (the CSP pre-consent that AdminAgents/GDAP provides)
unless the portfolio or an injected fault says it was revoked there.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from emulator.context import EmulatorContext
from emulator.data.portfolio import ROLE_IDS
from emulator.identity.clients import ClientApp
from emulator.identity.errors import AadError
from emulator.identity.resources import GRAPH, OIDC_SCOPES, Resource, ResourceCatalogue
from emulator.tenants import Tenant
from emulator.tokens import b64url

REFRESH_TOKEN_LIFETIME = timedelta(days=90)
ACCESS_TOKEN_SECONDS = 3599
ID_TOKEN_SECONDS = 3600
AUTH_CODE_LIFETIME = timedelta(minutes=10)
DEVICE_CODE_SECONDS = 900
DEVICE_POLL_INTERVAL = 5
_PARTNER_ROLES = (ROLE_IDS["Global Administrator"], "b79fbf4d-3ef9-4689-8143-76b194e85509")  # GA + "User"
_TENANT_ACCESS_FAULTS = (
    "partner_blocked",
    "no_delegated_access",
    "conditional_access_blocked",
    "mfa_required",
    "consent_revoked",
)


@dataclass(frozen=True, slots=True)
class ScopeRequest:
    """The resource a token request targets and the permissions it names."""

    resource: Resource
    identifier: str
    values: tuple[str, ...]
    default: bool
    oidc: frozenset[str]
    all_resources: tuple[tuple[Resource, tuple[str, ...]], ...] = ()

    @property
    def wants_refresh_token(self) -> bool:
        return "offline_access" in self.oidc

    @property
    def wants_id_token(self) -> bool:
        return "openid" in self.oidc


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in user: the partner's admin (the only interactive user of the emulated cloud)."""

    oid: str
    upn: str
    name: str
    given_name: str
    family_name: str
    home_tenant: str


@dataclass
class Issued:
    """What a successful grant returns before serialisation."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None
    client_info: str | None = None
    resource: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Issuer:
    """Shared by the token, authorize and device-code endpoints."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        self.catalogue = ResourceCatalogue(ctx.endpoints.key_vault_resource)
        partner = ctx.portfolio.partner
        given, _, family = partner.user_display_name.partition(" ")
        self.user = User(
            oid=partner.user_object_id,
            upn=partner.user_principal_name,
            name=partner.user_display_name,
            given_name=given,
            family_name=family,
            home_tenant=partner.tenant_id,
        )

    @property
    def identity(self) -> str:
        return self.ctx.endpoints.identity

    def user_for(self, tenant: Tenant) -> User:
        """Who signs in at `tenant`: a direct tenant's own admin there (the partner has no access to it), the
        partner admin everywhere else (at home, or through delegated admin access)."""
        if not is_direct(tenant):
            return self.user
        oid = str(uuid.uuid5(uuid.UUID(tenant.tenant_id), "admin"))
        return User(
            oid=oid,
            upn=f"admin@{tenant.default_domain}",
            name=f"{tenant.display_name} Admin",
            given_name=tenant.display_name.split()[0],
            family_name="Admin",
            home_tenant=tenant.tenant_id,
        )

    def consent_tenant(self, tenant: Tenant | None) -> str:
        """Where an app's consent for `tenant` is recorded: a direct tenant's own, else the partner's."""
        return tenant.tenant_id if tenant is not None and is_direct(tenant) else self.ctx.partner_tenant_id

    def now(self) -> datetime:
        return self.ctx.clock.now()

    # -- tenants ------------------------------------------------------------------------------------------
    def tenant(self, name: str, *, endpoint: str, for_sign_in: bool = True) -> Tenant:
        """The tenant a `{tenant}` segment names; `common`/`organizations` mean the signed-in user's home."""
        lowered = name.lower()
        if lowered in ("common", "organizations") and for_sign_in:
            found: Tenant | None = self.ctx.tenants.partner
        else:
            found = self.ctx.tenants.resolve(name)
        if found is not None and self.ctx.faults.take(
            "identity", endpoint, found.tenant_id, ("tenant_not_found",)
        ):
            found = None
        if found is None:
            raise AadError(
                90002,
                f"Tenant '{name}' not found. Check to make sure you have the correct tenant ID and are signing into the "
                "correct cloud. Check with your subscription administrator, this may happen if there are no active "
                "subscriptions for the tenant.",
            )
        return found

    # -- scopes -------------------------------------------------------------------------------------------
    def parse_scopes(self, scope: str) -> ScopeRequest:
        """Parse a v2 `scope` parameter; the token is for the first resource named (Entra's rule)."""
        oidc: set[str] = set()
        per_resource: dict[str, tuple[Resource, str, list[str]]] = {}
        for item in scope.split():
            if item.lower() in OIDC_SCOPES:
                oidc.add(item.lower())
                continue
            resource, value, identifier = self.catalogue.split_scope(item)
            if resource is None:
                raise AadError(
                    500011,
                    f"The resource principal named {identifier} was not found in the tenant named "
                    f"{self.ctx.tenants.partner.display_name}. This can happen if the application has not been "
                    "installed by the administrator of the tenant or consented to by any user in the tenant. You might "
                    "have sent your authentication request to the wrong tenant.",
                )
            entry = per_resource.setdefault(resource.app_id, (resource, identifier, []))
            entry[2].append(value)
        if not per_resource:
            return ScopeRequest(GRAPH, GRAPH.uri, (), True, frozenset(oidc))
        checked: list[tuple[Resource, tuple[str, ...]]] = []
        for resource, _, values in per_resource.values():
            if ".default" in values and len(values) > 1:
                raise AadError(
                    70011,
                    f"The provided value for the input parameter 'scope' isn't valid. The scope "
                    f"'{scope}' can't combine '.default' with other scopes of the same resource.",
                )
            for value in values:
                if value != ".default" and resource.scope(value) is None:
                    raise AadError(
                        70011,
                        f"The provided value for the input parameter 'scope' isn't valid. The scope "
                        f"{resource.uri}/{value} isn't valid.",
                    )
            checked.append((resource, tuple(values)))
        resource, identifier, values = next(iter(per_resource.values()))
        default = values == [".default"]
        canonical = tuple(p.value for v in values if v != ".default" and (p := resource.scope(v)) is not None)
        return ScopeRequest(
            resource, identifier.rstrip("/"), canonical, default, frozenset(oidc), tuple(checked)
        )

    def parse_resource(self, resource_param: str, scope: str) -> ScopeRequest:
        """v1: `resource=` names the resource; permissions are everything consented (`.default`)."""
        resource = self.catalogue.find(resource_param)
        if resource is None:
            raise AadError(
                500011,
                f"The resource principal named {resource_param} was not found in the tenant named "
                f"{self.ctx.tenants.partner.display_name}. This can happen if the application has not been installed "
                "by the administrator of the tenant or consented to by any user in the tenant. You might have sent your "
                "authentication request to the wrong tenant.",
            )
        oidc = frozenset(s.lower() for s in scope.split() if s.lower() in OIDC_SCOPES) | {"offline_access"}
        return ScopeRequest(resource, resource_param.rstrip("/"), (), True, oidc)

    # -- consent ------------------------------------------------------------------------------------------
    def configured_permissions(self, client: ClientApp) -> list[tuple[Resource, list[str], list[str]]]:
        """The app's requiredResourceAccess by resource: (resource, delegated scopes, application roles)."""
        found = []
        for entry in client.required_resource_access:
            resource = self.catalogue.by_app_id(str(entry.get("resourceAppId", "")))
            if resource is None:
                continue
            scopes: list[str] = []
            roles: list[str] = []
            for access in entry.get("resourceAccess") or []:
                kind = access.get("type")
                permission = resource.by_id(str(access.get("id", "")), "Scope" if kind == "Scope" else "Role")
                if permission is not None:
                    (scopes if kind == "Scope" else roles).append(permission.value)
            found.append((resource, scopes, roles))
        return found

    def grant_consent(
        self, client: ClientApp, requested: ScopeRequest | None, tenant: Tenant | None = None
    ) -> None:
        """The partner admin (or, at a direct tenant, its own admin) consents tenant-wide to the app's static
        permissions and the requested scopes."""
        partner = self.consent_tenant(tenant)
        for resource, scopes, roles in self.configured_permissions(client):
            self.ctx.state.grant(partner, client.app_id, resource.app_id, "Scope", scopes)
            self.ctx.state.grant(partner, client.app_id, resource.app_id, "Role", roles)
        if requested is not None:
            for resource, values in requested.all_resources:
                explicit = [
                    p.value for v in values if v != ".default" and (p := resource.scope(v)) is not None
                ]
                self.ctx.state.grant(partner, client.app_id, resource.app_id, "Scope", explicit)
            oidc = [v for v in requested.oidc if v in {"openid", "profile", "email", "offline_access"}]
            self.ctx.state.grant(partner, client.app_id, GRAPH.app_id, "Scope", oidc)

    def delegated_permissions(
        self, client: ClientApp, request: ScopeRequest, tenant: Tenant | None = None
    ) -> list[str]:
        """The `scp` values for a delegated token, or AADSTS65001 when consent is missing."""
        consented = self.ctx.state.consented(
            self.consent_tenant(tenant), client.app_id, request.resource.app_id, "Scope"
        )
        if request.default:
            granted = [
                p.value
                for p in request.resource.scopes
                if p.value in consented and p.value != "offline_access"
            ]
        else:
            missing = [v for v in request.values if v not in consented]
            if missing:
                raise self.consent_required(client)
            granted = list(request.values)
            if request.resource is GRAPH:
                granted += [v for v in ("openid", "profile", "email") if v in request.oidc and v in consented]
        if not granted:
            raise self.consent_required(client)
        return granted

    def grant_admin_consent(self, client: ClientApp, tenant: Tenant) -> None:
        """A tenant's admin consents, for the whole tenant, to the app's configured permissions (application
        and delegated): the app's service principal is created there and the grants recorded there."""
        if self.ctx.state.service_principal_by_app_id(tenant.tenant_id, client.app_id) is None:
            self.ctx.state.put_service_principal(
                tenant.tenant_id,
                {
                    "id": str(uuid.uuid5(uuid.UUID(tenant.tenant_id), f"sp:{client.app_id}")),
                    "appId": client.app_id,
                    "displayName": client.display_name,
                    "appDisplayName": client.display_name,
                    "appOwnerOrganizationId": client.home_tenant,
                    "servicePrincipalType": "Application",
                    "servicePrincipalNames": [client.app_id],
                    "signInAudience": "AzureADMultipleOrgs",
                    "accountEnabled": True,
                    "tags": [],
                    "appRoles": [],
                    "oauth2PermissionScopes": [],
                    "deletedDateTime": None,
                },
            )
        for resource, scopes, roles in self.configured_permissions(client):
            self.ctx.state.grant(tenant.tenant_id, client.app_id, resource.app_id, "Scope", scopes)
            self.ctx.state.grant(tenant.tenant_id, client.app_id, resource.app_id, "Role", roles)

    def consent_required(self, client: ClientApp) -> AadError:
        return AadError(
            65001,
            f"The user or administrator has not consented to use the application with ID '{client.app_id}' named "
            f"'{client.display_name}'. Send an interactive authorization request for this user and resource.",
        )

    def app_roles(self, client: ClientApp, request: ScopeRequest, tenant: Tenant | None = None) -> list[str]:
        """The application permissions of an app-only token: those consented in a direct tenant by its admin,
        elsewhere the partner's (customers reach the partner's app through delegated admin access)."""
        where = (
            tenant.tenant_id if tenant is not None and tenant.customer and tenant.customer.is_direct else None
        )
        consented = self.ctx.state.consented(
            where or self.ctx.partner_tenant_id, client.app_id, request.resource.app_id, "Role"
        )
        return [p.value for p in request.resource.roles if p.value in consented]

    # -- tenant access ------------------------------------------------------------------------------------
    def check_delegated_access(
        self, client: ClientApp, tenant: Tenant, resource: Resource, endpoint: str
    ) -> None:
        """Raise the AADSTS error a partner user's token request at `tenant` meets (GDAP, CA, MFA, consent)."""
        injected = self.ctx.faults.take("identity", endpoint, tenant.tenant_id, _TENANT_ACCESS_FAULTS)
        kind = injected.kind if injected is not None else None
        customer = tenant.customer
        if kind == "partner_blocked":
            raise AadError(
                530034,
                f"Delegated admin access of user '{self.user.upn}' from partner tenant '{self.user.home_tenant}' is "
                "blocked because Microsoft detected risk on the partner account. Remediate the user's risk in Microsoft "
                "Entra ID Protection of the partner tenant.",
            )
        # A direct tenant is signed in to by its own admin (a partner's token is refused before, at redemption).
        no_access = (
            customer is not None and not customer.is_direct and not customer.has_delegated_access(self.now())
        )
        if kind == "no_delegated_access" or no_access:
            raise AadError(
                50020,
                f"User account '{self.user.upn}' from identity provider 'https://sts.windows.net/{self.user.home_tenant}/'"
                f" does not exist in tenant '{tenant.display_name}' and cannot access the application "
                f"'{client.app_id}'({client.display_name}) in that tenant. The account needs to be added as an external "
                "user in the tenant first. Sign out and sign in again with a different Microsoft Entra user account.",
            )
        baked = customer.baked_fault if customer is not None else None
        kind = kind or baked
        if kind == "conditional_access_blocked":
            raise AadError(
                53003,
                "Access has been blocked by Conditional Access policies. The access policy does not "
                "allow token issuance.",
            )
        if kind == "mfa_required":
            raise AadError(
                50076,
                "Due to a configuration change made by your administrator, or because you moved to a new location, you "
                f"must use multi-factor authentication to access '{resource.app_id}'.",
            )
        if kind == "consent_revoked":
            raise self.consent_required(client)

    def wids(self, tenant: Tenant) -> list[str]:
        """Directory role template ids the partner user holds in `tenant` (GDAP roles, DAP = Global Administrator)."""
        customer = tenant.customer
        if customer is None:
            return list(_PARTNER_ROLES)
        if customer.is_direct:
            return [ROLE_IDS["Global Administrator"]]
        now = self.now()
        roles: list[str] = [ROLE_IDS["Global Administrator"]] if customer.dap else []
        for relationship in customer.gdap:
            if relationship.is_active(now):
                roles += [r for r in relationship.role_ids if r not in roles]
        return roles

    # -- minting ------------------------------------------------------------------------------------------
    def _base_claims(
        self, aud: str, tenant: Tenant, client: ClientApp, auth: str, now_ts: int
    ) -> dict[str, Any]:
        return {
            "aud": aud,
            "iss": f"https://sts.windows.net/{tenant.tenant_id}/",
            "iat": now_ts - 300,
            "nbf": now_ts - 300,
            "exp": now_ts + ACCESS_TOKEN_SECONDS,
            "aio": _opaque(48),
            "app_displayname": client.display_name,
            "appid": client.app_id,
            "appidacr": {"none": "0", "secret": "1", "certificate": "2"}[auth],
            "rh": f"1.{_opaque(40)}.",
            "tenant_region_scope": tenant.region_scope,
            "tid": tenant.tenant_id,
            "uti": _opaque(22),
            "ver": "1.0",
            "xms_tcdt": 1_500_000_000 + int(uuid.UUID(tenant.tenant_id).int % 100_000_000),
        }

    def delegated_access_token(
        self,
        *,
        tenant: Tenant,
        client: ClientApp,
        auth: str,
        request: ScopeRequest,
        scp: list[str],
        amr: list[str],
    ) -> str:
        now_ts = self.ctx.clock.timestamp()
        claims = self._base_claims(request.identifier, tenant, client, auth, now_ts)
        user = self.user_for(tenant)
        claims.update(
            {
                "acct": 0,
                "acr": "1",
                "amr": amr,
                "family_name": user.family_name,
                "given_name": user.given_name,
                "idtyp": "user",
                "ipaddr": "127.0.0.1",
                "name": user.name,
                "oid": user.oid,
                "puid": f"1003{uuid.UUID(user.oid).int % 10**12:012X}",
                "scp": " ".join(scp),
                "sid": str(uuid.uuid5(uuid.UUID(user.oid), client.app_id)),
                "sub": _pairwise(user.oid, client.app_id),
                "unique_name": user.upn,
                "upn": user.upn,
                "wids": self.wids(tenant),
            }
        )
        if user.home_tenant != tenant.tenant_id:
            claims["idp"] = f"https://sts.windows.net/{user.home_tenant}/"
        return self.ctx.tokens.mint(claims)

    def app_access_token(
        self,
        *,
        tenant: Tenant,
        client: ClientApp,
        auth: str,
        request: ScopeRequest,
        roles: list[str],
        lifetime: int = ACCESS_TOKEN_SECONDS,
    ) -> str:
        now_ts = self.ctx.clock.timestamp()
        claims = self._base_claims(request.identifier, tenant, client, auth, now_ts)
        claims["exp"] = now_ts + lifetime
        sp_oid = self.service_principal_id(client, tenant)
        claims.update(
            {
                "idp": f"https://sts.windows.net/{tenant.tenant_id}/",
                "idtyp": "app",
                "oid": sp_oid,
                "sub": sp_oid,
            }
        )
        if roles:
            claims["roles"] = roles
        return self.ctx.tokens.mint(claims)

    def service_principal_id(self, client: ClientApp, tenant: Tenant) -> str:
        sp = self.ctx.state.service_principal_by_app_id(tenant.tenant_id, client.app_id)
        if sp is not None:
            return sp["id"]
        return str(uuid.uuid5(uuid.UUID(tenant.tenant_id), f"sp:{client.app_id}"))

    def id_token(self, *, tenant: Tenant, client: ClientApp, nonce: str | None, v1: bool = False) -> str:
        now_ts = self.ctx.clock.timestamp()
        user = self.user_for(tenant)
        claims: dict[str, Any] = {
            "aud": client.app_id,
            "iss": f"https://sts.windows.net/{tenant.tenant_id}/"
            if v1
            else f"{self.identity}/{tenant.tenant_id}/v2.0",
            "iat": now_ts - 300,
            "nbf": now_ts - 300,
            "exp": now_ts + ID_TOKEN_SECONDS,
            "name": user.name,
            "oid": user.oid,
            "preferred_username": user.upn,
            "rh": f"1.{_opaque(40)}.",
            "sub": _pairwise(user.oid, client.app_id),
            "tid": tenant.tenant_id,
            "uti": _opaque(22),
            "ver": "1.0" if v1 else "2.0",
        }
        if v1:
            claims.update({"upn": user.upn, "unique_name": user.upn, "amr": ["pwd", "mfa"]})
        if nonce:
            claims["nonce"] = nonce
        return self.ctx.tokens.mint(claims)

    def client_info(self, tenant: Tenant | None = None) -> str:
        user = self.user if tenant is None else self.user_for(tenant)
        return b64url(orjson.dumps({"uid": user.oid, "utid": user.home_tenant}))

    def new_refresh_token(
        self, client: ClientApp, *, amr: list[str], auth_time: int, tenant: Tenant | None = None
    ) -> str:
        """An opaque refresh token bound to the signed-in user (the partner admin, or a direct tenant's own admin
        when issued there) and `client`, valid 90 days on the emulator clock."""
        token = "1.A" + secrets.token_urlsafe(520)
        now = self.now()
        user = self.user if tenant is None else self.user_for(tenant)
        self.ctx.state.add_refresh_token(
            token,
            client.app_id,
            user.oid,
            now.timestamp(),
            (now + REFRESH_TOKEN_LIFETIME).timestamp(),
            {"amr": amr, "auth_time": auth_time, "home_tenant": user.home_tenant},
        )
        return token

    def issue_delegated(
        self,
        *,
        tenant: Tenant,
        client: ClientApp,
        auth: str,
        request: ScopeRequest,
        amr: list[str],
        auth_time: int,
        nonce: str | None = None,
        client_info: bool = False,
        endpoint: str,
        v1: bool = False,
    ) -> Issued:
        """Checks access and consent, then mints the delegated token set."""
        self.check_delegated_access(client, tenant, request.resource, endpoint)
        scp = self.delegated_permissions(client, request, tenant)
        access = self.delegated_access_token(
            tenant=tenant, client=client, auth=auth, request=request, scp=scp, amr=amr
        )
        # v2 names scopes with their resource (as in the documented response); v1 lists bare values.
        scope_text = (
            " ".join(scp)
            if v1
            else " ".join(v if v in OIDC_SCOPES else f"{request.resource.uri}/{v}" for v in scp)
        )
        return Issued(
            access_token=access,
            expires_in=ACCESS_TOKEN_SECONDS,
            scope=scope_text,
            refresh_token=self.new_refresh_token(client, amr=amr, auth_time=auth_time, tenant=tenant)
            if request.wants_refresh_token or v1
            else None,
            id_token=self.id_token(tenant=tenant, client=client, nonce=nonce, v1=v1)
            if request.wants_id_token
            else None,
            client_info=self.client_info(tenant) if client_info else None,
            resource=request.identifier,
        )


def is_direct(tenant: Tenant) -> bool:
    """A tenant the partner reads outside CSP (its own admin signs in there, its own consents count)."""
    return tenant.customer is not None and tenant.customer.is_direct


def _opaque(length: int) -> str:
    return secrets.token_urlsafe(length)[:length]


def _pairwise(oid: str, client_id: str) -> str:
    """Entra's `sub`: stable per (user, application)."""
    return b64url(hashlib.sha256(f"{oid}|{client_id}".encode()).digest())[:43]


def pkce_matches(verifier: str, challenge: str, method: str) -> bool:
    if method.upper() == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return secrets.compare_digest(computed, challenge)
    return secrets.compare_digest(verifier, challenge)
