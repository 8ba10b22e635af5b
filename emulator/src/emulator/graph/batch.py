"""Graph v1.0 `/$batch` (JSON batching, FACTS.md §3; concepts/json-batching.md 2025-02).

- Body `{"requests": [{id, method, url, headers?, body?, dependsOn?}]}`; at most 20 requests, ids unique
  (case-insensitive); a malformed batch is a 400 for the whole batch. `url` is relative to `/v1.0`, with or
  without a leading slash; an absolute URL gets a 400 for that item only.
- Each item is served by re-entering the Graph service (`call_internal`) with the batch's bearer token and
  the item's own headers, so auth, permissions, throttling, faults and stats apply per item. The outer
  request's other headers (e.g. `Prefer`) are NOT copied into items — Graph evaluates each request with its
  own headers (json-batching.md: `headers` per request; e.g. ConsistencyLevel must be set per request).
- `dependsOn` orders items; an item whose dependency did not succeed (status ≥ 400, or itself 424) gets
  424 Failed Dependency without running. Items without dependencies run concurrently.
- The batch answers 200 with `{"responses": [{id, status, headers, body}]}`; a throttled item is a 429 with
  its Retry-After inside the batch. Responses come in no particular order (Graph: "may come in any order"):
  here they are ordered by a seeded hash of the id, so a client that assumes request order fails here.
- Item bodies are spliced into the batch body as the bytes the item produced (no re-encoding), so a batch
  of first pages costs what the pages cost.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from emulator.context import EmulatorContext
from emulator.data.determinism import stable_fraction
from emulator.graph.app import ODATA_JSON, graph_error, graph_route
from emulator.graph.paging import context_of, method_not_allowed

log = logging.getLogger(__name__)

MAX_REQUESTS = 20
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
# Item response headers worth returning, in Graph's spelling (hop-by-hop and tracing headers stay out).
_ITEM_HEADERS = {
    b"content-type": "Content-Type",
    b"retry-after": "Retry-After",
    b"cache-control": "Cache-Control",
    b"odata-version": "OData-Version",
    b"preference-applied": "Preference-Applied",
    b"location": "Location",
    b"www-authenticate": "WWW-Authenticate",
    b"etag": "ETag",
}


class BatchError(ValueError):
    """The batch as a whole is malformed (400)."""


def _validate(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise BatchError("Invalid batch payload format.")
    requests = payload["requests"]
    if not requests:
        raise BatchError("Invalid batch payload format: no requests.")
    if len(requests) > MAX_REQUESTS:
        # Wording inferred; the limit of 20 is documented (json-batching.md).
        raise BatchError(f"The number of requests in a batch cannot exceed {MAX_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict):
            raise BatchError("Invalid batch payload format.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(item_id, str) or not item_id:
            raise BatchError("Each request in a batch must have an id.")
        if item_id.lower() in seen:
            raise BatchError(f"Batch request contains duplicate id '{item_id}'.")
        seen.add(item_id.lower())
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise BatchError(f"Invalid method for request '{item_id}'.")
        if not isinstance(url, str) or not url:
            raise BatchError(f"Request '{item_id}' has no url.")
        headers = item.get("headers", {})
        if headers is not None and not isinstance(headers, dict):
            raise BatchError(f"Invalid headers for request '{item_id}'.")
        if "body" in item and not any(str(k).lower() == "content-type" for k in (headers or {})):
            raise BatchError(f"Content-Type header must be specified for request '{item_id}' with a body.")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise BatchError(f"Invalid dependsOn for request '{item_id}'.")
    ids = {r["id"].lower() for r in requests}
    for item in requests:
        for dependency in item.get("dependsOn", []):
            if dependency.lower() not in ids:
                raise BatchError(
                    f"Request '{item['id']}' depends on '{dependency}', which is not in the batch."
                )
    _levels(requests)  # refuses cycles
    return requests


def _levels(requests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Requests grouped so that every dependency is in an earlier group."""
    remaining = {r["id"].lower(): r for r in requests}
    done: set[str] = set()
    levels: list[list[dict[str, Any]]] = []
    while remaining:
        ready = [r for key, r in remaining.items() if all(d.lower() in done for d in r.get("dependsOn", []))]
        if not ready:
            raise BatchError("The dependsOn references of the batch form a cycle.")
        levels.append(ready)
        for r in ready:
            done.add(r["id"].lower())
            del remaining[r["id"].lower()]
    return levels


