"""Filters survive the round trip through the URL; bad values are dropped and named, never passed on."""

from __future__ import annotations

from datetime import date

import pytest

from smart_office.dashboard.filters import Filters

TENANT = "00000000-0000-4000-8000-00000000000a"


def test_round_trip_through_the_url() -> None:
    filters = Filters(
        customer=TENANT,
        start=date(2026, 8, 1),
        end=date(2026, 10, 31),
        severities=("high", "medium"),
        sources=("microsoftDefenderForEndpoint",),
    )
    query = filters.to_query()
    assert query == {
        "customer": TENANT,
        "from": "2026-08-01",
        "to": "2026-10-31",
        "severity": "high,medium",
        "source": "microsoftDefenderForEndpoint",
    }
    assert Filters.from_query(query) == (filters, [])


def test_defaults_leave_the_url_empty() -> None:
    assert Filters().to_query() == {}
    # Choosing every severity is the same as choosing none.
    assert Filters(severities=("high", "medium", "low", "informational")).to_query() == {}


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"customer": "x'; drop table marts.fct_alerts; --"}, "is not a tenant id"),
        ({"from": "yesterday"}, "is not a date"),
        ({"severity": "critical"}, "is not one of"),
        ({"source": "bad source!"}, "is not a product name"),
    ],
)
def test_bad_values_are_dropped_and_reported(query: dict[str, str], problem: str) -> None:
    filters, problems = Filters.from_query(query)
    assert filters == Filters()
    assert len(problems) == 1
    assert problem in problems[0]


def test_parsing_normalises() -> None:
    filters, problems = Filters.from_query(
        {"customer": TENANT.upper(), "from": "2026-10-31", "to": "2026-08-01", "severity": "LOW, high"}
    )
    assert problems == []
    assert filters.customer == TENANT
    assert (filters.start, filters.end) == (date(2026, 8, 1), date(2026, 10, 31))
    assert filters.severities == ("high", "low")


def test_repeated_keys_take_the_last_value() -> None:
    filters, _ = Filters.from_query({"severity": ["high", "low"]})
    assert filters.severities == ("low",)


def test_default_range_is_the_90_days_up_to_the_newest_data() -> None:
    latest = date(2026, 11, 20)
    assert Filters().date_range(latest) == (date(2026, 8, 23), latest)
    assert Filters(start=date(2026, 1, 1)).date_range(latest) == (date(2026, 1, 1), latest)


def test_choosing_the_default_range_keeps_the_link_following_new_data() -> None:
    latest = date(2026, 11, 20)
    assert Filters().with_range(date(2026, 8, 23), latest, latest).to_query() == {}
    chosen = Filters().with_range(date(2026, 9, 1), latest, latest)
    assert chosen.to_query() == {"from": "2026-09-01", "to": "2026-11-20"}
