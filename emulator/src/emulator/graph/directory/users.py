"""`/me`: the signed-in user, who in the emulator is always the partner's admin (a delegated token only)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.graph.app import graph_claims, graph_json, odata_context
from emulator.graph.directory.errors import DirectoryError
from emulator.graph.paging import context_of


def user_object(ctx: EmulatorContext) -> dict[str, Any]:
    """The partner admin as a microsoft.graph.user."""
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


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def me(request: Request) -> Response:
    if "scp" not in graph_claims(request):
        raise DirectoryError(
            400, "BadRequest", "/me request is only valid with delegated authentication flow."
        )
    ctx = context_of(request)
    return graph_json(request, {"@odata.context": odata_context(ctx, "users/$entity"), **user_object(ctx)})
