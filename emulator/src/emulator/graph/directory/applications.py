"""`/applications`: app registrations, addressed by object id or by `(appId='…')`, with their credentials.

Applications created here are real clients of the identity service: their requiredResourceAccess drives
`.default`, their secrets (addPassword) and certificates (keyCredentials) authenticate. Keys are never served
back unless `$select` names keyCredentials, as at Graph.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import string
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.graph.app import graph_json, graph_tenant, odata_context
from emulator.graph.directory.errors import DirectoryError, bad_value, json_body, not_found
from emulator.graph.directory.listing import directory_listing, list_response, select
from emulator.graph.directory.times import iso, parse_time
from emulator.graph.paging import context_of
from emulator.tenants import Tenant

LISTING = directory_listing(
    "applications",
    "microsoft.graph.application",
    (
        "id",
        "appId",
        "applicationTemplateId",
        "description",
        "displayName",
        "notes",
        "publisherDomain",
        "serviceManagementReference",
        "signInAudience",
    ),
)
_SECRET_ALPHABET = string.ascii_letters + string.digits + "_-.~"
_WRITABLE = frozenset(
    {
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
)
SIGN_IN_AUDIENCES = (
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
)


def new_application(tenant: Tenant, now: datetime) -> dict[str, Any]:
    """A new application object with Graph's defaults (no display name yet)."""
    return {
        "id": str(uuid.uuid4()),
        "deletedDateTime": None,
        "appId": str(uuid.uuid4()),
        "applicationTemplateId": None,
        "disabledByMicrosoftStatus": None,
        "createdDateTime": iso(now),
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


def new_secret() -> str:
    """A 40-character client secret in Entra's current format (three characters, `8Q~`, thirty-four more)."""
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + "8Q~" + "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(34))


def _public(app: dict[str, Any], *, with_keys: bool = False) -> dict[str, Any]:
    if with_keys:
        return app
    return {**app, "keyCredentials": [{**k, "key": None} for k in app.get("keyCredentials", [])]}


def _addressed(request: Request, tenant: Tenant) -> dict[str, Any]:
    """The application the path names (`/{id}` or `(appId='…')`), if it belongs to the caller's tenant."""
    state = context_of(request).state
    params = request.path_params
    if "app_id" in params:
        found = state.application_by_app_id(params["app_id"])
    else:
        by_id = state.application(params["id"])
        found = state.application_by_app_id(by_id["appId"]) if by_id else None
    if found is None or found[0] != tenant.tenant_id:
        raise not_found(params.get("app_id") or params.get("id") or "")
    return found[1]


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def list_applications(request: Request) -> Response:
    tenant = graph_tenant(request)
    objects = [_public(a) for a in context_of(request).state.applications(tenant.tenant_id)]
    return list_response(request, LISTING, objects)


async def create_application(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    body = await json_body(request)
    if not isinstance(body.get("displayName"), str) or not body["displayName"].strip():
        raise bad_value("displayName", "Application")
    now = ctx.clock.now()
    app = new_application(tenant, now)
    _apply_changes(ctx, app, body, now, creating=True)
    ctx.state.put_application(tenant.tenant_id, app)
    return graph_json(
        request,
        {"@odata.context": odata_context(ctx, "applications/$entity"), **_public(app)},
        201,
        headers={
            "Location": f"{ctx.endpoints.graph}/v2/{tenant.tenant_id}/directoryObjects/"
            f"{app['id']}/Microsoft.DirectoryServices.Application"
        },
    )


async def get_application(request: Request) -> Response:
    app = _addressed(request, graph_tenant(request))
    selection = request.query_params.get("$select")
    public = _public(app, with_keys=bool(selection and "keyCredentials" in selection))
    context = odata_context(
        context_of(request), f"applications({selection})/$entity" if selection else "applications/$entity"
    )
    return graph_json(request, {"@odata.context": context, **select(public, selection, LISTING)})


async def update_application(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    app = _addressed(request, tenant)
    body = await json_body(request)
    if "passwordCredentials" in body:
        raise DirectoryError(
            400,
            "Request_BadRequest",
            "Updates to the property 'passwordCredentials' are not supported; use addPassword and removePassword.",
        )
    _apply_changes(ctx, app, body, ctx.clock.now(), creating=False)
    ctx.state.put_application(tenant.tenant_id, app)
    return Response(status_code=204)


async def delete_application(request: Request) -> Response:
    state = context_of(request).state
    tenant = graph_tenant(request)
    app = _addressed(request, tenant)
    state.delete_application(app["id"])
    principal = state.service_principal_by_app_id(tenant.tenant_id, app["appId"])
    if principal is not None:
        state.delete_service_principal(principal["id"])
    state.revoke_consents(app["appId"])
    return Response(status_code=204)


async def add_password(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    app = _addressed(request, tenant)
    body = await json_body(request) if await request.body() else {}
    spec = body.get("passwordCredential") or {}
    now = ctx.clock.now()
    start = parse_time(spec["startDateTime"], "startDateTime") if spec.get("startDateTime") else now
    end = (
        parse_time(spec["endDateTime"], "endDateTime")
        if spec.get("endDateTime")
        else start + timedelta(days=730)
    )
    if end <= start:
        raise bad_value("endDateTime")
    secret = new_secret()
    key_id = str(uuid.uuid4())
    credential = {
        "customKeyIdentifier": None,
        "displayName": spec.get("displayName"),
        "endDateTime": iso(end),
        "hint": secret[:3],
        "keyId": key_id,
        "secretText": None,
        "startDateTime": iso(start),
    }
    ctx.state.add_password(app["id"], key_id, secret, start.timestamp(), end.timestamp())
    app["passwordCredentials"].append(credential)
    ctx.state.put_application(tenant.tenant_id, app)
    return graph_json(
        request,
        {
            "@odata.context": odata_context(ctx, "microsoft.graph.passwordCredential"),
            **credential,
            "secretText": secret,
        },
    )


async def remove_password(request: Request) -> Response:
    state = context_of(request).state
    tenant = graph_tenant(request)
    app = _addressed(request, tenant)
    key_id = str((await json_body(request)).get("keyId", ""))
    if not state.remove_password(app["id"], key_id):
        raise DirectoryError(
            400, "Request_BadRequest", f"No password credential found with keyId '{key_id}'."
        )
    app["passwordCredentials"] = [c for c in app["passwordCredentials"] if c["keyId"] != key_id]
    state.put_application(tenant.tenant_id, app)
    return Response(status_code=204)


# -- changes ------------------------------------------------------------------------------------------------
def _apply_changes(
    ctx: EmulatorContext, app: dict[str, Any], body: dict[str, Any], now: datetime, *, creating: bool
) -> None:
    unknown = sorted(set(body) - _WRITABLE - {"@odata.type"})
    if unknown:
        raise DirectoryError(
            400,
            "Request_BadRequest",
            f"Property '{unknown[0]}' does not exist on type 'microsoft.graph.application'.",
        )
    if "signInAudience" in body and body["signInAudience"] not in SIGN_IN_AUDIENCES:
        raise bad_value("signInAudience", "Application")
    if "requiredResourceAccess" in body:
        _check_required_resource_access(body["requiredResourceAccess"])
    for key, value in body.items():
        if key in ("keyCredentials", "passwordCredentials", "@odata.type"):
            continue
        if isinstance(value, dict) and isinstance(app.get(key), dict):
            app[key] = {**app[key], **value}
        else:
            app[key] = value
    if creating and body.get("passwordCredentials"):
        raise DirectoryError(400, "Request_BadRequest", "Use addPassword to create password credentials.")
    if "keyCredentials" in body:
        app["keyCredentials"] = _key_credentials(ctx, app, body["keyCredentials"])


def _check_required_resource_access(value: Any) -> None:
    error = bad_value("requiredResourceAccess", "Application")
    if not isinstance(value, list):
        raise error
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("resourceAccess", []), list):
            raise error
        for access in entry.get("resourceAccess", []):
            if not isinstance(access, dict) or access.get("type") not in ("Scope", "Role"):
                raise error
            try:
                uuid.UUID(str(access.get("id")))
            except ValueError:
                raise error from None


def _certificate(key: Any) -> x509.Certificate:
    error = bad_value("key", "KeyCredential")
    if not isinstance(key, str):
        raise error
    try:
        raw = base64.b64decode(key, validate=False)
    except (ValueError, binascii.Error):
        raise error from None
    try:
        if raw.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(raw)
        return x509.load_der_x509_certificate(raw)
    except ValueError:
        raise error from None


def _key_credentials(ctx: EmulatorContext, app: dict[str, Any], entries: Any) -> list[dict[str, Any]]:
    """Store the certificates of a keyCredentials update; entries without `key` keep an existing one by keyId."""
    if not isinstance(entries, list):
        raise bad_value("keyCredentials")
    existing = {k["key_id"]: k for k in ctx.state.key_credentials(app["id"])}
    previous = {c["keyId"]: c for c in app.get("keyCredentials", [])}
    stored: list[dict[str, Any]] = []
    public: list[dict[str, Any]] = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise bad_value("keyCredentials")
        key_id = str(entry.get("keyId") or uuid.uuid4())
        if not entry.get("key"):
            if key_id in existing and key_id in previous:
                stored.append(existing[key_id])
                public.append(previous[key_id])
                continue
            raise bad_value("key", "KeyCredential")
        cert = _certificate(entry["key"])
        der = cert.public_bytes(serialization.Encoding.DER)
        sha1 = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - Entra identifies certificates by SHA-1
        start = (
            parse_time(entry["startDateTime"], "startDateTime")
            if entry.get("startDateTime")
            else cert.not_valid_before_utc
        )
        end = (
            parse_time(entry["endDateTime"], "endDateTime")
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
                "endDateTime": iso(end),
                "key": None,
                "keyId": key_id,
                "startDateTime": iso(start),
                "type": entry.get("type", "AsymmetricX509Cert"),
                "usage": entry.get("usage", "Verify"),
            }
        )
    ctx.state.set_key_credentials(app["id"], stored)
    return public