def _item_path(url: str) -> str | None:
    if "://" in url.split("?", 1)[0]:
        return None
    return "/v1.0" + (url if url.startswith("/") else "/" + url)


def _encoded_item(
    item_id: str, status: int, headers: dict[str, str], body: bytes | None, json_body: bool
) -> bytes:
    head = orjson.dumps({"id": item_id, "status": status, "headers": headers})
    if body is None or not body:
        return head
    if json_body:
        return head[:-1] + b',"body":' + body + b"}"
    return head[:-1] + b',"body":' + orjson.dumps(base64.b64encode(body).decode()) + b"}"


def _is_json(content_type: str) -> bool:
    # Items are served by this service's own handlers (transport faults that break bodies do not apply to
    # inner requests), so a JSON content type means a JSON body; re-parsing multi-MB pages would be waste.
    return "json" in content_type.lower()


async def post_batch(request: Request) -> Response:
    ctx = context_of(request)
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return graph_error(request, 400, "BadRequest", "Invalid batch payload format.")
    try:
        requests = _validate(payload)
    except BatchError as error:
        return graph_error(request, 400, "BadRequest", str(error))
    service = request.scope["app"]
    authorization = request.headers.get("authorization", "").encode("latin-1")
    results: dict[str, tuple[int, bytes]] = {}

    async def run(item: dict[str, Any]) -> None:
        item_id = item["id"]
        failed = [d for d in item.get("dependsOn", []) if results[d.lower()][0] >= 400]
        if failed:
            body = orjson.dumps(
                {"error": {"code": "FailedDependency", "message": f"Dependency '{failed[0]}' failed."}}
            )
            results[item_id.lower()] = (
                424,
                _encoded_item(item_id, 424, {"Content-Type": "application/json"}, body, True),
            )
            return
        path = _item_path(item["url"])
        if path is None:
            body = orjson.dumps(
                {
                    "error": {
                        "code": "BadRequest",
                        "message": "Invalid request URL: use a URL relative to /v1.0.",
                    }
                }
            )
            results[item_id.lower()] = (
                400,
                _encoded_item(item_id, 400, {"Content-Type": "application/json"}, body, True),
            )
            return
        headers = [(b"authorization", authorization)] if authorization else []
        for name, value in (item.get("headers") or {}).items():
            headers.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
        content = b""
        if "body" in item:
            raw = item["body"]
            content = raw.encode() if isinstance(raw, str) else orjson.dumps(raw)
        try:
            status, response_headers, body = await service.call_internal(
                item["method"], path, headers=headers, body=content, base_scope=request.scope
            )
        except Exception:  # a failing item is that item's 500, never the whole batch's
            log.exception("$batch item %s (%s %s) failed", item_id, item["method"], path.split("?", 1)[0])
            body = orjson.dumps(
                {"error": {"code": "generalException", "message": "An unspecified error has occurred."}}
            )
            status, response_headers = 500, [(b"content-type", b"application/json")]
        kept = {
            _ITEM_HEADERS[k.lower()]: v.decode("latin-1")
            for k, v in response_headers
            if k.lower() in _ITEM_HEADERS
        }
        json_body = _is_json(kept.get("Content-Type", ""))
        results[item_id.lower()] = (status, _encoded_item(item_id, status, kept, body, json_body))

    for level in _levels(requests):
        await asyncio.gather(*(run(item) for item in level))
    seed = ctx.config.seed
    order = sorted(results, key=lambda key: (stable_fraction(seed, "batch-order", key), key))
    body = b'{"responses":[' + b",".join(results[key][1] for key in order) + b"]}"
    return Response(body, media_type=ODATA_JSON, headers={"OData-Version": "4.0"})


def routes(ctx: EmulatorContext) -> list[BaseRoute]:
    return [
        graph_route("/$batch", post_batch, methods=("POST",), name="$batch"),
        graph_route(
            "/$batch", method_not_allowed, methods=("GET", "PUT", "PATCH", "DELETE"), name="$batch.405"
        ),
    ]
