"""Graph v1.0 `/tenantRelationships/delegatedAdminRelationships` (+ `/{id}`): the partner's GDAP relationships.

Items are exactly as in Microsoft's example (examples/graph_v1_tenantRelationships_delegatedAdminRelationships_list.json):
`@odata.type` (delegatedAdminRelationship or resellerDelegatedAdminRelationship) and `@odata.etag` on every
item, terminated and expired relationships still listed. Documented options: `$select`, `$filter`, `$top`
(up to 300), `$count`, `$skipToken` (FACTS.md §1.6); `$top` is the page size and the rest follows by
`@odata.nextLink`. Without `$top` pages hold 100 (undocumented; Graph's usual default). `$orderby` is
documented but not emulated: the emulator refuses it with 400 rather than ignore it.

Only the partner tenant has relationships: the list is read from the partner's tenant (a token for a customer
tenant lists nothing — that tenant is no partner). Permission: `DelegatedAdminRelationship.Read.All` (or
ReadWrite), delegated or application.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.data.directory_objects import delegated_admin_relationships
from emulator.data.portfolio import Portfolio
from emulator.data.timestamps import to_us
from emulator.fidelity import SchemaRegistry
from emulator.graph.app import graph_error, graph_tenant
from emulator.graph.odata import (
    QueryError,
    compile_filter,
    datetime_literal_ticks,
    filter_schema,
    parse_filter,
    parse_options,
    select_members,
    top_exceeded,
)
from emulator.graph.paging import context_of, odata_response, offset_collection, read_only

PERMISSIONS = ("DelegatedAdminRelationship.Read.All", "DelegatedAdminRelationship.ReadWrite.All")
MAX_TOP = 300
DEFAULT_TOP = 100
CONTEXT = "/tenantRelationships/$metadata#delegatedAdminRelationships"  # as in Microsoft's example
TYPE = "microsoft.graph.delegatedAdminRelationship"

_MODEL = SchemaRegistry.load().model
FILTER = filter_schema(
    _MODEL,
    TYPE,
    (
        "id",
        "displayName",
        "status",
        "customer/tenantId",
        "customer/displayName",
        "createdDateTime",
        "lastModifiedDateTime",
        "activatedDateTime",
        "endDateTime",
    ),
)
_KNOWN = frozenset(
    p.lower()
    for p in (
        *_MODEL.properties(TYPE),
        *_MODEL.properties("microsoft.graph.resellerDelegatedAdminRelationship"),
    )
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Listing:
    dicts: list[dict[str, Any]]
    items: list[bytes]
    by_id: dict[str, int]


class RelationshipCache:
    """The relationships at one clock instant (the clock moves only through the admin API)."""

    def __init__(self, portfolio: Portfolio) -> None:
        self._portfolio = portfolio
        self._key: int | None = None
        self._listing = _Listing([], [], {})

    def at(self, now: datetime) -> _Listing:
        key = to_us(now)
        if key != self._key:
            dicts = delegated_admin_relationships(self._portfolio, now)
            self._listing = _Listing(
                dicts, [orjson.dumps(d) for d in dicts], {d["id"]: i for i, d in enumerate(dicts)}
            )
            self._key = key
        return self._listing


def _cache(request: Request) -> RelationshipCache:
    ctx = context_of(request)
    found = ctx.extensions.get(__name__)
    if found is None:
        found = ctx.extensions[__name__] = RelationshipCache(ctx.portfolio)
    return found


def _path_getter(path: str) -> Callable[[dict[str, Any]], Any]:
    parts = path.split("/")
    field = FILTER.fields[path.lower()]

    def get(item: dict[str, Any]) -> Any:
        value: Any = item
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if field.kind == "datetime" and isinstance(value, str):
            return datetime_literal_ticks(value)
        return value

    return get


_GETTERS = {f.path: _path_getter(f.path) for f in FILTER.fields.values()}


def _bad_request(request: Request, error: QueryError) -> Response:
    return graph_error(request, 400, "BadRequest", error.message)


async def list_relationships(request: Request) -> Response:
    ctx = context_of(request)
    try:
        options = parse_options(
            request.query_params.multi_items(), ("$top", "$filter", "$count", "$select", "$orderby")
        )
        if any(k.lower() == "$orderby" for k, _ in options.params):
            raise QueryError("$orderby is not supported on delegatedAdminRelationships by the emulator.")
        top = DEFAULT_TOP if options.top is None else options.top
        if not 1 <= top <= MAX_TOP:
            raise top_exceeded(MAX_TOP, top) if top > MAX_TOP else QueryError("$top must be at least 1.")
        listing = (
            _cache(request).at(ctx.clock.now()) if graph_tenant(request).is_partner else _Listing([], [], {})
        )
        dicts, items = listing.dicts, listing.items
        if options.filter:
            keep = compile_filter(parse_filter(options.filter, FILTER), _GETTERS)
            pairs = [(d, b) for d, b in zip(dicts, items, strict=True) if keep(d)]
            dicts, items = [d for d, _ in pairs], [b for _, b in pairs]
        if options.select:
            items = [orjson.dumps(select_members(d, options.select, _KNOWN, TYPE)) for d in dicts]
        body = offset_collection(
            request,
            context=f"{ctx.endpoints.graph}/v1.0{CONTEXT}",
            items=items,
            options=dataclasses.replace(options, top=None, skip=None),
            page_size=top,
        )
    except QueryError as error:
        return _bad_request(request, error)
    return odata_response(body)


async def get_relationship(request: Request) -> Response:
    ctx = context_of(request)
    relationship_id = request.path_params["relationship_id"]
    listing = (
        _cache(request).at(ctx.clock.now()) if graph_tenant(request).is_partner else _Listing([], [], {})
    )
    index = listing.by_id.get(relationship_id)
    if index is None:
        return graph_error(
            request,
            404,
            "NotFound",
            f"The delegated admin relationship with id '{relationship_id}' was not found.",
        )
    head = orjson.dumps({"@odata.context": f"{ctx.endpoints.graph}/v1.0{CONTEXT}/$entity"})
    return odata_response(head[:-1] + b"," + listing.items[index][1:])


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    return [
        *read_only(
            "/tenantRelationships/delegatedAdminRelationships",
            list_relationships,
            name="tenantRelationships.delegatedAdminRelationships",
            permissions=PERMISSIONS,
        ),
        *read_only(
            "/tenantRelationships/delegatedAdminRelationships/{relationship_id}",
            get_relationship,
            name="tenantRelationships.delegatedAdminRelationships.item",
            permissions=PERMISSIONS,
        ),
    ]
