"""`/servicePrincipals`: Microsoft's first-party principals in every tenant, plus those created for applications.

The first-party ones (Graph, Partner Center, …, and the first-party clients) publish their real permission ids
(`emulator.identity.resources`), so an app registration can resolve scope names to ids as it would at Graph.
A principal is addressed by object id or by `(appId='…')`.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.data.determinism import stable_uuid
from emulator.graph.app import graph_json, graph_tenant, odata_context
from emulator.graph.directory.errors import DirectoryError, json_body, not_found
from emulator.graph.directory.listing import directory_listing, list_response, select
from emulator.graph.paging import context_of
from emulator.identity.resources import FIRST_PARTY_CLIENTS, RESOURCES, Resource
from emulator.tenants import Tenant

LISTING = directory_listing(
    "servicePrincipals",
    "microsoft.graph.servicePrincipal",
    (
        "id",
        "appId",
        "appDisplayName",
        "appOwnerOrganizationId",
        "displayName",
        "servicePrincipalType",
        "signInAudience",
    ),
)
MICROSOFT_TENANT = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"  # appOwnerOrganizationId of first-party apps


def _builtin_service_principal(ctx: EmulatorContext, tenant_id: str, resource: Resource) -> dict[str, Any]:
    return {
        "id": stable_uuid(ctx.config.seed, "service-principal", tenant_id, resource.app_id),
        "deletedDateTime": None,
        "accountEnabled": True,
        "appDisplayName": resource.display_name,
        "appId": resource.app_id,
        "appOwnerOrganizationId": MICROSOFT_TENANT,
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
        "appOwnerOrganizationId": MICROSOFT_TENANT,
        "displayName": name,
        "servicePrincipalNames": [app_id],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [],
        "oauth2PermissionScopes": [],
    }


def builtin_service_principals(ctx: EmulatorContext, tenant_id: str) -> list[dict[str, Any]]:
    """Microsoft's first-party service principals as they exist in every tenant."""
    return [_builtin_service_principal(ctx, tenant_id, r) for r in RESOURCES] + [
        _builtin_client_principal(ctx, tenant_id, c.app_id, c.display_name)
        for c in FIRST_PARTY_CLIENTS.values()
    ]


def principals(ctx: EmulatorContext, tenant: Tenant) -> list[dict[str, Any]]:
    """Every service principal of the tenant: first-party ones, then those created through Graph."""
    return builtin_service_principals(ctx, tenant.tenant_id) + ctx.state.service_principals(tenant.tenant_id)


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def list_service_principals(request: Request) -> Response:
    return list_response(request, LISTING, principals(context_of(request), graph_tenant(request)))


async def get_service_principal(request: Request) -> Response:
    ctx = context_of(request)
    params = request.path_params
    every = principals(ctx, graph_tenant(request))
    if "app_id" in params:
        found = next((p for p in every if p["appId"].lower() == params["app_id"].lower()), None)
    else:
        found = next((p for p in every if p["id"] == params["id"]), None)
    if found is None:
        raise not_found(params.get("app_id") or params.get("id") or "")
    return graph_json(
        request,
        {
            "@odata.context": odata_context(ctx, "servicePrincipals/$entity"),
            **select(found, request.query_params.get("$select"), LISTING),
        },
    )


async def create_service_principal(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    body = await json_body(request)
    app_id = str(body.get("appId", "")).lower()
    found = ctx.state.application_by_app_id(app_id) if app_id else None
    if found is None or (found[0] != tenant.tenant_id and found[1].get("signInAudience") == "AzureADMyOrg"):
        raise DirectoryError(
            400,
            "Request_BadRequest",
            f"The appId '{body.get('appId')}' of the service principal does not reference a valid application "
            "object.",
        )
    if any(p["appId"].lower() == app_id for p in principals(ctx, tenant)):
        raise DirectoryError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            "Another object with the same value for property servicePrincipalNames already exists.",
        )
    home, app = found
    principal = {
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
    ctx.state.put_service_principal(tenant.tenant_id, principal)
    return graph_json(
        request, {"@odata.context": odata_context(ctx, "servicePrincipals/$entity"), **principal}, 201
    )
