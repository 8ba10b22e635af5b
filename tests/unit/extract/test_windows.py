"""Extraction windows: every one ends at the run's point in time; where each starts, and what it covers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smart_office.extract.tenant import ENDPOINTS, ExtractionWindow, plan_endpoint

AS_OF = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
SPECS = {spec.name: spec for spec in ENDPOINTS}


def _window(**overrides: object) -> ExtractionWindow:
    values: dict[str, object] = {
        "as_of": AS_OF,
        "alerts_overlap": timedelta(hours=12),
        "alerts_initial": timedelta(days=180),
        "alerts_page_size": 500,
    }
    values.update(overrides)
    return ExtractionWindow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("watermark", "window", "since", "covers_from", "gap"),
    [
        # First run: all Defender keeps.
        (None, {}, AS_OF - 180 * DAY, AS_OF - 180 * DAY, None),
        # ... or less, when asked.
        (None, {"alerts_initial": 30 * DAY}, AS_OF - 30 * DAY, AS_OF - 30 * DAY, None),
        # Daily: from the watermark, minus the overlap for late updates.
        (AS_OF - DAY, {}, AS_OF - DAY - timedelta(hours=12), AS_OF - DAY - timedelta(hours=12), None),
        # A past interval behind the watermark (backfill): from the interval's start.
        (
            AS_OF + 3 * DAY,
            {"interval_start": AS_OF - DAY},
            AS_OF - DAY - timedelta(hours=12),
            AS_OF - DAY - timedelta(hours=12),
            None,
        ),
        # Back after longer than the retention: what is kept, and the hole recorded.
        (
            AS_OF - 200 * DAY,
            {},
            AS_OF - 200 * DAY - timedelta(hours=12),
            AS_OF - 180 * DAY,
            (AS_OF - 200 * DAY, AS_OF - 180 * DAY),
        ),
    ],
)
def test_alert_windows(
    watermark: datetime | None,
    window: dict[str, object],
    since: datetime,
    covers_from: datetime,
    gap: tuple[datetime, datetime] | None,
) -> None:
    for name in ("alerts_v2", "incidents"):
        plan = plan_endpoint(SPECS[name], watermark, _window(**window))
        assert plan.params["$filter"] == (
            f"lastUpdateDateTime gt {since:%Y-%m-%dT%H:%M:%SZ} and lastUpdateDateTime le 2026-11-02T00:00:00Z"
        )
        assert plan.covers == (covers_from, AS_OF)
        assert plan.gap == gap
    assert plan_endpoint(SPECS["incidents"], None, _window()).params["$top"] == "50"


@pytest.mark.parametrize(
    ("watermark", "window", "top", "gap"),
    [
        (None, {}, "90", None),
        (AS_OF - timedelta(hours=22), {}, "2", None),
        (AS_OF - 10 * DAY, {}, "11", None),
        (AS_OF + 5 * DAY, {"interval_start": AS_OF - 2 * DAY}, "3", None),
        (AS_OF + 5 * DAY, {}, "2", None),  # no interval start (CLI): the day before
        (AS_OF - 120 * DAY, {}, "90", (AS_OF - 120 * DAY, AS_OF - 90 * DAY)),
    ],
)
def test_secure_score_windows(
    watermark: datetime | None, window: dict[str, object], top: str, gap: tuple[datetime, datetime] | None
) -> None:
    plan = plan_endpoint(SPECS["secure_scores"], watermark, _window(**window))
    assert plan.params == {"$filter": "createdDateTime le 2026-11-02T00:00:00Z", "$top": top}
    assert plan.covers == (max(AS_OF - 90 * DAY, AS_OF - int(top) * DAY), AS_OF)
    assert plan.gap == gap


def test_control_profiles_have_no_history_window() -> None:
    plan = plan_endpoint(SPECS["control_profiles"], AS_OF - DAY, _window())
    assert (plan.params, plan.covers, plan.gap) == ({}, None, None)
