"""Directory collections on the shared OData layer (`emulator.graph.odata`) and pager (`emulator.graph.paging`).

Directory lists (`/applications`, `/servicePrincipals`, `/groups`, group members, `/organization`, and
`/contracts`) answer the same way: `$filter` through the shared parser with the endpoint's fields, functions and
operators (the directory objects take `eq` and `startswith`, joined by `and`, compared without regard to case),
`$select`, `$top` as the page size (1-999, default 100, as directory lists page), an `@odata.nextLink` with an
opaque `$skiptoken`, the paging faults every paged endpoint honours, and errors in the directory's shape:
`Request_UnsupportedQuery` for a filter or selection it cannot answer, `Request_BadRequest` for the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from emulator.graph.app import graph_error, odata_context
from emulator.graph.odata import (
    FilterSchema,
    Getter,
    QueryError,
    compile_filter,
    parse_filter,
    parse_options,
    select_members,
    string_filter_schema,
)
from emulator.graph.paging import context_of, odata_response, offset_collection

DEFAULT_TOP = 100
MAX_TOP = 999
OPTIONS = ("$top", "$filter", "$select")


@dataclass(frozen=True, slots=True)
class DirectoryListing:
    """How one directory collection answers its query options.

    `known` are the property names `$select` may use (lowercase); None serves the type as open, where a name
    an object lacks selects nothing. `always` are the properties every selection keeps.
    """

    entity_set: str
    type_name: str
    filter: FilterSchema
    getters: Mapping[str, Getter]
    known: frozenset[str] | None = None
    always: tuple[str, ...] = ()


def directory_listing(entity_set: str, type_name: str, filterable: Iterable[str]) -> DirectoryListing:
    """A listing of directory objects: string properties filtered with `eq` and `startswith(...)`, and `and`."""
    schema = string_filter_schema(
        type_name, filterable, functions=("startswith",), operators=("eq",), connectives=("and",)
    )
    getters = {f.path: (lambda item, key=f.path: item.get(key)) for f in schema.fields.values()}
    return DirectoryListing(entity_set, type_name, schema, getters)


def list_response(
    request: Request,
    listing: DirectoryListing,
    objects: Sequence[Mapping[str, Any]],
    encoded: Sequence[bytes] | None = None,
) -> Response:
    """One page of `objects` (already serialised as `encoded`, when the caller caches them) for this request."""
    ctx = context_of(request)
    try:
        options = parse_options(request.query_params.multi_items(), OPTIONS)
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
    try:
        if options.filter:
            keep = compile_filter(parse_filter(options.filter, listing.filter), listing.getters)
            chosen = [i for i, item in enumerate(objects) if keep(item)]
            objects = [objects[i] for i in chosen]
            encoded = [encoded[i] for i in chosen] if encoded is not None else None
        if options.select:
            encoded = [orjson.dumps(select(item, options.select, listing)) for item in objects]
    except QueryError as error:
        return graph_error(request, 400, "Request_UnsupportedQuery", error.message)
    if encoded is None:
        encoded = [orjson.dumps(item) for item in objects]
    entity_set = f"{listing.entity_set}({options.select})" if options.select else listing.entity_set
    try:
        body = offset_collection(
            request,
            context=odata_context(ctx, entity_set),
            items=encoded,
            options=dataclasses.replace(options, top=None),
            page_size=top,
        )
    except QueryError as error:
        return graph_error(request, 400, "Request_BadRequest", error.message)
    return odata_response(body)


def select(item: Mapping[str, Any], selection: str | None, listing: DirectoryListing) -> dict[str, Any]:
    """`$select` on one object (all of it without a selection)."""
    if not selection:
        return dict(item)
    return select_members(item, selection, listing.known, listing.type_name, always=listing.always)
