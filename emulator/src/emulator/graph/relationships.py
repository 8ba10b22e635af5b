"""Graph v1.0 `/tenantRelationships/delegatedAdminRelationships` (+ `/{id}`): the partner's GDAP relationships,
and each one's `/accessAssignments` (+ `/{assignmentId}`): which of its roles the partner gave to which of its
security groups.

Items are exactly as in Microsoft's example (examples/graph_v1_tenantRelationships_delegatedAdminRelationships_list.json):
`@odata.type` (delegatedAdminRelationship or resellerDelegatedAdminRelationship) and `@odata.etag` on every
item, terminated and expired relationships still listed. Documented options: `$select`, `$filter`, `$top`
(up to 300), `$count`, `$skipToken` (FACTS.md §1.6); `$top` is the page size and the rest follows by
`@odata.nextLink`. Without `$top` pages hold 100 (undocumented; Graph's usual default). `$orderby` is
documented but not emulated: the emulator refuses it with 400 rather than ignore it.

Only the partner tenant has relationships: the list is read from the partner's tenant (a token for a customer
tenant lists nothing — that tenant is no partner). Permission: `DelegatedAdminRelationship.Read.All` (or
ReadWrite), delegated or application.

Access assignments (microsoft.graph.delegatedAdminAccessAssignment, FACTS.md §1.6) take the same options,
`$top` up to 300 (default 100), served by the same OData parser and pager; `$filter` on id, status,
accessContainer/accessContainerId, accessContainer/accessContainerType and the dates. An unknown relationship
(or one of another partner) is a 404, as is an unknown assignment.
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
from emulator.data.directory_objects import access_assignments, delegated_admin_relationships
from emulator.data.portfolio import Customer, GdapRelationship, Portfolio
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
ASSIGNMENT_TYPE = "microsoft.graph.delegatedAdminAccessAssignment"
ASSIGNMENT_FILTER = filter_schema(
    _MODEL,
    ASSIGNMENT_TYPE,
    (
        "id",
        "status",
        "accessContainer/accessContainerId",
        "accessContainer/accessContainerType",
        "createdDateTime",
        "lastModifiedDateTime",
    ),
)
_ASSIGNMENT_KNOWN = frozenset(p.lower() for p in _MODEL.properties(ASSIGNMENT_TYPE))
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


class RelationshipIndex:
    """Every relationship of the portfolio by id, with its customer (relationships never change owner)."""

    def __init__(self, portfolio: Portfolio) -> None:
        self._by_id = {r.id: (c, r) for c in portfolio for r in c.gdap}

    def find(self, relationship_id: str, now: datetime) -> tuple[Customer, GdapRelationship] | None:
        found = self._by_id.get(relationship_id)
        return found if found is not None and found[1].created <= now else None


def _index(request: Request) -> RelationshipIndex:
    ctx = context_of(request)
    key = f"{__name__}.index"
    found = ctx.extensions.get(key)
    if found is None:
        found = ctx.extensions[key] = RelationshipIndex(ctx.portfolio)
    return found


def _cache(request: Request) -> RelationshipCache:
    ctx = context_of(request)
    found = ctx.extensions.get(__name__)
    if found is None:
        found = ctx.extensions[__name__] = RelationshipCache(ctx.portfolio)
    return found


def _path_getter(path: str, schema: Any = FILTER) -> Callable[[dict[str, Any]], Any]:
    parts = path.split("/")
    field = schema.fields[path.lower()]

    def get(item: dict[str, Any]) -> Any:
        value: Any = item
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if field.kind == "datetime" and isinstance(value, str):
            return datetime_literal_ticks(value)
        return value

    return get


_GETTERS = {f.path: _path_getter(f.path) for f in FILTER.fields.values()}
_ASSIGNMENT_GETTERS = {
    f.path: _path_getter(f.path, ASSIGNMENT_FILTER) for f in ASSIGNMENT_FILTER.fields.values()
}


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


def _relationship_not_found(request: Request, relationship_id: str) -> Response:
    return graph_error(
        request,
        404,
        "NotFound",
        f"The delegated admin relationship with id '{relationship_id}' was not found.",
    )


def _assignments(request: Request) -> tuple[list[dict[str, Any]] | None, str]:
    """The relationship's assignments now (None: no such relationship of this partner) and its context URL."""
    ctx = context_of(request)
    relationship_id = request.path_params["relationship_id"]
    context = (
        f"{ctx.endpoints.graph}/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships"
        f"('{relationship_id}')/accessAssignments"
    )
    if not graph_tenant(request).is_partner:
        return None, context
    now = ctx.clock.now()
    found = _index(request).find(relationship_id, now)
    if found is None:
        return None, context
    customer, relationship = found
    return access_assignments(customer, relationship, now), context


async def list_access_assignments(request: Request) -> Response:
    try:
        options = parse_options(
            request.query_params.multi_items(), ("$top", "$filter", "$count", "$select", "$orderby")
        )
        if any(k.lower() == "$orderby" for k, _ in options.params):
            raise QueryError("$orderby is not supported on accessAssignments by the emulator.")
        top = DEFAULT_TOP if options.top is None else options.top
        if not 1 <= top <= MAX_TOP:
            raise top_exceeded(MAX_TOP, top) if top > MAX_TOP else QueryError("$top must be at least 1.")
        dicts, context = _assignments(request)
        if dicts is None:
            return _relationship_not_found(request, request.path_params["relationship_id"])
        if options.filter:
            keep = compile_filter(parse_filter(options.filter, ASSIGNMENT_FILTER), _ASSIGNMENT_GETTERS)
            dicts = [d for d in dicts if keep(d)]
        if options.select:
            dicts = [select_members(d, options.select, _ASSIGNMENT_KNOWN, ASSIGNMENT_TYPE) for d in dicts]
        body = offset_collection(
            request,
            context=context,
            items=[orjson.dumps(d) for d in dicts],
            options=dataclasses.replace(options, top=None, skip=None),
            page_size=top,
        )
    except QueryError as error:
        return _bad_request(request, error)
    return odata_response(body)


async def get_access_assignment(request: Request) -> Response:
    try:
        options = parse_options(request.query_params.multi_items(), ("$select",))
        dicts, context = _assignments(request)
        if dicts is None:
            return _relationship_not_found(request, request.path_params["relationship_id"])
        assignment_id = request.path_params["assignment_id"]
        found = next((d for d in dicts if d["id"] == assignment_id), None)
        if found is None:
            return graph_error(
                request,
                404,
                "NotFound",
                f"The delegated admin access assignment with id '{assignment_id}' was not found.",
            )
        if options.select:
            found = select_members(found, options.select, _ASSIGNMENT_KNOWN, ASSIGNMENT_TYPE)
    except QueryError as error:
        return _bad_request(request, error)
    return odata_response(orjson.dumps({"@odata.context": f"{context}/$entity", **found}))


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
        *read_only(
            "/tenantRelationships/delegatedAdminRelationships/{relationship_id}/accessAssignments",
            list_access_assignments,
            name="tenantRelationships.delegatedAdminRelationships.accessAssignments",
            permissions=PERMISSIONS,
        ),
        *read_only(
            "/tenantRelationships/delegatedAdminRelationships/{relationship_id}/accessAssignments/{assignment_id}",
            get_access_assignment,
            name="tenantRelationships.delegatedAdminRelationships.accessAssignments.item",
            permissions=PERMISSIONS,
        ),
    ]
