"""`/groups` and their members: the partner tenant's CSP agent groups (AdminAgents, HelpdeskAgents, SalesAgents).

AdminAgents holds the partner admin from the start; an app registration adds its service principal to it
(`POST /groups/{id}/members/$ref`) so the app acts with the partner's delegated admin rights.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.data.determinism import stable_uuid
from emulator.graph.app import graph_json, graph_tenant, odata_context
from emulator.graph.directory.directory_objects import MEMBERS, directory_object
from emulator.graph.directory.errors import DirectoryError, json_body, not_found
from emulator.graph.directory.listing import directory_listing, list_response, select
from emulator.graph.directory.times import iso
from emulator.graph.paging import context_of
from emulator.tenants import Tenant

CSP_GROUPS = ("AdminAgents", "HelpdeskAgents", "SalesAgents")
LISTING = directory_listing(
    "groups",
    "microsoft.graph.group",
    (
        "id",
        "classification",
        "description",
        "displayName",
        "mail",
        "mailNickname",
        "securityIdentifier",
        "visibility",
    ),
)


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
            "createdDateTime": iso(ctx.portfolio.anchor - timedelta(days=1200)),
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


def _group(ctx: EmulatorContext, tenant: Tenant, group_id: str) -> dict[str, Any]:
    found = ctx.state.group(group_id)
    if found is None or found[0] != tenant.tenant_id:
        raise not_found(group_id)
    return found[1]


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def list_groups(request: Request) -> Response:
    return list_response(request, LISTING, context_of(request).state.groups(graph_tenant(request).tenant_id))


async def get_group(request: Request) -> Response:
    ctx = context_of(request)
    group = _group(ctx, graph_tenant(request), request.path_params["id"])
    return graph_json(
        request,
        {
            "@odata.context": odata_context(ctx, "groups/$entity"),
            **select(group, request.query_params.get("$select"), LISTING),
        },
    )


async def list_members(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    group = _group(ctx, tenant, request.path_params["id"])
    members = [directory_object(ctx, tenant, member_id) for member_id, _ in ctx.state.members(group["id"])]
    return list_response(request, MEMBERS, [m for m in members if m is not None])


async def add_member(request: Request) -> Response:
    ctx = context_of(request)
    tenant = graph_tenant(request)
    group = _group(ctx, tenant, request.path_params["id"])
    reference = str((await json_body(request)).get("@odata.id", ""))
    object_id = reference.rstrip("/").rsplit("/", 1)[-1]
    member = directory_object(ctx, tenant, object_id) if reference else None
    if member is None:
        raise not_found(object_id)
    kind = member["@odata.type"].rsplit(".", 1)[-1]
    if not ctx.state.add_member(group["id"], object_id, kind):
        raise DirectoryError(
            400,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'members'.",
        )
    return Response(status_code=204)


async def remove_member(request: Request) -> Response:
    ctx = context_of(request)
    group = _group(ctx, graph_tenant(request), request.path_params["id"])
    if not ctx.state.remove_member(group["id"], request.path_params["member_id"]):
        raise not_found(request.path_params["member_id"])
    return Response(status_code=204)
