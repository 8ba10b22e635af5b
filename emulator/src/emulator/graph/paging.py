"""Serving Graph collection pages: OData responses from pre-serialised bytes, nextLinks, and the data-level
faults every paged endpoint honours.

Data-level faults (admin `POST /faults` with `service: graph` and an `endpoint`):
- `empty_page`: the page answers `value: []` with a nextLink that resumes exactly where the page would have
  started, so nothing is lost (Graph: "a page may contain zero results", FACTS.md §2).
- `nextlink_loop`: the page's nextLink points back to the collection's first page (its own URL without
  `$skiptoken`), so a client that does not remember the links it followed pages forever.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.graph.app import ODATA_JSON, GraphRoute, graph_error, graph_route
from emulator.graph.odata import (
    QueryOptions,
    collection_body,
    first_page_link,
    json_array,
    next_link,
    offset_page,
    offset_token,
    variant_of,
)

PAGE_FAULTS = frozenset({"empty_page", "nextlink_loop"})


def context_of(request: Request) -> EmulatorContext:
    return request.scope["app"].ctx


def odata_response(body: bytes, *, headers: dict[str, str] | None = None, status: int = 200) -> Response:
    """A Graph OData JSON response around an already-serialised body."""
    return Response(
        body, status_code=status, media_type=ODATA_JSON, headers={"OData-Version": "4.0", **(headers or {})}
    )


def take_page_fault(request: Request) -> str | None:
    """The data-level paging fault (`empty_page` / `nextlink_loop`) that fires for this request, if any."""
    ctx = context_of(request)
    if not ctx.faults.active:
        return None
    fault = ctx.faults.take_for(request.scope, PAGE_FAULTS)
    return fault.kind if fault is not None else None


def link_to(request: Request, skiptoken: str) -> str:
    """This request's URL (absolute, on the Graph origin) with a new `$skiptoken`."""
    ctx = context_of(request)
    return next_link(
        ctx.endpoints.graph, request.scope["path"], request.query_params.multi_items(), skiptoken
    )


def loop_link(request: Request) -> str:
    """The collection's first page: what a `nextlink_loop` page points back to."""
    ctx = context_of(request)
    return first_page_link(ctx.endpoints.graph, request.scope["path"], request.query_params.multi_items())


def offset_collection(
    request: Request,
    *,
    context: str,
    items: Sequence[bytes],
    options: QueryOptions,
    page_size: int | None,
) -> bytes:
    """One page of an offset-paged collection (items already filtered), with faults applied."""
    page = offset_page(len(items), options, page_size)
    count = len(items) if options.count else None
    fault = take_page_fault(request)
    if fault == "empty_page" and page.end > page.start:
        # Same position, another spelling: the link must differ from the URL of this very page.
        token = offset_token(page.start, variant_of(options.skiptoken) + 1)
        return collection_body(context, b"[]", count=count, next_link=link_to(request, token))
    link = link_to(request, offset_token(page.end)) if page.more else None
    if fault == "nextlink_loop":
        link = loop_link(request)
    return collection_body(context, json_array(items[page.start : page.end]), count=count, next_link=link)


_OTHER_METHODS = ("POST", "PUT", "PATCH", "DELETE")


async def method_not_allowed(request: Request) -> Response:
    """Graph's 405 (examples/graph_v1_batch_response.json, item 4)."""
    return graph_error(
        request, 405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target."
    )


def read_only(path: str, endpoint: Callable[..., Any], *, name: str, **kwargs: Any) -> list[GraphRoute]:
    """A GET route plus Graph's 405 for the other methods on the same path (after the same auth checks)."""
    return [
        graph_route(path, endpoint, name=name, **kwargs),
        graph_route(path, method_not_allowed, methods=_OTHER_METHODS, name=f"{name}.405", **kwargs),
    ]
