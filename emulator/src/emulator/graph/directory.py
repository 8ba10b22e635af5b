"""Directory objects for an idempotent app-registration script: applications (+ passwords, certificates),
service principals, groups and members, organization, me.

Applications created here are real clients of the identity service: their requiredResourceAccess drives
`.default`, their secrets and certificates authenticate. Microsoft's first-party service principals (Graph,
Partner Center, …) exist in every tenant with their published permissions; the partner tenant has the CSP
groups AdminAgents, HelpdeskAgents and SalesAgents, with the partner admin in AdminAgents.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import string
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.data.determinism import stable_uuid
from emulator.graph.app import graph_claims, graph_error, graph_json, graph_route, graph_tenant, odata_context
from emulator.identity.resources import FIRST_PARTY_CLIENTS, RESOURCES, Resource
from emulator.tenants import Tenant

APP_READ = (
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
)
APP_WRITE = ("Application.ReadWrite.All", "Directory.AccessAsUser.All")
APP_WRITE_ROLES = ("Application.ReadWrite.All",)
GROUP_READ = (
    "Group.Read.All",
    "Group.ReadWrite.All",
    "GroupMember.Read.All",
    "GroupMember.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
)
MEMBER_WRITE = (
    "GroupMember.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
)
CSP_GROUPS = ("AdminAgents", "HelpdeskAgents", "SalesAgents")
_SECRET_ALPHABET = string.ascii_letters + string.digits + "_-.~"
_APPLICATION_KEYS = {
    "addIns",
    "api",
    "appRoles",
    "description",
    "displayName",
    "groupMembershipClaims",
    "identifierUris",
    "info",
    "isDeviceOnlyAuthSupported",
    "isFallbackPublicClient",
    "keyCredentials",
    "notes",
    "optionalClaims",
    "parentalControlSettings",
    "passwordCredentials",
    "publicClient",
    "requiredResourceAccess",
    "serviceManagementReference",
    "signInAudience",
    "spa",
    "tags",
    "tokenEncryptionKeyId",
    "web",
}
_SIGN_IN_AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)


class GraphRequestError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any, field: str) -> datetime:
    if not isinstance(value, str):
        raise GraphRequestError(400, "Request_BadRequest", f"Invalid value specified for property '{field}'.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise GraphRequestError(
            400, "Request_BadRequest", f"Invalid value specified for property '{field}'."
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# -- OData query options (the subset directory lists support) ---------------------------------------------
_CLAUSE = re.compile(
    r"^\s*(?:(\w+)\s+eq\s+'((?:[^']|'')*)'|startswith\(\s*(\w+)\s*,\s*'((?:[^']|'')*)'\s*\))\s*$", re.I
)


def _filter(items: list[dict[str, Any]], expression: str | None) -> list[dict[str, Any]]:
    """`prop eq 'value'` and `startswith(prop,'value')`, joined by `and` (case-insensitive, as directory filters)."""
    if not expression:
        return items
    tests = []
    for clause in re.split(r"\s+and\s+", expression.strip(), flags=re.I):
        match = _CLAUSE.match(clause)
        if match is None:
            raise GraphRequestError(400, "Request_UnsupportedQuery", "Unsupported Query.")
        if match.group(1):
            tests.append((match.group(1), match.group(2).replace("''", "'").lower(), False))
        else:
            tests.append((match.group(3), match.group(4).replace("''", "'").lower(), True))

    def keep(item: dict[str, Any]) -> bool:
        for prop, value, prefix in tests:
            actual = item.get(prop)
            if not isinstance(actual, str):
                return False
            if (prefix and not actual.lower().startswith(value)) or (not prefix and actual.lower() != value):
                return False
        return True

    return [i for i in items if keep(i)]


def _select(item: dict[str, Any], select: str | None) -> dict[str, Any]:
    if not select:
        return item
    wanted = [s.strip() for s in select.split(",") if s.strip()]
    return {k: item[k] for k in wanted if k in item} | {
        k: v for k, v in item.items() if k.startswith("@odata.")
    }


def _collection(
    request: Request, ctx: EmulatorContext, entity_set: str, items: list[dict[str, Any]]
) -> Response:
    q = request.query_params
    items = _filter(items, q.get("$filter"))
    top = q.get("$top")
    limit = 100
    if top is not None:
        if not top.isdigit() or not 1 <= int(top) <= 999:
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                f"Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive.",
            )
        limit = int(top)
    skip = 0
    token = q.get("$skiptoken")
    if token:
        try:
            skip = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, binascii.Error):
            raise GraphRequestError(400, "Request_BadRequest", "Invalid skip token.") from None
    page = items[skip : skip + limit]
    select = q.get("$select")
    context = f"{entity_set}({select})" if select else entity_set
    body: dict[str, Any] = {"@odata.context": odata_context(ctx, context)}
    if skip + limit < len(items):
        params = [(k, v) for k, v in q.multi_items() if k != "$skiptoken"]
        params.append(("$skiptoken", base64.urlsafe_b64encode(str(skip + limit).encode()).decode()))
        body["@odata.nextLink"] = f"{ctx.endpoints.graph}{request.url.path}?{urlencode(params)}"
    body["value"] = [_select(i, select) for i in page]
    return graph_json(request, body)


# -- built-in objects -------------------------------------------------------------------------------------
def _builtin_service_principal(ctx: EmulatorContext, tenant_id: str, resource: Resource) -> dict[str, Any]:
    return {
        "id": stable_uuid(ctx.config.seed, "service-principal", tenant_id, resource.app_id),
        "deletedDateTime": None,
        "accountEnabled": True,
        "appDisplayName": resource.display_name,
        "appId": resource.app_id,
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "displayName": resource.display_name,
        "servicePrincipalNames": [
            resource.app_id,
            *[u for u in resource.identifier_uris if not u.endswith("/")],
        ],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [
            {
                "allowedMemberTypes": ["Application"],
                "description": p.display,
                "displayName": p.display,
                "id": p.id,
                "isEnabled": True,
                "origin": "Application",
                "value": p.value,
            }
            for p in resource.roles
        ],
        "oauth2PermissionScopes": [
            {
                "adminConsentDescription": p.display,
                "adminConsentDisplayName": p.display,
                "id": p.id,
                "isEnabled": True,
                "type": "Admin" if "All" in p.value else "User",
                "userConsentDescription": p.display,
                "userConsentDisplayName": p.display,
                "value": p.value,
            }
            for p in resource.scopes
        ],
    }


def _builtin_client_principal(ctx: EmulatorContext, tenant_id: str, app_id: str, name: str) -> dict[str, Any]:
    return {
        "id": stable_uuid(ctx.config.seed, "service-principal", tenant_id, app_id),
        "deletedDateTime": None,
        "accountEnabled": True,
        "appDisplayName": name,
        "appId": app_id,
        "appOwnerOrganizationId": "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
        "displayName": name,
        "servicePrincipalNames": [app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [],
        "oauth2PermissionScopes": [],
    }


def builtin_service_principals(ctx: EmulatorContext, tenant_id: str) -> list[dict[str, Any]]:
    return [_builtin_service_principal(ctx, tenant_id, r) for r in RESOURCES] + [
        _builtin_client_principal(ctx, tenant_id, c.app_id, c.display_name)
        for c in FIRST_PARTY_CLIENTS.values()
    ]


def user_object(ctx: EmulatorContext) -> dict[str, Any]:
    partner = ctx.portfolio.partner
    given, _, family = partner.user_display_name.partition(" ")
    return {
        "businessPhones": [],
        "displayName": partner.user_display_name,
        "givenName": given,
        "jobTitle": "Partner Administrator",
        "mail": partner.user_principal_name,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": family,
        "userPrincipalName": partner.user_principal_name,
        "id": partner.user_object_id,
    }


def seed_partner_directory(ctx: EmulatorContext) -> None:
    """Create the CSP agent groups (AdminAgents holds the partner admin) once per state dir."""
    partner = ctx.partner_tenant_id
    existing = {g["displayName"] for g in ctx.state.groups(partner)}
    for name in CSP_GROUPS:
        if name in existing:
            continue
        group = {
            "id": stable_uuid(ctx.config.seed, "group", partner, name),
            "deletedDateTime": None,
            "classification": None,
            "createdDateTime": _iso(ctx.portfolio.anchor - timedelta(days=1200)),
            "description": f"Members of the {name} group have the {name[:-6]} agent role in Partner Center.",
            "displayName": name,
            "groupTypes": [],
            "mail": None,
            "mailEnabled": False,
            "mailNickname": name,
            "securityEnabled": True,
            "securityIdentifier": f"S-1-12-1-{uuid.UUID(stable_uuid(ctx.config.seed, 'sid', name)).int % 10**10}",
            "visibility": None,
        }
        ctx.state.put_group(partner, group)
        if name == "AdminAgents":
            ctx.state.add_member(group["id"], ctx.portfolio.partner.user_object_id, "user")


def organization_object(ctx: EmulatorContext, tenant: Tenant) -> dict[str, Any]:
    created = ctx.portfolio.anchor - timedelta(days=2400)
    if tenant.customer is not None:
        created = tenant.customer.customer_since - timedelta(days=30)
    return {
        "id": tenant.tenant_id,
        "deletedDateTime": None,
        "businessPhones": [],
        "city": None,
        "country": None,
        "countryLetterCode": tenant.country,
        "createdDateTime": _iso(created),
        "displayName": tenant.display_name,
        "marketingNotificationEmails": [],
        "onPremisesSyncEnabled": None,
        "partnerTenantType": "ResellerPartnerDelegatedAdmin" if tenant.is_partner else None,
        "postalCode": None,
        "preferredLanguage": "en",
        "state": None,
        "street": None,
        "tenantType": "AAD",
        "technicalNotificationMails": [],
        "assignedPlans": [],
        "provisionedPlans": [],
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": d == tenant.domains[-1],
                "isInitial": d.endswith(".onmicrosoft.com"),
                "name": d,
                "type": "Managed",
            }
            for d in tenant.domains
        ],
    }


class Directory:
    """Route handlers; objects live in the emulator state, per tenant."""

    def __init__(self, ctx: EmulatorContext) -> None:
        self.ctx = ctx
        seed_partner_directory(ctx)

    async def _body(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise GraphRequestError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure "
                "Content-Type header is set and payload is of valid JSON "
                "format.",
            ) from None
        if not isinstance(body, dict):
            raise GraphRequestError(400, "BadRequest", "The request payload must be a JSON object.")
        return body

    def _app(self, tenant: Tenant, request: Request) -> dict[str, Any]:
        params = request.path_params
        if "app_id" in params:
            found = self.ctx.state.application_by_app_id(params["app_id"])
        else:
            by_id = self.ctx.state.application(params["id"])
            found = self.ctx.state.application_by_app_id(by_id["appId"]) if by_id else None
        app = found[1] if found is not None and found[0] == tenant.tenant_id else None
        if app is None:
            key = params.get("app_id") or params.get("id")
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its "
                "queried reference-property objects are not present.",
            )
        return app

    # -- applications ---------------------------------------------------------------------------------------
    async def list_applications(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        return _collection(
            request,
            self.ctx,
            "applications",
            [_public_application(a) for a in self.ctx.state.applications(tenant.tenant_id)],
        )

    async def create_application(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        body = await self._body(request)
        if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'displayName' of resource 'Application'.",
            )
        now = self.ctx.clock.now()
        app = new_application(tenant, now)
        await self._apply_changes(app, body, now, creating=True)
        self.ctx.state.put_application(tenant.tenant_id, app)
        return graph_json(
            request,
            {"@odata.context": odata_context(self.ctx, "applications/$entity"), **_public_application(app)},
            201,
            headers={
                "Location": f"{self.ctx.endpoints.graph}/v2/{tenant.tenant_id}/directoryObjects/"
                f"{app['id']}/Microsoft.DirectoryServices.Application"
            },
        )

    async def get_application(self, request: Request) -> Response:
        app = self._app(graph_tenant(request), request)
        select = request.query_params.get("$select")
        public = _public_application(app, with_keys=bool(select and "keyCredentials" in select))
        context = odata_context(
            self.ctx, f"applications({select})/$entity" if select else "applications/$entity"
        )
        return graph_json(request, {"@odata.context": context, **_select(public, select)})

    async def update_application(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        app = self._app(tenant, request)
        body = await self._body(request)
        if "passwordCredentials" in body:
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                "Updates to the property 'passwordCredentials' are not "
                "supported; use addPassword and removePassword.",
            )
        await self._apply_changes(app, body, self.ctx.clock.now(), creating=False)
        self.ctx.state.put_application(tenant.tenant_id, app)
        return Response(status_code=204)

    async def delete_application(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        app = self._app(tenant, request)
        self.ctx.state.delete_application(app["id"])
        sp = self.ctx.state.service_principal_by_app_id(tenant.tenant_id, app["appId"])
        if sp is not None:
            self.ctx.state.delete_service_principal(sp["id"])
        self.ctx.state.revoke_consents(app["appId"])
        return Response(status_code=204)

    async def add_password(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        app = self._app(tenant, request)
        body = await self._body(request) if await request.body() else {}
        spec = body.get("passwordCredential") or {}
        now = self.ctx.clock.now()
        start = _parse_time(spec["startDateTime"], "startDateTime") if spec.get("startDateTime") else now
        end = (
            _parse_time(spec["endDateTime"], "endDateTime")
            if spec.get("endDateTime")
            else start + timedelta(days=730)
        )
        if end <= start:
            raise GraphRequestError(
                400, "Request_BadRequest", "Invalid value specified for property 'endDateTime'."
            )
        secret = new_secret()
        key_id = str(uuid.uuid4())
        credential = {
            "customKeyIdentifier": None,
            "displayName": spec.get("displayName"),
            "endDateTime": _iso(end),
            "hint": secret[:3],
            "keyId": key_id,
            "secretText": None,
            "startDateTime": _iso(start),
        }
        self.ctx.state.add_password(app["id"], key_id, secret, start.timestamp(), end.timestamp())
        app["passwordCredentials"].append(credential)
        self.ctx.state.put_application(tenant.tenant_id, app)
        return graph_json(
            request,
            {
                "@odata.context": odata_context(self.ctx, "microsoft.graph.passwordCredential"),
                **credential,
                "secretText": secret,
            },
        )

    async def remove_password(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        app = self._app(tenant, request)
        key_id = str((await self._body(request)).get("keyId", ""))
        if not self.ctx.state.remove_password(app["id"], key_id):
            raise GraphRequestError(
                400, "Request_BadRequest", f"No password credential found with keyId '{key_id}'."
            )
        app["passwordCredentials"] = [c for c in app["passwordCredentials"] if c["keyId"] != key_id]
        self.ctx.state.put_application(tenant.tenant_id, app)
        return Response(status_code=204)

    async def _apply_changes(
        self, app: dict[str, Any], body: dict[str, Any], now: datetime, *, creating: bool
    ) -> None:
        unknown = sorted(set(body) - _APPLICATION_KEYS - {"@odata.type"})
        if unknown:
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                f"Property '{unknown[0]}' does not exist on type 'microsoft.graph.application'.",
            )
        if "signInAudience" in body and body["signInAudience"] not in _SIGN_IN_AUDIENCES:
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                "Invalid value specified for property 'signInAudience' of resource 'Application'.",
            )
        for key in ("requiredResourceAccess",):
            if key in body:
                _check_required_resource_access(body[key])
        for key, value in body.items():
            if key in ("keyCredentials", "passwordCredentials", "@odata.type"):
                continue
            if isinstance(value, dict) and isinstance(app.get(key), dict):
                app[key] = {**app[key], **value}
            else:
                app[key] = value
        if creating and body.get("passwordCredentials"):
            raise GraphRequestError(
                400, "Request_BadRequest", "Use addPassword to create password credentials."
            )
        if "keyCredentials" in body:
            app["keyCredentials"] = self._key_credentials(app, body["keyCredentials"], now)

    def _key_credentials(self, app: dict[str, Any], entries: Any, now: datetime) -> list[dict[str, Any]]:
        if not isinstance(entries, list):
            raise GraphRequestError(
                400, "Request_BadRequest", "Invalid value specified for property 'keyCredentials'."
            )
        existing = {k["key_id"]: k for k in self.ctx.state.key_credentials(app["id"])}
        previous = {c["keyId"]: c for c in app.get("keyCredentials", [])}
        stored: list[dict[str, Any]] = []
        public: list[dict[str, Any]] = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise GraphRequestError(
                    400, "Request_BadRequest", "Invalid value specified for property 'keyCredentials'."
                )
            key_id = str(entry.get("keyId") or uuid.uuid4())
            if not entry.get("key"):
                if key_id in existing and key_id in previous:
                    stored.append(existing[key_id])
                    public.append(previous[key_id])
                    continue
                raise GraphRequestError(
                    400,
                    "Request_BadRequest",
                    "Invalid value specified for property 'key' of resource 'KeyCredential'.",
                )
            cert = _certificate(entry["key"])
            der = cert.public_bytes(serialization.Encoding.DER)
            sha1 = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - Entra identifies certificates by SHA-1
            start = (
                _parse_time(entry["startDateTime"], "startDateTime")
                if entry.get("startDateTime")
                else cert.not_valid_before_utc
            )
            end = (
                _parse_time(entry["endDateTime"], "endDateTime")
                if entry.get("endDateTime")
                else cert.not_valid_after_utc
            )
            stored.append(
                {
                    "key_id": key_id,
                    "cert_der": der,
                    "sha1": sha1,
                    "sha256": hashlib.sha256(der).hexdigest().upper(),
                    "start_ts": start.timestamp(),
                    "end_ts": end.timestamp(),
                }
            )
            public.append(
                {
                    "customKeyIdentifier": entry.get("customKeyIdentifier") or sha1,
                    "displayName": entry.get("displayName") or cert.subject.rfc4514_string(),
                    "endDateTime": _iso(end),
                    "key": None,
                    "keyId": key_id,
                    "startDateTime": _iso(start),
                    "type": entry.get("type", "AsymmetricX509Cert"),
                    "usage": entry.get("usage", "Verify"),
                }
            )
        self.ctx.state.set_key_credentials(app["id"], stored)
        return public

    # -- service principals ---------------------------------------------------------------------------------
    def _principals(self, tenant: Tenant) -> list[dict[str, Any]]:
        return builtin_service_principals(self.ctx, tenant.tenant_id) + self.ctx.state.service_principals(
            tenant.tenant_id
        )

    async def list_service_principals(self, request: Request) -> Response:
        return _collection(request, self.ctx, "servicePrincipals", self._principals(graph_tenant(request)))

    async def get_service_principal(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        params = request.path_params
        if "app_id" in params:
            found = next(
                (p for p in self._principals(tenant) if p["appId"].lower() == params["app_id"].lower()), None
            )
        else:
            found = next((p for p in self._principals(tenant) if p["id"] == params["id"]), None)
        if found is None:
            key = params.get("app_id") or params.get("id")
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{key}' does not exist or one of its "
                "queried reference-property objects are not present.",
            )
        select = request.query_params.get("$select")
        return graph_json(
            request,
            {
                "@odata.context": odata_context(self.ctx, "servicePrincipals/$entity"),
                **_select(found, select),
            },
        )

    async def create_service_principal(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        body = await self._body(request)
        app_id = str(body.get("appId", "")).lower()
        found = self.ctx.state.application_by_app_id(app_id) if app_id else None
        if found is None or (
            found[0] != tenant.tenant_id and found[1].get("signInAudience") == "AzureADMyOrg"
        ):
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                f"The appId '{body.get('appId')}' of the service principal "
                "does not reference a valid application object.",
            )
        if any(p["appId"].lower() == app_id for p in self._principals(tenant)):
            raise GraphRequestError(
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "Another object with the same value for property servicePrincipalNames already exists.",
            )
        home, app = found
        sp = {
            "id": str(uuid.uuid4()),
            "deletedDateTime": None,
            "accountEnabled": bool(body.get("accountEnabled", True)),
            "appDisplayName": app["displayName"],
            "appId": app["appId"],
            "appOwnerOrganizationId": home,
            "appRoleAssignmentRequired": False,
            "displayName": app["displayName"],
            "homepage": None,
            "replyUrls": list((app.get("web") or {}).get("redirectUris", []))
            + list((app.get("publicClient") or {}).get("redirectUris", [])),
            "servicePrincipalNames": [app["appId"], *app.get("identifierUris", [])],
            "servicePrincipalType": "Application",
            "signInAudience": app.get("signInAudience"),
            "tags": list(body.get("tags") or []),
            "appRoles": list(app.get("appRoles") or []),
            "oauth2PermissionScopes": list((app.get("api") or {}).get("oauth2PermissionScopes", [])),
            "keyCredentials": [],
            "passwordCredentials": [],
        }
        self.ctx.state.put_service_principal(tenant.tenant_id, sp)
        return graph_json(
            request, {"@odata.context": odata_context(self.ctx, "servicePrincipals/$entity"), **sp}, 201
        )

    # -- groups ---------------------------------------------------------------------------------------------
    def _group(self, tenant: Tenant, group_id: str) -> dict[str, Any]:
        found = self.ctx.state.group(group_id)
        if found is None or found[0] != tenant.tenant_id:
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{group_id}' does not exist or one of "
                "its queried reference-property objects are not present.",
            )
        return found[1]

    async def list_groups(self, request: Request) -> Response:
        return _collection(
            request, self.ctx, "groups", self.ctx.state.groups(graph_tenant(request).tenant_id)
        )

    async def get_group(self, request: Request) -> Response:
        group = self._group(graph_tenant(request), request.path_params["id"])
        return graph_json(
            request,
            {
                "@odata.context": odata_context(self.ctx, "groups/$entity"),
                **_select(group, request.query_params.get("$select")),
            },
        )

    def _directory_object(self, tenant: Tenant, object_id: str) -> dict[str, Any] | None:
        if object_id == self.ctx.portfolio.partner.user_object_id:
            return {"@odata.type": "#microsoft.graph.user", **user_object(self.ctx)}
        principal = next((p for p in self._principals(tenant) if p["id"] == object_id), None)
        if principal is not None:
            return {"@odata.type": "#microsoft.graph.servicePrincipal", **principal}
        found = self.ctx.state.group(object_id)
        if found is not None and found[0] == tenant.tenant_id:
            return {"@odata.type": "#microsoft.graph.group", **found[1]}
        return None

    async def list_members(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        group = self._group(tenant, request.path_params["id"])
        members = [
            self._directory_object(tenant, member_id) for member_id, _ in self.ctx.state.members(group["id"])
        ]
        return _collection(request, self.ctx, "directoryObjects", [m for m in members if m is not None])

    async def add_member(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        group = self._group(tenant, request.path_params["id"])
        reference = str((await self._body(request)).get("@odata.id", ""))
        object_id = reference.rstrip("/").rsplit("/", 1)[-1]
        member = self._directory_object(tenant, object_id) if reference else None
        if member is None:
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{object_id}' does not exist or one of "
                "its queried reference-property objects are not present.",
            )
        kind = member["@odata.type"].rsplit(".", 1)[-1]
        if not self.ctx.state.add_member(group["id"], object_id, kind):
            raise GraphRequestError(
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the "
                "following modified properties: 'members'.",
            )
        return Response(status_code=204)

    async def remove_member(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        group = self._group(tenant, request.path_params["id"])
        if not self.ctx.state.remove_member(group["id"], request.path_params["member_id"]):
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{request.path_params['member_id']}' does "
                "not exist or one of its queried reference-property "
                "objects are not present.",
            )
        return Response(status_code=204)

    async def get_directory_object(self, request: Request) -> Response:
        tenant = graph_tenant(request)
        found = self._directory_object(tenant, request.path_params["id"])
        if found is None:
            raise GraphRequestError(
                404,
                "Request_ResourceNotFound",
                f"Resource '{request.path_params['id']}' does not "
                "exist or one of its queried reference-property "
                "objects are not present.",
            )
        return graph_json(
            request, {"@odata.context": odata_context(self.ctx, "directoryObjects/$entity"), **found}
        )

    # -- organization, me -----------------------------------------------------------------------------------
    async def organization(self, request: Request) -> Response:
        return _collection(
            request, self.ctx, "organization", [organization_object(self.ctx, graph_tenant(request))]
        )

    async def me(self, request: Request) -> Response:
        if "scp" not in graph_claims(request):
            raise GraphRequestError(
                400, "BadRequest", "/me request is only valid with delegated authentication flow."
            )
        return graph_json(
            request, {"@odata.context": odata_context(self.ctx, "users/$entity"), **user_object(self.ctx)}
        )


def new_application(tenant: Tenant, now: datetime) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "deletedDateTime": None,
        "appId": str(uuid.uuid4()),
        "applicationTemplateId": None,
        "disabledByMicrosoftStatus": None,
        "createdDateTime": _iso(now),
        "displayName": None,
        "description": None,
        "groupMembershipClaims": None,
        "identifierUris": [],
        "isDeviceOnlyAuthSupported": None,
        "isFallbackPublicClient": None,
        "nativeAuthenticationApisEnabled": None,
        "notes": None,
        "publisherDomain": tenant.default_domain,
        "serviceManagementReference": None,
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "tokenEncryptionKeyId": None,
        "samlMetadataUrl": None,
        "defaultRedirectUri": None,
        "certification": None,
        "optionalClaims": None,
        "requestSignatureVerification": None,
        "addIns": [],
        "api": {
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": None,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
        },
        "appRoles": [],
        "info": {
            "logoUrl": None,
            "marketingUrl": None,
            "privacyStatementUrl": None,
            "supportUrl": None,
            "termsOfServiceUrl": None,
        },
        "keyCredentials": [],
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "passwordCredentials": [],
        "publicClient": {"redirectUris": []},
        "requiredResourceAccess": [],
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
        "web": {
            "homePageUrl": None,
            "logoutUrl": None,
            "redirectUris": [],
            "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
            "redirectUriSettings": [],
        },
        "spa": {"redirectUris": []},
    }


def _public_application(app: dict[str, Any], *, with_keys: bool = False) -> dict[str, Any]:
    return (
        app
        if with_keys
        else {**app, "keyCredentials": [{**k, "key": None} for k in app.get("keyCredentials", [])]}
    )


def _check_required_resource_access(value: Any) -> None:
    message = "Invalid value specified for property 'requiredResourceAccess' of resource 'Application'."
    if not isinstance(value, list):
        raise GraphRequestError(400, "Request_BadRequest", message)
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("resourceAccess", []), list):
            raise GraphRequestError(400, "Request_BadRequest", message)
        for access in entry.get("resourceAccess", []):
            if not isinstance(access, dict) or access.get("type") not in ("Scope", "Role"):
                raise GraphRequestError(400, "Request_BadRequest", message)
            try:
                uuid.UUID(str(access.get("id")))
            except ValueError:
                raise GraphRequestError(400, "Request_BadRequest", message) from None


def _certificate(key: Any) -> x509.Certificate:
    message = "Invalid value specified for property 'key' of resource 'KeyCredential'."
    if not isinstance(key, str):
        raise GraphRequestError(400, "Request_BadRequest", message)
    try:
        raw = base64.b64decode(key, validate=False)
    except (ValueError, binascii.Error):
        raise GraphRequestError(400, "Request_BadRequest", message) from None
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        raise GraphRequestError(400, "Request_BadRequest", message) from None


def new_secret() -> str:
    """A 40-character client secret in Entra's current format (three characters, `8Q~`, thirty-four more)."""
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(34))


