"""`/directoryObjects/{id}`: any object of the tenant by id — the partner admin, a service principal or a group.

Also the resolver group membership uses: `$ref` bodies name members by their directoryObjects URL.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.graph.app import graph_json, graph_tenant, odata_context
from emulator.graph.directory.errors import not_found
from emulator.graph.directory.listing import directory_listing
from emulator.graph.directory.service_principals import principals
from emulator.graph.directory.users import user_object
from emulator.graph.paging import context_of
from emulator.tenants import Tenant

# Group members are directoryObjects of several types; these are the properties they can be filtered on.
MEMBERS = directory_listing(
    "directoryObjects",
    "microsoft.graph.directoryObject",
    ("id", "appId", "displayName", "mail", "userPrincipalName"),
)


def directory_object(ctx: EmulatorContext, tenant: Tenant, object_id: str) -> dict[str, Any] | None:
    """The object with this id in the tenant, with its `@odata.type`, or None."""
    if object_id == ctx.portfolio.partner.user_object_id:
        return {"@odata.type": "#microsoft.graph.user", **user_object(ctx)}
    principal = next((p for p in principals(ctx, tenant) if p["id"] == object_id), None)
    if principal is not None:
        return {"@odata.type": "#microsoft.graph.servicePrincipal", **principal}
    found = ctx.state.group(object_id)
    if found is not None and found[0] == tenant.tenant_id:
        return {"@odata.type": "#microsoft.graph.group", **found[1]}
    return None


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def get_directory_object(request: Request) -> Response:
    ctx = context_of(request)
    found = directory_object(ctx, graph_tenant(request), request.path_params["id"])
    if found is None:
        raise not_found(request.path_params["id"])
    return graph_json(request, {"@odata.context": odata_context(ctx, "directoryObjects/$entity"), **found})
