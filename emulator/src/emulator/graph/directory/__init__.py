"""Directory objects for an idempotent app-registration script, one module per resource:

| module | serves |
|---|---|
| `applications` | `/applications` (by id or `(appId='…')`), `addPassword`, `removePassword`, certificates |
| `service_principals` | `/servicePrincipals`: Microsoft's first-party ones in every tenant, and created ones |
| `groups` | `/groups`, `/groups/{id}/members` (+ `$ref`): the partner's CSP agent groups |
| `directory_objects` | `/directoryObjects/{id}` and the member resolver |
| `organization`, `users` | `/organization`, `/me` |
| `listing` | the directory lists' query options on the shared OData layer and pager (`/contracts` uses it too) |

The routes are data: `routes.json`, one record per route with every address of its resource, its handler and
its permission sets, read and checked here (a bad record stops the emulator with a CatalogueError naming the
record and field). Applications created here are real clients of the identity service: their
requiredResourceAccess drives `.default`, their secrets and certificates authenticate. The partner tenant has
the CSP groups AdminAgents, HelpdeskAgents and SalesAgents, with the partner admin in AdminAgents.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.data.rows import Row, json_document, json_records
from emulator.graph.app import graph_route
from emulator.graph.directory.applications import new_application, new_secret
from emulator.graph.directory.errors import Handler, answering_errors
from emulator.graph.directory.groups import seed_partner_directory

__all__ = [
    "ROUTE_TABLE",
    "DirectoryRoute",
    "load_route_table",
    "new_application",
    "new_secret",
    "routes",
    "seed_partner_directory",
]

ROUTE_TABLE = Path(__file__).with_name("routes.json")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
_PERMISSION = re.compile(r"[A-Za-z]+(?:\.[A-Za-z]+)+")
_PATH = re.compile(r"/[A-Za-z$][\w$]*(?:\(appId='\{app_id\}'\))?(?:/(?:[A-Za-z$][\w$]*|\{[a-z_]+\}))*")


@dataclass(frozen=True, slots=True)
class DirectoryRoute:
    """One record of routes.json: a handler for one method at every address of its resource."""

    name: str
    method: str
    paths: tuple[str, ...]
    handler: Handler
    permissions: tuple[str, ...]
    app_permissions: tuple[str, ...] | None
    delegated_only: bool


def load_route_table(path: Path = ROUTE_TABLE) -> tuple[DirectoryRoute, ...]:
    """Read and check the route table; CatalogueError names the first bad record and field."""
    document = json_document(path)
    top = Row(path.name, "document", document, typed=True)
    top.expect_fields(("permissions", "routes"), ("about",))
    permission_sets = _permission_sets(top)
    table: list[DirectoryRoute] = []
    addresses: set[tuple[str, str]] = set()
    for row in json_records(path, "routes", document["routes"]):
        route = _route(row, permission_sets)
        for address in route.paths:
            if (route.method, address) in addresses:
                raise row.error("paths", f"{route.method} {address} is already routed")
            addresses.add((route.method, address))
        table.append(route)
    return tuple(table)


def _permission_sets(top: Row) -> dict[str, tuple[str, ...]]:
    sets: dict[str, tuple[str, ...]] = {}
    for name, values in top.mapping("permissions").items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise top.error("permissions", f"{name!r}: expected a non-empty list of permission names")
        for value in values:
            if not _PERMISSION.fullmatch(value):
                raise top.error("permissions", f"{name!r}: {value!r} is not a permission name")
        sets[name] = tuple(values)
    return sets


def _route(row: Row, permission_sets: Mapping[str, tuple[str, ...]]) -> DirectoryRoute:
    row.expect_fields(
        ("name", "method", "paths", "handler"), ("permissions", "app_permissions", "delegated_only")
    )
    name = row.text("name")
    row.named(name)
    paths = row.items("paths")
    if not paths:
        raise row.error("paths", "a route needs at least one path")
    for address in paths:
        if not _PATH.fullmatch(address):
            raise row.error(
                "paths", f"{address!r} is not a Graph path (segments, {{parameters}}, (appId='{{app_id}}'))"
            )
    permissions = row.choice("permissions", tuple(permission_sets)) if row.has("permissions") else None
    app_permissions = (
        row.choice("app_permissions", tuple(permission_sets)) if row.has("app_permissions") else None
    )
    if app_permissions is not None and permissions is None:
        raise row.error("app_permissions", "application roles need delegated permissions too")
    return DirectoryRoute(
        name=name,
        method=row.choice("method", METHODS),
        paths=paths,
        handler=_handler(row),
        permissions=permission_sets[permissions] if permissions else (),
        app_permissions=permission_sets[app_permissions] if app_permissions else None,
        delegated_only=row.flag("delegated_only") if row.has("delegated_only") else False,
    )


def _handler(row: Row) -> Handler:
    """`module.function` of this package, which must be an async request handler."""
    reference = row.text("handler")
    module_name, _, function_name = reference.partition(".")
    if not re.fullmatch(r"[a-z_]+", module_name) or not function_name.isidentifier():
        raise row.error("handler", f"{reference!r} is not module.function")
    try:
        module = importlib.import_module(f"{__name__}.{module_name}")
    except ModuleNotFoundError:
        raise row.error("handler", f"no module {module_name!r} in {__name__}") from None
    handler = getattr(module, function_name, None)
    if not inspect.iscoroutinefunction(handler):
        raise row.error("handler", f"{reference!r} is not an async function of {module.__name__}")
    return handler


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    """The directory's Graph routes, as the route table declares them."""
    seed_partner_directory(ctx)
    built: list[BaseRoute] = []
    for route in load_route_table():
        endpoint = answering_errors(route.handler)
        for address in route.paths:
            built.append(
                graph_route(
                    address,
                    endpoint,
                    methods=[route.method],
                    name=route.name,
                    permissions=route.permissions,
                    app_permissions=route.app_permissions,
                    delegated_only=route.delegated_only,
                )
            )
    return built
