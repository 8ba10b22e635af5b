"""Graph v1.0 `/contracts`: the partner's customers it can administer (DAP or an active GDAP relationship).

A directory endpoint (FACTS.md §1.6, contract-list.md): `$filter` on customerId, defaultDomainName and
displayName (`eq`, and `startswith` on the names), `$top` 1-999 as the page size (default 100, as directory
lists), `$select`, `@odata.nextLink` with `$skiptoken`; errors in the directory's shape (`Request_BadRequest`,
`Request_UnsupportedQuery`), as every directory list answers (`emulator.graph.directory.listing`). Contracts
exist in partner tenants only: at a customer tenant the list is empty.
Permission: `Directory.Read.All` (or `Directory.ReadWrite.All`, `Directory.AccessAsUser.All`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.data.directory_objects import contracts
from emulator.data.portfolio import Portfolio
from emulator.data.timestamps import to_us
from emulator.fidelity import SchemaRegistry
from emulator.graph.app import graph_tenant
from emulator.graph.directory.listing import DirectoryListing, list_response
from emulator.graph.odata import filter_schema
from emulator.graph.paging import context_of, read_only

PERMISSIONS = ("Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
TYPE = "microsoft.graph.contract"

_MODEL = SchemaRegistry.load().model
FILTER = filter_schema(
    _MODEL, TYPE, ("customerId", "defaultDomainName", "displayName"), functions=("startswith",)
)
LISTING = DirectoryListing(
    "contracts",
    TYPE,
    FILTER,
    {f.path: (lambda item, key=f.path: item.get(key)) for f in FILTER.fields.values()},
    known=frozenset(p.lower() for p in _MODEL.properties(TYPE)),
    always=("id",),
)


class ContractCache:
    """Contracts at one clock instant (customers come and go only when the clock moves)."""

    def __init__(self, portfolio: Portfolio) -> None:
        self._portfolio = portfolio
        self._key: int | None = None
        self._dicts: list[dict[str, Any]] = []
        self._items: list[bytes] = []

    def at(self, now: datetime) -> tuple[list[dict[str, Any]], list[bytes]]:
        key = to_us(now)
        if key != self._key:
            self._dicts = contracts(self._portfolio, now)
            self._items = [orjson.dumps(d) for d in self._dicts]
            self._key = key
        return self._dicts, self._items


def _cache(request: Request) -> ContractCache:
    ctx = context_of(request)
    found = ctx.extensions.get(__name__)
    if found is None:
        found = ctx.extensions[__name__] = ContractCache(ctx.portfolio)
    return found


async def list_contracts(request: Request) -> Response:
    ctx = context_of(request)
    dicts, items = _cache(request).at(ctx.clock.now()) if graph_tenant(request).is_partner else ([], [])
    return list_response(request, LISTING, dicts, items)


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    return read_only("/contracts", list_contracts, name="contracts", permissions=PERMISSIONS)
