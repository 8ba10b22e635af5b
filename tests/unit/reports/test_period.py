"""Report periods: quarters, months and day ranges; the period a scheduled run reports."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from smart_office.reports.period import PeriodError, parse_period, period_before


@pytest.mark.parametrize(
    ("period", "start", "end", "label", "title"),
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3", "Q3 2026"),
        ("2026q4", date(2026, 10, 1), date(2026, 12, 31), "2026-Q4", "Q4 2026"),
        ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31), "2024-Q1", "Q1 2024"),
        ("2026-09", date(2026, 9, 1), date(2026, 9, 30), "2026-09", "September 2026"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02", "February 2024"),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), "2026-12", "December 2026"),
    ],
)
def test_quarters_and_months(period: str, start: date, end: date, label: str, title: str) -> None:
    parsed = parse_period(period)
    assert (parsed.start, parsed.end, parsed.label, parsed.title) == (start, end, label, title)


def test_from_and_to_include_both_days() -> None:
    parsed = parse_period(None, "2026-07-01", "2026-08-15")
    assert (parsed.start, parsed.end, parsed.days) == (date(2026, 7, 1), date(2026, 8, 15), 46)
    assert parsed.label == "2026-07-01_2026-08-15"
    assert parsed.title == "01 Jul 2026 to 15 Aug 2026"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("2026-Q5", None, None), "neither a quarter"),
        (("2026-13", None, None), "neither a quarter"),
        (("Q3", None, None), "neither a quarter"),
        ((None, "2026-07-01", None), "both --from and --to"),
        ((None, None, None), "give --period"),
        (("2026-Q3", "2026-07-01", "2026-07-02"), "not both"),
        ((None, "2026-07-01", "July"), "give days as 2026-07-01"),
        ((None, "2026-08-01", "2026-07-01"), "before it starts"),
    ],
)
def test_bad_periods_say_what_is_accepted(args: tuple[str | None, ...], message: str) -> None:
    with pytest.raises(PeriodError, match=message):
        parse_period(*args)


@pytest.mark.parametrize(
    ("moment", "kind", "label"),
    [
        (datetime(2026, 11, 2, 6, tzinfo=UTC), "month", "2026-10"),
        (datetime(2026, 1, 2, 6, tzinfo=UTC), "month", "2025-12"),
        (datetime(2026, 10, 2, 6, tzinfo=UTC), "quarter", "2026-Q3"),
        (datetime(2026, 1, 2, 6, tzinfo=UTC), "quarter", "2025-Q4"),
        (datetime(2026, 11, 2, 6, tzinfo=UTC), "quarter", None),
    ],
)
def test_a_scheduled_run_reports_the_period_that_ended(
    moment: datetime, kind: str, label: str | None
) -> None:
    found = period_before(moment, kind)
    assert (found.label if found else None) == label
