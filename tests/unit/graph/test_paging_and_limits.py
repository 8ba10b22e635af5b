"""Pagination strategy and throttling helpers: pure functions, table-driven."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from smart_office.graph.paging import NextLinkPaginator
from smart_office.graph.rate_limits import RetryAllowance, RetryPolicy, parse_retry_after

BASE = "https://graph.example.test/v1.0/security/alerts_v2?$top=2"


def test_follows_next_links_until_absent() -> None:
    pager = NextLinkPaginator(BASE)
    assert pager.next_url({"value": [1], "@odata.nextLink": BASE + "&$skiptoken=a"}) == BASE + "&$skiptoken=a"
    assert pager.next_url({"value": [], "@odata.nextLink": BASE + "&$skiptoken=b"}) == BASE + "&$skiptoken=b"
    assert pager.next_url({"value": [2]}) is None
    assert pager.pages == 3


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        ([{"@odata.nextLink": BASE}], "loop"),
        ([{"@odata.nextLink": BASE + "&$skiptoken=a"}, {"@odata.nextLink": BASE + "&$skiptoken=a"}], "loop"),
        ([{"@odata.nextLink": "https://elsewhere.test/v1.0/x?$skiptoken=a"}], "another origin"),
        ([{"@odata.nextLink": "http://graph.example.test/v1.0/x"}], "another origin"),
        ([{"@odata.nextLink": 42}], "not a string"),
    ],
)
def test_refuses_bad_links(pages: list[dict[str, object]], message: str) -> None:
    pager = NextLinkPaginator(BASE)
    *accepted, refused = pages
    for page in accepted:
        pager.next_url(page)
    with pytest.raises(ValueError, match=message):
        pager.next_url(refused)


def test_page_cap() -> None:
    pager = NextLinkPaginator(BASE, max_pages=3)
    pager.next_url({"@odata.nextLink": BASE + "&s=1"})
    pager.next_url({"@odata.nextLink": BASE + "&s=2"})
    with pytest.raises(ValueError, match="page cap of 3"):
        pager.next_url({"@odata.nextLink": BASE + "&s=3"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2.128", 2.128),
        ("10", 10.0),
        (" 0.5 ", 0.5),
        ("-3", 0.0),
        ("nan", 0.0),
        ("Sat, 28 Nov 2026 12:00:30 GMT", 30.0),
        ("Sat, 28 Nov 2026 11:59:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_backoff_is_jittered_and_capped() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0)
    rng = random.Random(1)
    draws = [policy.backoff(attempt, rng) for attempt in range(10) for _ in range(20)]
    assert all(0 <= d <= 8.0 for d in draws)
    assert len({round(d, 6) for d in draws}) > 100  # jitter, not a fixed schedule
    assert max(policy.backoff(0, random.Random(s)) for s in range(50)) <= 1.0


def test_consecutive_empty_pages_are_bounded_but_isolated_ones_are_fine() -> None:
    pager = NextLinkPaginator(BASE, max_empty_pages=3)
    for i in range(10):  # empty pages between full ones never add up
        pager.next_url({"value": [], "@odata.nextLink": f"{BASE}&e={i}"})
        pager.next_url({"value": [1], "@odata.nextLink": f"{BASE}&f={i}"})
    pager.next_url({"value": [], "@odata.nextLink": BASE + "&x=1"})
    pager.next_url({"value": [], "@odata.nextLink": BASE + "&x=2"})
    with pytest.raises(ValueError, match="3 empty pages in a row"):
        pager.next_url({"value": [], "@odata.nextLink": BASE + "&x=3"})


def test_paging_stops_at_its_deadline() -> None:
    now = [100.0]
    pager = NextLinkPaginator(BASE, deadline=110.0, clock=lambda: now[0])
    pager.next_url({"value": [1], "@odata.nextLink": BASE + "&s=1"})
    now[0] = 110.0
    with pytest.raises(ValueError, match="time limit reached after 2 pages"):
        pager.next_url({"value": [1], "@odata.nextLink": BASE + "&s=2"})
    # The last page needs no next one: a collection that ends in time is complete whatever the clock says.
    assert NextLinkPaginator(BASE, deadline=0.0, clock=lambda: 1.0).next_url({"value": [1]}) is None


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_retries_are_bounded_by_time_not_by_a_count() -> None:
    clock = _Clock()
    budget = RetryPolicy(budget=10.0, max_wait=5.0).start(clock=clock)
    waits = []
    # Six quick 429s with a one-second Retry-After: all honoured, well inside the budget.
    for _ in range(6):
        wait = budget.next_wait(1.0)
        assert wait == 1.0
        waits.append(wait)
        clock.now += wait
    assert budget.next_wait(4.5) is None  # 6 s gone: another 4.5 s would end past the 10 s budget
    assert RetryPolicy(max_wait=5.0).start(clock=clock).next_wait(6.0) is None  # over the documented maximum


def test_retry_waits_respect_a_deadline_and_a_floor() -> None:
    clock = _Clock()
    budget = RetryPolicy(budget=100.0).start(deadline=3.0, clock=clock)
    assert budget.next_wait(2.0) == 2.0
    clock.now = 2.0
    assert budget.next_wait(2.0) is None  # the caller's deadline is earlier than the policy's budget
    floored = RetryPolicy(backoff_base=0.1, backoff_cap=0.1).start(clock=clock)
    assert floored.next_wait(minimum=5.0) == 5.0


def test_a_tenant_allowance_is_shared_by_its_requests() -> None:
    clock = _Clock()
    allowance = RetryAllowance(5.0)
    first = RetryPolicy().start(allowance=allowance, clock=clock)
    assert first.next_wait(3.0) == 3.0
    second = RetryPolicy().start(allowance=allowance, clock=clock)  # another endpoint of the same tenant
    assert second.next_wait(2.0) == 2.0
    assert second.next_wait(0.5) is None
    assert allowance.seconds == 0.0
    assert RetryPolicy().start(allowance=allowance, clock=clock).next_wait(0.1) is None


def test_attempts_are_capped_even_inside_the_budget() -> None:
    budget = RetryPolicy(max_attempts=3).start(clock=_Clock())
    assert budget.next_wait(0.0) == 0.0
    assert budget.next_wait(0.0) == 0.0
    assert budget.next_wait(0.0) is None