def _wrap(handler: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except GraphRequestError as err:
            return graph_error(request, err.status, err.code, err.message)

    endpoint.__name__ = handler.__name__
    return endpoint


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    d = Directory(ctx)
    w = _wrap
    app_by_id = "/applications/{id}"
    app_by_app_id = "/applications(appId='{app_id}')"
    return [
        graph_route("/applications", w(d.list_applications), name="applications", permissions=APP_READ),
        graph_route(
            "/applications",
            w(d.create_application),
            methods=["POST"],
            name="applications.create",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(app_by_app_id, w(d.get_application), name="applications.get", permissions=APP_READ),
        graph_route(
            app_by_app_id,
            w(d.update_application),
            methods=["PATCH"],
            name="applications.update",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            app_by_app_id,
            w(d.delete_application),
            methods=["DELETE"],
            name="applications.delete",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            f"{app_by_id}/addPassword",
            w(d.add_password),
            methods=["POST"],
            name="applications.addPassword",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            f"{app_by_id}/removePassword",
            w(d.remove_password),
            methods=["POST"],
            name="applications.removePassword",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(app_by_id, w(d.get_application), name="applications.get", permissions=APP_READ),
        graph_route(
            app_by_id,
            w(d.update_application),
            methods=["PATCH"],
            name="applications.update",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            app_by_id,
            w(d.delete_application),
            methods=["DELETE"],
            name="applications.delete",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            "/servicePrincipals", w(d.list_service_principals), name="servicePrincipals", permissions=APP_READ
        ),
        graph_route(
            "/servicePrincipals",
            w(d.create_service_principal),
            methods=["POST"],
            name="servicePrincipals.create",
            permissions=APP_WRITE,
            app_permissions=APP_WRITE_ROLES,
        ),
        graph_route(
            "/servicePrincipals(appId='{app_id}')",
            w(d.get_service_principal),
            name="servicePrincipals.get",
            permissions=APP_READ,
        ),
        graph_route(
            "/servicePrincipals/{id}",
            w(d.get_service_principal),
            name="servicePrincipals.get",
            permissions=APP_READ,
        ),
        graph_route("/groups", w(d.list_groups), name="groups", permissions=GROUP_READ),
        graph_route("/groups/{id}", w(d.get_group), name="groups.get", permissions=GROUP_READ),
        graph_route("/groups/{id}/members", w(d.list_members), name="groups.members", permissions=GROUP_READ),
        graph_route(
            "/groups/{id}/members/$ref",
            w(d.add_member),
            methods=["POST"],
            name="groups.members.add",
            permissions=MEMBER_WRITE,
        ),
        graph_route(
            "/groups/{id}/members/{member_id}/$ref",
            w(d.remove_member),
            methods=["DELETE"],
            name="groups.members.remove",
            permissions=MEMBER_WRITE,
        ),
        graph_route(
            "/directoryObjects/{id}",
            w(d.get_directory_object),
            name="directoryObjects.get",
            permissions=(
                "Directory.Read.All",
                "Directory.ReadWrite.All",
                "Directory.AccessAsUser.All",
                "User.Read.All",
                "Application.Read.All",
                "Application.ReadWrite.All",
            ),
        ),
        graph_route(
            "/organization",
            w(d.organization),
            name="organization",
            permissions=(
                "User.Read",
                "Organization.Read.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
                "Directory.AccessAsUser.All",
                "User.Read.All",
            ),
            app_permissions=("Organization.Read.All", "Directory.Read.All"),
        ),
        graph_route("/me", w(d.me), name="me", delegated_only=True),
    ]
