"""What the completeness captions say, for the portfolio and for one customer."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from smart_office.dashboard import layout


@pytest.fixture
def captions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    said: list[str] = []
    monkeypatch.setattr(layout.st, "caption", said.append)
    return said


def _completeness(
    customers: int, whole: int, partial: int, from_day: date | None, gaps: int = 0
) -> pd.Series:
    return pd.Series(
        {
            "customers": customers,
            "complete_whole_range": whole,
            "complete_part_of_range": partial,
            "complete_for_all_from": from_day,
            "with_gaps": gaps,
        }
    )


def test_customers_whose_history_starts_after_the_range_are_not_called_counted(captions: list[str]) -> None:
    day = date(2026, 10, 20)
    assert (
        layout.completeness_note(_completeness(5, 2, 2, day), "alert", date(2026, 9, 1), date(2026, 11, 1))
        == day
    )
    (said,) = captions
    assert "2 of 5 customers are complete over the whole range, 2 only from a later day" in said
    assert "1 more start after it and count on none of its days" in said
    assert said.endswith("from 20 Oct 2026 every other customer counts (dashed line).")


def test_when_every_customer_is_complete_the_portfolio_note_says_so(captions: list[str]) -> None:
    assert (
        layout.completeness_note(_completeness(5, 5, 0, None), "alert", date(2026, 9, 1), date(2026, 11, 1))
        is None
    )
    assert captions == ["Complete alert history for all 5 customers over the whole range."]


@pytest.mark.parametrize(
    ("gaps", "why"),
    [
        (0, "its first extraction reached back to then"),
        (1, "it came back after a lapse longer than Microsoft keeps them"),
    ],
)
def test_one_customer_note(captions: list[str], gaps: int, why: str) -> None:
    day = date(2026, 10, 20)
    assert layout.customer_completeness_note(_completeness(1, 0, 1, day, gaps), "alert") == day
    assert captions == [
        f"This customer's alert history is complete from 20 Oct 2026 ({why}); days before it are left out (dashed line)."
    ]
    captions.clear()
    assert layout.customer_completeness_note(_completeness(1, 1, 0, None), "alert") is None
    assert captions == []
