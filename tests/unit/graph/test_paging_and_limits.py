"""Pagination strategy and throttling helpers: pure functions, table-driven."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from smart_office.graph.limits import RetryPolicy, parse_retry_after
from smart_office.graph.paging import NextLinkPaginator

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
