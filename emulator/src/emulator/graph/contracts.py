"""Graph v1.0 `/contracts`: the partner's customers it can administer (DAP or an active GDAP relationship).

A directory endpoint (FACTS.md §1.6, contract-list.md): `$filter` on customerId, defaultDomainName and
displayName (`eq`, and `startswith` on the names), `$top` 1-999 as the page size (default 100, as directory
lists), `$select`, `@odata.nextLink` with `$skiptoken`; errors in the directory's shape (`Request_BadRequest`,
`Request_UnsupportedQuery`). Contracts exist in partner tenants only: at a customer tenant the list is empty.
Permission: `Directory.Read.All` (or `Directory.ReadWrite.All`, `Directory.AccessAsUser.All`).
"""

from __future__ import annotations

import dataclasses
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
from emulator.graph.app import graph_error, graph_tenant, odata_context
from emulator.graph.odata import (
    QueryError,
    compile_filter,
    filter_schema,
    parse_filter,
    parse_options,
    select_members,
)
from emulator.graph.paging import context_of, odata_response, offset_collection, read_only

PERMISSIONS = ("Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All")
DEFAULT_TOP = 100
MAX_TOP = 999
TYPE = "microsoft.graph.contract"

_MODEL = SchemaRegistry.load().model
FILTER = filter_schema(
    _MODEL, TYPE, ("customerId", "defaultDomainName", "displayName"), functions=("startswith",)
)
_KNOWN = frozenset(p.lower() for p in _MODEL.properties(TYPE))
_GETTERS = {f.path: (lambda item, key=f.path: item.get(key)) for f in FILTER.fields.values()}


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
    try:
        options = parse_options(request.query_params.multi_items(), ("$top", "$filter", "$select"))
    except QueryError as error:
        return graph_error(request, 400, "Request_BadRequest", error.message)
    top = DEFAULT_TOP if options.top is None else options.top
    if not 1 <= top <= MAX_TOP:
        return graph_error(
            request,
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP} inclusive.",
        )
    dicts, items = _cache(request).at(ctx.clock.now()) if graph_tenant(request).is_partner else ([], [])
    try:
        if options.filter:
            keep = compile_filter(parse_filter(options.filter, FILTER), _GETTERS)
            pairs = [(d, b) for d, b in zip(dicts, items, strict=True) if keep(d)]
            dicts, items = [d for d, _ in pairs], [b for _, b in pairs]
        if options.select:
            items = [orjson.dumps(select_members(d, options.select, _KNOWN, TYPE)) for d in dicts]
    except QueryError as error:
        return graph_error(request, 400, "Request_UnsupportedQuery", error.message)
    try:
        body = offset_collection(
            request,
            context=odata_context(ctx, f"contracts({options.select})" if options.select else "contracts"),
            items=items,
            options=dataclasses.replace(options, top=None),
            page_size=top,
        )
    except QueryError as error:
        return graph_error(request, 400, "Request_BadRequest", error.message)
    return odata_response(body)


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    return read_only("/contracts", list_contracts, name="contracts", permissions=PERMISSIONS)
