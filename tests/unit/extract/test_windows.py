"""Extraction windows: every one ends at the run's point in time; where each starts, what it covers, and when a
tenant's history has a hole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from smart_office.extract.tenant import ENDPOINTS, ExtractionWindow, ReadState, plan_endpoint

AS_OF = datetime(2026, 11, 2, tzinfo=UTC)
DAY = timedelta(days=1)
OVERLAP = timedelta(hours=12)
SPECS = {spec.name: spec for spec in ENDPOINTS}


def _window(**overrides: object) -> ExtractionWindow:
    values: dict[str, object] = {
        "as_of": AS_OF,
        "alerts_overlap": OVERLAP,
        "alerts_initial": timedelta(days=180),
        "alerts_page_size": 500,
    }
    values.update(overrides)
    return ExtractionWindow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "window", "since", "covers_from", "gap"),
    [
        # First run: all Defender keeps.
        (None, {}, AS_OF - 180 * DAY, AS_OF - 180 * DAY, None),
        # ... or less, when asked.
        (None, {"alerts_initial": 30 * DAY}, AS_OF - 30 * DAY, AS_OF - 30 * DAY, None),
        # Daily: from the watermark, minus the overlap for late updates.
        (ReadState(AS_OF - DAY, AS_OF - DAY), {}, AS_OF - DAY - OVERLAP, AS_OF - DAY - OVERLAP, None),
        # A quiet customer, read every day, whose last alert changed 200 days ago: no gap.
        (ReadState(AS_OF - 200 * DAY, AS_OF - DAY), {}, AS_OF - 200 * DAY - OVERLAP, AS_OF - 180 * DAY, None),
        # A customer that never had an alert continues from where it was read to, not 180 days back.
        (ReadState(None, AS_OF - DAY), {}, AS_OF - DAY - OVERLAP, AS_OF - DAY - OVERLAP, None),
        # A past interval behind what was read (backfill): from the interval's start.
        (
            ReadState(AS_OF + 3 * DAY, AS_OF + 3 * DAY),
            {"interval_start": AS_OF - DAY},
            AS_OF - DAY - OVERLAP,
            AS_OF - DAY - OVERLAP,
            None,
        ),
        # ... which a quiet customer's old watermark does not hide.
        (
            ReadState(AS_OF - 50 * DAY, AS_OF + 3 * DAY),
            {"interval_start": AS_OF - DAY},
            AS_OF - DAY - OVERLAP,
            AS_OF - DAY - OVERLAP,
            None,
        ),
        # A backfill deep in the past covers only what Graph still keeps, counted from the newest read.
        (
            ReadState(AS_OF + 10 * DAY, AS_OF + 10 * DAY),
            {"interval_start": AS_OF - 175 * DAY, "as_of": AS_OF - 160 * DAY},
            AS_OF - 175 * DAY - OVERLAP,
            AS_OF - 170 * DAY,
            None,
        ),
        # Back after longer than the retention: what is kept, and the hole recorded.
        (
            ReadState(AS_OF - 200 * DAY, AS_OF - 200 * DAY),
            {},
            AS_OF - 200 * DAY - OVERLAP,
            AS_OF - 180 * DAY,
            (AS_OF - 200 * DAY, AS_OF - 180 * DAY),
        ),
        # A warehouse from before read_through was recorded: the watermark stands in for it.
        (
            ReadState(AS_OF - 200 * DAY, None),
            {},
            AS_OF - 200 * DAY - OVERLAP,
            AS_OF - 180 * DAY,
            (AS_OF - 200 * DAY, AS_OF - 180 * DAY),
        ),
    ],
)
def test_alert_windows(
    state: ReadState | None,
    window: dict[str, object],
    since: datetime,
    covers_from: datetime,
    gap: tuple[datetime, datetime] | None,
) -> None:
    planned = _window(**window)
    for name in ("alerts_v2", "incidents"):
        plan = plan_endpoint(SPECS[name], state, planned)
        assert plan.params["$filter"] == (
            f"lastUpdateDateTime gt {since:%Y-%m-%dT%H:%M:%SZ} and lastUpdateDateTime le "
            f"{planned.as_of:%Y-%m-%dT%H:%M:%SZ}"
        )
        assert plan.covers == (covers_from, planned.as_of)
        assert plan.gap == gap
        assert plan.gap_reason == ("access lapsed for longer than the retention" if gap else "")
    assert plan_endpoint(SPECS["incidents"], None, _window()).params["$top"] == "50"


def test_only_incidents_ask_for_a_count_to_read_their_pages_ahead() -> None:
    # Graph pages incidents 50 at a time: the count on the first page says which pages to fetch at once.
    asked = {name: plan_endpoint(SPECS[name], None, _window()).params for name in ("alerts_v2", "incidents")}
    assert (asked["incidents"]["$count"], SPECS["incidents"].read_ahead) == ("true", True)
    assert ("$count" in asked["alerts_v2"], SPECS["alerts_v2"].read_ahead) == (False, False)


def test_a_past_interval_microsoft_no_longer_keeps_covers_nothing_and_says_so() -> None:
    plan = plan_endpoint(
        SPECS["alerts_v2"],
        ReadState(AS_OF, AS_OF),
        _window(as_of=AS_OF - 200 * DAY, interval_start=AS_OF - 201 * DAY),
    )
    assert plan.covers is None
    assert plan.gap == (AS_OF - 201 * DAY - OVERLAP, AS_OF - 200 * DAY)
    assert plan.gap_reason == "the interval is older than Microsoft keeps"


@pytest.mark.parametrize(
    ("state", "window", "top", "covers_from", "gap"),
    [
        (None, {}, "90", AS_OF - 90 * DAY, None),
        (ReadState(AS_OF - timedelta(hours=22), AS_OF - DAY), {}, "2", AS_OF - 2 * DAY, None),
        (ReadState(AS_OF - 10 * DAY, AS_OF - 10 * DAY), {}, "11", AS_OF - 11 * DAY, None),
        (
            ReadState(AS_OF + 5 * DAY, AS_OF + 5 * DAY),
            {"interval_start": AS_OF - 2 * DAY},
            "3",
            AS_OF - 3 * DAY,
            None,
        ),
        # No interval start (CLI): the day before.
        (ReadState(AS_OF + 5 * DAY, AS_OF + 5 * DAY), {}, "2", AS_OF - 2 * DAY, None),
        (
            ReadState(AS_OF - 120 * DAY, AS_OF - 120 * DAY),
            {},
            "90",
            AS_OF - 90 * DAY,
            (AS_OF - 120 * DAY, AS_OF - 90 * DAY),
        ),
    ],
)
def test_secure_score_windows(
    state: ReadState | None,
    window: dict[str, object],
    top: str,
    covers_from: datetime,
    gap: tuple[datetime, datetime] | None,
) -> None:
    plan = plan_endpoint(SPECS["secure_scores"], state, _window(**window))
    assert plan.params == {"$filter": "createdDateTime le 2026-11-02T00:00:00Z", "$top": top}
    assert plan.covers == (covers_from, AS_OF)
    assert plan.gap == gap


def test_a_secure_score_backfill_covers_only_the_days_graph_still_keeps() -> None:
    # Read to 10 days after AS_OF: Graph keeps 90 days back from then, not from the interval's end.
    plan = plan_endpoint(
        SPECS["secure_scores"],
        ReadState(AS_OF + 10 * DAY, AS_OF + 10 * DAY),
        _window(interval_start=AS_OF - 85 * DAY),
    )
    assert plan.params["$top"] == "86"
    assert plan.covers == (AS_OF - 80 * DAY, AS_OF)


def test_control_profiles_have_no_history_window() -> None:
    plan = plan_endpoint(SPECS["control_profiles"], ReadState(AS_OF - DAY, AS_OF - DAY), _window())
    assert (plan.params, plan.covers, plan.gap) == ({}, None, None)


@pytest.mark.parametrize(
    ("state", "due"),
    [
        (None, True),  # never read
        (ReadState(None, None), True),  # a watermark row from before complete reads were recorded
        (ReadState(AS_OF - 2 * DAY, AS_OF - DAY), False),  # read yesterday
        (ReadState(None, AS_OF - 6 * DAY), False),
        (ReadState(None, AS_OF - 7 * DAY), True),  # a week ago: read again
        (ReadState(None, AS_OF - 30 * DAY), True),  # last read failed for weeks
        (ReadState(None, AS_OF + 3 * DAY), False),  # a backfill behind a recent read
        (ReadState(None, AS_OF), True),  # the same run again (a retried task, a tenant redone): as it did
    ],
)
def test_control_profiles_are_read_in_full_once_a_week(state: ReadState | None, due: bool) -> None:
    # No $top: "by default, it returns all controls for a tenant", and Graph documents no page size for it.
    plan = plan_endpoint(SPECS["control_profiles"], state, _window())
    assert (plan.params, plan.due) == ({}, due)


def test_every_other_endpoint_is_read_every_run() -> None:
    state = ReadState(AS_OF - DAY, AS_OF - DAY)
    assert all(
        plan_endpoint(spec, state, _window()).due
        for name, spec in SPECS.items()
        if name != "control_profiles"
    )
    assert (
        plan_endpoint(SPECS["incidents"], state, _window()).params["$top"] == "50"
    )  # Graph's documented maximum
