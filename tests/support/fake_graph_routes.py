"""A Graph endpoint module used by the unit tests of the `routes(ctx)` registration hook."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.graph.app import graph_json, graph_route, graph_tenant


async def _probe(request: Request) -> Response:
    fault = request.scope["app"].ctx.faults.take_for(request.scope, {"empty_page"})
    return graph_json(request, {"tenant": graph_tenant(request).tenant_id, "empty": fault is not None})


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    return [graph_route("/probe", _probe, name="probe", permissions=("SecurityAlert.Read.All",))]
