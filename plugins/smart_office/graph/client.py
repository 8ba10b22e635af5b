"""The Graph client: one pooled async HTTP client for every tenant, one token per tenant, pages streamed.

Usage::

    async with GraphClient(cloud, token_provider) as graph:
        async for page in graph.pages(tenant_id, "/security/alerts_v2", params={"$top": "500"}):
            land(page.items)

`token_provider(tenant_id, scope, force_refresh)` is an async callable (the Secure Application Model
exchanger): the client never sees refresh tokens and never logs access tokens.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from smart_office.clouds import Cloud
from smart_office.graph.errors import (
    GraphBadRequestError,
    GraphError,
    GraphForbiddenError,
    GraphNotFoundError,
    GraphThrottledError,
    GraphTransientError,
    GraphUnauthorizedError,
    MalformedPageError,
    PaginationError,
)
from smart_office.graph.paging import NextLinkPaginator
from smart_office.graph.rate_limits import (
    SECURITY,
    Bucket,
    RetryAllowance,
    RetryPolicy,
    TenantLimits,
    parse_retry_after,
)
from smart_office.payloads import NonFiniteNumber
from smart_office.redaction import redact_url
from smart_office.tls import USER_AGENT, environment_proxy, ssl_context

log = logging.getLogger(__name__)

TokenProvider = Callable[[str, str, bool], Awaitable[str]]

_RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Without it Graph hides newer enum members behind `unknownFutureValue`; we keep the real values.
_ITEM_HEADERS = {"Prefer": "include-unknown-enum-members"}


@dataclass(slots=True)
class RequestStats:
    """What it took to get data for one tenant and endpoint; lands in ops.tenant_runs."""

    requests: int = 0
    throttled: int = 0
    retries: int = 0
    pages: int = 0
    bytes: int = 0

    def add(self, other: RequestStats) -> None:
        self.requests += other.requests
        self.throttled += other.throttled
        self.retries += other.retries
        self.pages += other.pages
        self.bytes += other.bytes


@dataclass(slots=True)
class GraphPage:
    """One page of a collection. `items` are the JSON objects of `value`, unchanged.

    `salvaged` is True when the body was not valid UTF-8 and was parsed leniently: items whose strings hold
    undecodable bytes must be quarantined by the loader, not stored.
    """

    url: str
    items: list[Any]
    next_link: str | None
    size: int
    salvaged: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, slots=True)
class BatchRequest:
    """One request inside a $batch: `url` relative to /v1.0, e.g. `/security/secureScores?$top=1`."""

    id: str
    url: str
    bucket: Bucket = SECURITY
    method: str = "GET"


@dataclass(slots=True)
class BatchResponse:
    id: str
    status: int
    headers: dict[str, str]
    body: Any
    # The batch body was parsed leniently (undecodable bytes, bare NaN/Infinity): see GraphPage.salvaged.
    salvaged: bool = False


class GraphClient:
    """Async Microsoft Graph v1.0 client.

    :param cloud: endpoint set (base URL, resource, CA bundle).
    :param token_provider: async `(tenant_id, scope, force_refresh) -> access token`.
    :param limits: shared per-tenant/global limits (one per process).
    :param retry: retry policy for 429, 5xx, timeouts and broken bodies.
    :param timeout: seconds per request (connect/read/write).
    :param max_pages: page cap per collection.
    """

    def __init__(
        self,
        cloud: Cloud,
        token_provider: TokenProvider,
        *,
        limits: TenantLimits | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 60.0,
        max_pages: int = 10_000,
        max_connections: int = 16,
    ) -> None:
        self.cloud = cloud
        self._tokens = token_provider
        self.limits = limits or TenantLimits(global_concurrency=max_connections)
        self.retry = retry or RetryPolicy()
        self.max_pages = max_pages
        # What went over the wire, by URL path (`/v1.0/$batch`, `/v1.0/security/alerts_v2`), retries included;
        # and the requests inside each $batch sent, by the path they address: the service's view of a run.
        self.sent: Counter[str] = Counter()
        self.batch_items: Counter[str] = Counter()
        self._base_path = httpx.URL(cloud.graph_base).path.rstrip("/")
        self._http = httpx.AsyncClient(
            verify=ssl_context(cloud.ca_bundle),
            # trust_env off keeps SSL_CERT_FILE from replacing our CA; the proxy is still the environment's.
            trust_env=False,
            proxy=environment_proxy(cloud.graph_base),
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=False,
        )

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    def url(self, path: str, params: Mapping[str, str] | None = None) -> str:
        """Absolute URL for a path under /v1.0 (the `$` of OData options is kept readable)."""
        url = f"{self.cloud.graph_base}/{path.lstrip('/')}"
        if params:
            url += "?" + urlencode(params, safe="$,'():/ ").replace(" ", "%20")
        return url

    async def get_json(
        self,
        tenant_id: str,
        url: str,
        *,
        bucket: Bucket = SECURITY,
        stats: RequestStats | None = None,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
    ) -> tuple[Any, int, bool]:
        """GET one URL and parse it. Returns (json, size in bytes, salvaged)."""
        return await self._send_json(
            tenant_id, "GET", url, bucket=bucket, stats=stats, deadline=deadline, allowance=allowance
        )

    async def _send_json(
        self,
        tenant_id: str,
        method: str,
        url: str,
        *,
        bucket: Bucket,
        stats: RequestStats | None,
        json_body: Any = None,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
    ) -> tuple[Any, int, bool]:
        """Send and parse. A body that is not JSON is usually a connection cut short behind a proxy: it is
        requested again a couple of times before it counts as malformed."""
        for attempt in range(3):
            response = await self._send(
                tenant_id,
                method,
                url,
                bucket=bucket,
                stats=stats,
                json_body=json_body,
                deadline=deadline,
                allowance=allowance,
            )
            try:
                return _parse_body(response, tenant_id=tenant_id, endpoint=_endpoint(url))
            except MalformedPageError:
                if attempt == 2:
                    raise
                if stats is not None:
                    stats.retries += 1
                await asyncio.sleep(self.retry.backoff(attempt))
        raise AssertionError("unreachable")

    async def pages(
        self,
        tenant_id: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        bucket: Bucket = SECURITY,
        stats: RequestStats | None = None,
        first_page: Any = None,
        first_page_salvaged: bool = False,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
        read_ahead: bool = False,
    ) -> AsyncIterator[GraphPage]:
        """Yield the pages of a collection one at a time, following @odata.nextLink.

        `first_page` lets a caller that fetched page one through $batch continue from it. `deadline` (a
        `time.monotonic()` value) bounds the whole collection: retries stop at it, and a page that would
        start after it raises PaginationError.

        `read_ahead`, for a collection that documents `$count` and `$skip` and is asked with `$count=true` and a
        `$top`: when the first page's `@odata.count` says more items match than it carries, the remaining
        pages (the same query with `$skip` = `$top` apart) are fetched together in $batch round trips of up
        to 20, not one nextLink per round trip, and still yielded in order. Items that move between pages
        while they are read may come twice, which landing tolerates; if the last of those pages still has a
        nextLink (the set grew meanwhile), it is followed as usual.
        """
        stats = stats if stats is not None else RequestStats()
        params = dict(params or {})
        url = self.url(path, params)
        paginator = NextLinkPaginator(url, max_pages=self.max_pages, deadline=deadline)
        body: Any = first_page
        size, salvaged = 0, first_page_salvaged
        page_size = _int_or_zero(params.get("$top")) if read_ahead else 0
        while True:
            if body is None:
                body, size, salvaged = await self.get_json(
                    tenant_id, url, bucket=bucket, stats=stats, deadline=deadline, allowance=allowance
                )
            items = _collection_items(body, salvaged, tenant_id=tenant_id, url=url)
            next_url = _next_url(paginator, body, tenant_id=tenant_id, url=url)
            skips = (
                paginator.skips_ahead(body.get("@odata.count"), len(items), page_size)
                if page_size and next_url is not None
                else []
            )
            page_size = 0  # only the first page's count: after the pages read ahead, nextLinks as usual
            stats.pages += 1
            yield GraphPage(url=url, items=items, next_link=next_url, size=size, salvaged=salvaged, raw=body)
            if skips:
                ahead = [self.url(path, {**params, "$skip": str(skip)}) for skip in skips]
                paginator.expect(ahead)
                fetched = self._read_ahead(
                    tenant_id,
                    ahead,
                    paginator,
                    bucket=bucket,
                    stats=stats,
                    deadline=deadline,
                    allowance=allowance,
                )
                index = 0
                async for url, body, salvaged in fetched:
                    items = _collection_items(body, salvaged, tenant_id=tenant_id, url=url)
                    index += 1
                    if index < len(ahead):
                        # Its successor is already known (and on its way); its own nextLink is not needed.
                        paginator.read_ahead(body)
                        next_url = ahead[index]
                    else:
                        next_url = _next_url(paginator, body, tenant_id=tenant_id, url=url)
                    stats.pages += 1
                    yield GraphPage(
                        url=url, items=items, next_link=next_url, size=0, salvaged=salvaged, raw=body
                    )
            if next_url is None:
                return
            url, body = next_url, None

    async def _read_ahead(
        self,
        tenant_id: str,
        urls: list[str],
        paginator: NextLinkPaginator,
        *,
        bucket: Bucket,
        stats: RequestStats,
        deadline: float | None,
        allowance: RetryAllowance | None,
    ) -> AsyncIterator[tuple[str, Any, bool]]:
        """(url, body, salvaged) of each URL in order, fetched 20 to a $batch round trip. A page the batch could
        not get (after its own retries), or every page of a round trip that failed as a whole, is fetched on
        its own, which retries and raises as any single page does."""
        for start in range(0, len(urls), 20):
            try:
                paginator.check_time()
            except ValueError as exc:
                raise PaginationError(str(exc), tenant_id=tenant_id, endpoint=_endpoint(urls[0])) from None
            chunk = urls[start : start + 20]
            requests = [
                BatchRequest(str(i), url[len(self.cloud.graph_base) :], bucket) for i, url in enumerate(chunk)
            ]
            try:
                answers = await self.batch(
                    tenant_id,
                    requests,
                    stats=stats,
                    item_stats={r.id: stats for r in requests},
                    deadline=deadline,
                    allowance=allowance,
                    bucket=bucket,
                )
            except GraphError as error:
                log.info(
                    "$batch of %d pages for %s failed (%s); fetching each on its own",
                    len(chunk),
                    tenant_id,
                    error.state,
                )
                answers = {}
            for request, url in zip(requests, chunk, strict=True):
                answer = answers.get(request.id)
                if answer is not None and answer.status == 200 and _is_collection(answer.body):
                    yield url, answer.body, answer.salvaged
                else:
                    body, _, salvaged = await self.get_json(
                        tenant_id, url, bucket=bucket, stats=stats, deadline=deadline, allowance=allowance
                    )
                    yield url, body, salvaged

    async def batch(
        self,
        tenant_id: str,
        requests: list[BatchRequest],
        *,
        stats: RequestStats | None = None,
        item_stats: Mapping[str, RequestStats] | None = None,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
        bucket: Bucket = SECURITY,
    ) -> dict[str, BatchResponse]:
        """Run up to 20 GETs in one $batch round trip; retry only the sub-requests that were throttled or failed
        transiently, in a new batch after the longest Retry-After among them.

        `stats` gets the round trips; `item_stats[id]` what happened to each sub-request (its throttling
        and retries), so a throttled alerts_v2 request is booked to alerts_v2, not to the batch. `bucket` is the
        client-side limit the round trips count against (the security API's unless the items are not).
        """
        if not requests:
            return {}
        if len(requests) > 20:
            raise ValueError("Graph $batch takes at most 20 requests")
        pending = {r.id: r for r in requests}
        done: dict[str, BatchResponse] = {}
        budget = self.retry.start(deadline=deadline, allowance=allowance)
        while True:
            # Headers are per item inside a batch: the outer Prefer does not reach them.
            payload = {
                "requests": [
                    {"id": r.id, "method": r.method, "url": r.url, "headers": dict(_ITEM_HEADERS)}
                    for r in pending.values()
                ]
            }
            for r in pending.values():
                self.batch_items[self._base_path + "/" + r.url.split("?", 1)[0].lstrip("/")] += 1
            response = await self._send(
                tenant_id,
                "POST",
                f"{self.cloud.graph_base}/$batch",
                bucket=bucket,
                stats=stats,
                json_body=payload,
                deadline=deadline,
                allowance=allowance,
            )
            body, _, salvaged = _parse_body(response, tenant_id=tenant_id, endpoint="/$batch")
            responses = body.get("responses") if isinstance(body, dict) else None
            if not isinstance(responses, list):
                raise MalformedPageError(
                    "$batch response without a `responses` array",
                    raw=response.content,
                    tenant_id=tenant_id,
                    endpoint="/$batch",
                    status=response.status_code,
                )
            retryable: dict[str, BatchResponse] = {}
            waits: list[float] = []
            for item in responses:
                if not isinstance(item, dict):
                    continue
                item_id = str(item.get("id"))
                if item_id not in pending:
                    continue
                status = _int_or_zero(item.get("status"))
                headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
                answer = BatchResponse(item_id, status, headers, item.get("body"), salvaged)
                if status in _RETRYABLE_STATUS:
                    own = (item_stats or {}).get(item_id)
                    if own is not None:
                        own.throttled += status == 429
                    retryable[item_id] = answer
                    wait = parse_retry_after(headers.get("retry-after"))
                    waits.append(wait if wait is not None else self.retry.backoff(budget.attempts))
                    continue
                done[item_id] = answer
                del pending[item_id]
            if not pending:
                return done
            missing = [i for i in pending if i not in retryable]
            if missing and not retryable:
                raise GraphTransientError(
                    f"$batch response lacks ids {missing}", tenant_id=tenant_id, endpoint="/$batch"
                )
            wait = budget.next_wait(max(waits) if waits else None)
            if wait is None:
                # Out of time: what is still throttled is answered as Graph last answered it.
                for item_id in pending:
                    done[item_id] = retryable.get(item_id) or BatchResponse(item_id, 503, {}, None)
                return done
            # Booked only now: an answer given up on above was not retried.
            for item_id in retryable:
                own = (item_stats or {}).get(item_id)
                if own is not None:
                    own.retries += 1
            await asyncio.sleep(wait)

    async def _send(
        self,
        tenant_id: str,
        method: str,
        url: str,
        *,
        bucket: Bucket,
        stats: RequestStats | None,
        json_body: Any = None,
        deadline: float | None = None,
        allowance: RetryAllowance | None = None,
    ) -> httpx.Response:
        """Send with limits, token, and retries within the policy's time budget. Returns a 2xx response
        whose body has been read; raises the typed GraphError of the last answer when time runs out."""
        endpoint = _endpoint(url)
        slots, rate = self.limits.for_tenant(tenant_id, bucket)
        force_refresh = False
        budget = self.retry.start(deadline=deadline, allowance=allowance)
        content = orjson.dumps(json_body) if json_body is not None else None
        path = httpx.URL(url).path
        while True:
            token = await self._tokens(tenant_id, self.cloud.graph_scope, force_refresh)
            headers = {
                "Authorization": f"Bearer {token}",
                "client-request-id": str(uuid.uuid4()),
                # Without it Graph hides newer enum members behind `unknownFutureValue`; we keep real values.
                "Prefer": "include-unknown-enum-members",
            }
            if content is not None:
                headers["Content-Type"] = "application/json"
            await rate.acquire()
            started = time.monotonic()
            self.sent[path] += 1
            try:
                async with slots, self.limits.global_slots:
                    response = await self._http.request(method, url, headers=headers, content=content)
                    await response.aread()
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                if stats is not None:
                    stats.requests += 1
                error: GraphError = GraphTransientError(
                    f"{type(exc).__name__} after {time.monotonic() - started:.1f}s",
                    tenant_id=tenant_id,
                    endpoint=endpoint,
                )
                wait = budget.next_wait()
                if wait is None:
                    raise error from None
                if stats is not None:
                    stats.retries += 1
                await asyncio.sleep(wait)
                continue
            if stats is not None:
                stats.requests += 1
                stats.bytes += len(response.content)
            status = response.status_code
            if 200 <= status < 300:
                return response
            error = _graph_error(response, tenant_id=tenant_id, endpoint=endpoint)
            if status == 401 and not force_refresh:
                force_refresh = True  # the cached token may have been revoked or expired early
                continue
            if status not in _RETRYABLE_STATUS:
                raise error
            if stats is not None:
                stats.throttled += status == 429
            wait = budget.next_wait(parse_retry_after(response.headers.get("Retry-After")))
            if wait is None:
                raise error
            if stats is not None:
                stats.retries += 1
            log.debug("retrying %s for %s in %.2fs (HTTP %s)", redact_url(url), tenant_id, wait, status)
            await asyncio.sleep(wait)


def _is_collection(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("value"), list)


def _collection_items(body: Any, salvaged: bool, *, tenant_id: str, url: str) -> list[Any]:
    """The page's `value`; raises MalformedPageError for anything that is not a collection page."""
    if not _is_collection(body):
        raise MalformedPageError(
            "collection page without a `value` array",
            raw=orjson.dumps(body) if not salvaged else json.dumps(body).encode(errors="replace"),
            tenant_id=tenant_id,
            endpoint=_endpoint(url),
            status=200,
        )
    items: list[Any] = body["value"]
    return items


def _next_url(paginator: NextLinkPaginator, body: dict[str, Any], *, tenant_id: str, url: str) -> str | None:
    try:
        return paginator.next_url(body)
    except ValueError as exc:
        raise PaginationError(str(exc), tenant_id=tenant_id, endpoint=_endpoint(url)) from None


def _int_or_zero(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _endpoint(url: str) -> str:
    """`https://host/v1.0/security/alerts_v2?$top=5` → `/security/alerts_v2` (for messages and stats)."""
    path = httpx.URL(url).path
    return path.split("/v1.0", 1)[-1] or "/"


def _parse_body(response: httpx.Response, *, tenant_id: str, endpoint: str) -> tuple[Any, int, bool]:
    raw = response.content
    try:
        return orjson.loads(raw), len(raw), False
    except orjson.JSONDecodeError:
        pass
    # Invalid UTF-8, or a bare NaN/Infinity, inside an otherwise well-formed page: parse it without losing
    # anything (undecodable bytes as surrogates, the tokens as markers), so every item still lands and the
    # loader records what it had to repair.
    try:
        text = raw.decode("utf-8", "surrogateescape")
        return json.loads(text, parse_constant=NonFiniteNumber), len(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedPageError(
            f"response is not JSON ({exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')})",
            raw=raw,
            tenant_id=tenant_id,
            endpoint=endpoint,
            status=response.status_code,
            request_id=response.headers.get("request-id"),
        ) from None


_ERROR_TYPES: dict[int, type[GraphError]] = {
    400: GraphBadRequestError,
    401: GraphUnauthorizedError,
    403: GraphForbiddenError,
    404: GraphNotFoundError,
    429: GraphThrottledError,
}


def _graph_error(response: httpx.Response, *, tenant_id: str, endpoint: str) -> GraphError:
    code = message = None
    try:
        body = orjson.loads(response.content)
        error = body.get("error", {}) if isinstance(body, dict) else {}
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
    except orjson.JSONDecodeError:
        pass
    status = response.status_code
    cls = _ERROR_TYPES.get(status, GraphTransientError if status >= 500 else GraphError)
    return cls(
        str(message or response.reason_phrase)[:300],
        tenant_id=tenant_id,
        endpoint=endpoint,
        status=status,
        code=code or None,
        request_id=response.headers.get("request-id"),
    )
