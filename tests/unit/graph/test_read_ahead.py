"""Reading a collection ahead by `$skip` once its first page's `@odata.count` says how many pages remain: the
strategy (which `$skip` pages) table-driven, then the client's paging over a fake Graph transport that pages
like incidents (`$top` ≤ 50, `$skip`, `$count`, `$skiptoken` nextLinks) and answers `$batch`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from smart_office.clouds import PUBLIC
from smart_office.graph.client import GraphClient, GraphPage, RequestStats
from smart_office.graph.errors import GraphTransientError, PaginationError
from smart_office.graph.paging import NextLinkPaginator
from smart_office.graph.rate_limits import RetryPolicy

BASE = "https://graph.example.test/v1.0/security/incidents?$top=50"
PATH = "/security/incidents"
PARAMS = {"$filter": "lastUpdateDateTime gt 2026-11-01T00:00:00Z", "$top": "50", "$count": "true"}
TENANT = "00000000-0000-4000-8000-000000000001"


# -- the strategy ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "received", "max_pages", "expected"),
    [
        (51, 50, 100, [50]),
        (100, 50, 100, [50]),
        (101, 50, 100, [50, 100]),
        (1300, 50, 100, list(range(50, 1300, 50))),
        # A first page that came empty (with a nextLink) still starts at the first item.
        (120, 0, 100, [0, 50, 100]),
        # The page cap leaves room for two more pages only: the third page's nextLink then hits the cap.
        (1000, 50, 3, [50, 100]),
        (1000, 50, 2, [50]),
        # Nothing to read ahead: no more than what came, no count, or not a number.
        (50, 50, 100, []),
        (30, 50, 100, []),
        (None, 50, 100, []),
        ("120", 50, 100, []),
        (True, 0, 100, []),
    ],
)
def test_skips_ahead(count: object, received: int, max_pages: int, expected: list[int]) -> None:
    pager = NextLinkPaginator(BASE, max_pages=max_pages)
    pager.next_url({"value": [1] * received, "@odata.nextLink": BASE + "&$skiptoken=a"})
    assert pager.skips_ahead(count, received, 50) == expected


def test_a_nextlink_back_to_a_page_read_ahead_is_a_loop() -> None:
    pager = NextLinkPaginator(BASE)
    ahead = [BASE + "&$skip=50", BASE + "&$skip=100"]
    pager.expect(ahead)
    pager.read_ahead({"value": [1]})
    with pytest.raises(ValueError, match="loop"):
        pager.next_url({"value": [1], "@odata.nextLink": ahead[0]})


# -- the client over a fake Graph -----------------------------------------------------------------------
class FakeIncidents:
    """`total` incidents paged like Graph's: `@odata.count` as asked (or `count` when given: a stale one),
    `$skip` honoured, nextLinks with a `$skiptoken`. `$batch` answers in reverse order (Graph promises none);
    `failing(skip, attempt)` gives a status for a page inside a $batch, `failing_alone` one fetched alone."""

    def __init__(
        self,
        total: int,
        *,
        count: int | None = None,
        omit_count: bool = False,
        failing: Callable[[int, int], int] | None = None,
        failing_alone: Callable[[int], int] | None = None,
        batch_seconds: float = 0.0,
    ) -> None:
        self.items = [{"id": f"inc-{n:04d}"} for n in range(total)]
        self.count = total if count is None else count
        self.omit_count = omit_count
        self.failing = failing
        self.failing_alone = failing_alone
        self.batch_seconds = batch_seconds
        self.round_trips: list[str] = []  # "GET skip=…" / "GET token=…" / "$batch"
        self.batches: list[list[int]] = []  # the $skip of each request inside each $batch
        self._attempts: dict[int, int] = {}

    def page(self, url: httpx.URL) -> dict[str, Any]:
        query = dict(url.params)
        top = int(query["$top"])
        assert top <= 50, "Graph answers 400 above 50"
        start = int(query.get("$skiptoken") or query.get("$skip") or 0)
        body: dict[str, Any] = {"value": self.items[start : start + top]}
        if query.get("$count") == "true" and not self.omit_count:
            body["@odata.count"] = self.count
        if start + top < len(self.items):
            body["@odata.nextLink"] = str(
                url.copy_remove_param("$skip").copy_set_param("$skiptoken", str(start + top))
            )
        return body

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/$batch"):
            self.round_trips.append("$batch")
            answers, skips = [], []
            for item in orjson.loads(request.content)["requests"]:
                url = httpx.URL(str(request.url).removesuffix("/$batch") + item["url"])
                skip = int(url.params["$skip"])
                skips.append(skip)
                self._attempts[skip] = attempt = self._attempts.get(skip, 0) + 1
                status = self.failing(skip, attempt) if self.failing else 200
                body = self.page(url) if status == 200 else {"error": {"code": "x", "message": "failed"}}
                answers.append({"id": item["id"], "status": status, "headers": {}, "body": body})
            self.batches.append(skips)
            time.sleep(self.batch_seconds)
            return httpx.Response(200, json={"responses": answers[::-1]})
        params = request.url.params
        self.round_trips.append(
            f"GET token={params['$skiptoken']}"
            if "$skiptoken" in params
            else f"GET skip={params.get('$skip', 0)}"
        )
        status = self.failing_alone(int(params.get("$skip", 0))) if self.failing_alone else 200
        if status != 200:
            return httpx.Response(status, json={"error": {"code": "x", "message": "failed"}})
        return httpx.Response(200, json=self.page(request.url))


async def _token(tenant_id: str, scope: str, force_refresh: bool) -> str:
    return "token"


def _read(
    graph: FakeIncidents,
    *,
    read_ahead: bool = True,
    first_page: bool = False,
    max_pages: int = 10_000,
    into: list[GraphPage] | None = None,
    seconds: float | None = None,
) -> tuple[list[GraphPage], RequestStats]:
    """Every page of the collection as the extractor asks for it (the first page from its own $batch when
    `first_page`), and what it cost."""
    pages: list[GraphPage] = [] if into is None else into
    stats = RequestStats()

    async def run() -> None:
        client = GraphClient(
            PUBLIC,
            _token,
            retry=RetryPolicy(budget=5.0, backoff_base=0.001, backoff_cap=0.001, max_attempts=3),
            max_pages=max_pages,
        )
        # The transport is the only thing replaced: the client's own paging, batching and retries run as is.
        await client._http.aclose()
        client._http = httpx.AsyncClient(transport=httpx.MockTransport(graph))
        first = graph.page(httpx.URL(client.url(PATH, PARAMS))) if first_page else None
        deadline = time.monotonic() + seconds if seconds is not None else None
        async with client:
            async for page in client.pages(
                TENANT,
                PATH,
                params=PARAMS,
                stats=stats,
                first_page=first,
                deadline=deadline,
                read_ahead=read_ahead,
            ):
                pages.append(page)

    asyncio.run(run())
    return pages, stats


def _ids(pages: list[GraphPage]) -> list[str]:
    return [item["id"] for page in pages for item in page.items]


def _skip(page: GraphPage) -> int:
    return int(httpx.URL(page.url).params.get("$skip", 0))


def test_the_count_on_the_first_page_fetches_the_rest_in_one_batch_in_order() -> None:
    graph = FakeIncidents(173)
    pages, stats = _read(graph)
    assert graph.round_trips == ["GET skip=0", "$batch"]
    assert graph.batches == [[50, 100, 150]]
    # In order although the $batch answered in reverse, and only the last page says it is the last.
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert [_skip(p) for p in pages] == [0, 50, 100, 150]
    assert [p.next_link is None for p in pages] == [False, False, False, True]
    # The read-ahead pages are the same query with $skip, $top apart.
    assert {k: v for k, v in httpx.URL(pages[2].url).params.items() if k != "$skip"} == PARAMS
    assert (stats.requests, stats.pages) == (2, 4)


def test_a_first_page_from_the_callers_batch_costs_one_more_round_trip() -> None:
    graph = FakeIncidents(120)
    pages, stats = _read(graph, first_page=True)
    assert graph.round_trips == ["$batch"]
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert (stats.requests, stats.pages) == (1, 3)


def test_at_most_twenty_pages_to_a_batch() -> None:
    graph = FakeIncidents(50 + 45 * 50 + 7)
    pages, stats = _read(graph)
    assert graph.round_trips == ["GET skip=0", "$batch", "$batch", "$batch"]
    assert [len(b) for b in graph.batches] == [20, 20, 6]
    assert [s for b in graph.batches for s in b] == list(range(50, 50 + 46 * 50, 50))
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert (stats.requests, stats.pages) == (4, 47)


def test_a_page_the_batch_could_not_get_is_fetched_on_its_own() -> None:
    # Inside a $batch the page at $skip=100 keeps failing: retried by the batch, then fetched alone.
    graph = FakeIncidents(210, failing=lambda skip, attempt: 503 if skip == 100 else 200)
    pages, stats = _read(graph)
    assert graph.batches == [[50, 100, 150, 200], [100], [100]]
    assert graph.round_trips == ["GET skip=0", "$batch", "$batch", "$batch", "GET skip=100"]
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert (stats.requests, stats.pages) == (5, 5)
    # The batch retried the page twice and then gave up on it: two retries, booked to the collection.
    assert stats.retries == 2


def test_a_page_that_fails_alone_too_fails_the_collection_after_the_pages_before_it() -> None:
    graph = FakeIncidents(
        210,
        failing=lambda skip, attempt: 404 if skip == 100 else 200,
        failing_alone=lambda skip: 503 if skip == 100 else 200,
    )
    pages: list[GraphPage] = []
    with pytest.raises(GraphTransientError):
        _read(graph, into=pages)
    # Not retried inside the batch (a 404 is no transient failure), retried alone until the policy gives up.
    assert graph.batches == [[50, 100, 150, 200]]
    assert graph.round_trips[:3] == ["GET skip=0", "$batch", "GET skip=100"]
    assert set(graph.round_trips[3:]) == {"GET skip=100"}
    assert [_skip(p) for p in pages] == [0, 50]


def test_a_set_that_grew_beyond_its_count_continues_by_nextlink() -> None:
    # The count said 120 (it was read before 40 more matched): two pages ahead, then the nextLinks.
    graph = FakeIncidents(260, count=120)
    pages, stats = _read(graph)
    assert graph.round_trips == ["GET skip=0", "$batch", "GET token=150", "GET token=200", "GET token=250"]
    assert graph.batches == [[50, 100]]
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert [p.next_link is None for p in pages] == [False] * 5 + [True]
    assert (stats.requests, stats.pages) == (5, 6)


@pytest.mark.parametrize(
    ("graph", "read_ahead"),
    [
        (FakeIncidents(160, omit_count=True), True),  # no @odata.count
        (FakeIncidents(160, count=40), True),  # a count smaller than the first page: wrong, ignored
        (FakeIncidents(160, count=50), True),  # no more than the first page
        (FakeIncidents(160), False),  # not asked for
    ],
)
def test_without_a_usable_count_pages_follow_nextlinks(graph: FakeIncidents, read_ahead: bool) -> None:
    pages, stats = _read(graph, read_ahead=read_ahead)
    assert graph.round_trips == ["GET skip=0", "GET token=50", "GET token=100", "GET token=150"]
    assert graph.batches == []
    assert _ids(pages) == [item["id"] for item in graph.items]
    assert (stats.requests, stats.pages) == (4, 4)


def test_pages_read_ahead_count_against_the_page_cap() -> None:
    graph = FakeIncidents(400)
    pages: list[GraphPage] = []
    with pytest.raises(PaginationError, match="page cap of 3 pages"):
        _read(graph, max_pages=3, into=pages)
    assert graph.batches == [[50, 100]]
    assert [_skip(p) for p in pages] == [0, 50]


def test_no_batch_of_pages_starts_after_the_deadline() -> None:
    # The first $batch (twenty pages) ends past the collection's time limit: the second is not sent.
    graph = FakeIncidents(50 + 30 * 50, batch_seconds=1.5)
    pages: list[GraphPage] = []
    with pytest.raises(PaginationError, match="time limit reached after 21 pages"):
        _read(graph, seconds=1.0, into=pages)
    assert graph.round_trips == ["GET skip=0", "$batch"]
    assert len(pages) == 21
