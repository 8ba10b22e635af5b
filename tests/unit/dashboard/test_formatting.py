"""Numbers as people read them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from smart_office.dashboard import formatting as fmt


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        (fmt.pct, 57.4321, "57.4%"),
        (fmt.pct, None, "—"),
        (fmt.pct, math.nan, "—"),
        (fmt.share, 0.8181, "82%"),
        (fmt.pp, 2.75, "+2.8 pp"),
        (fmt.pp, -1.04, "-1.0 pp"),
        (fmt.pp, 0.01, "0.0 pp"),
        (fmt.points, 1234.56, "1,234.6"),
        (fmt.count, 1234567, "1,234,567"),
        (fmt.hours, 0.5, "30 min"),
        (fmt.hours, 5.25, "5.2 h"),
        (fmt.hours, 74, "3.1 d"),
        (fmt.label, "inProgress", "in progress"),
        (fmt.label, "consent_required", "consent required"),
        (fmt.reason, "none", "no delegated access"),
        (fmt.reason, "throttled", "throttled"),
        (fmt.source_name, "microsoftDefenderForEndpoint", "Defender for Endpoint"),
        (fmt.source_name, "microsoftSecurityForAI", "microsoft security for AI"),
        (fmt.dataset, "alerts_v2", "alerts"),
    ],
)
def test_formats(function, value, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert function(value) == expected


def test_timestamp_is_utc_to_the_minute() -> None:
    assert fmt.timestamp(datetime(2026, 11, 20, 6, 1, 59, tzinfo=UTC)) == "2026-11-20 06:01 UTC"
    assert fmt.timestamp(None) == "—"
