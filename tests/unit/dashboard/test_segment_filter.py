"""The segment filter's URL form: `segment=key:value`, parsed with the rules of `smart-office segments`."""

from __future__ import annotations

import pytest

from smart_office.dashboard.filters import Filters, Segment


def test_a_segment_round_trips_through_the_url() -> None:
    filters, problems = Filters.from_query({"segment": " industry : health: care "})
    assert problems == []
    assert filters.segment == Segment("industry", "health: care")
    assert filters.to_query() == {"segment": "industry:health: care"}
    assert Filters.from_query(filters.to_query())[0] == filters
    assert filters.segment.label == "Industry: health: care"


@pytest.mark.parametrize(
    "text", ["industry", "Industry:x", ":x", "industry:", f"industry:{'x' * 101}", "a b:x"]
)
def test_a_segment_that_cannot_be_one_is_dropped_and_reported(text: str) -> None:
    filters, problems = Filters.from_query({"segment": text})
    assert filters.segment is None
    assert problems == [f"segment {text.strip()!r} is not attribute:value (e.g. industry:healthcare)"]
    assert "segment" not in filters.to_query()
