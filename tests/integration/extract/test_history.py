"""History, complete and honest: the first run takes all Microsoft keeps, a past interval backfills exactly
that interval, a returning customer catches up — or its gap is recorded.

The emulator's data layer is the independent oracle: what Graph serves for a tenant at an instant, computed
without any of the pipeline's code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from emulator.data.alerts import alerts_as_of
from emulator.data.incidents import incidents_as_of
from emulator.data.portfolio import Portfolio
from emulator.data.securescore import secure_scores
from emulator.data.timestamps import from_us
from tests.integration.extract.test_pipeline import Setup, _setup
from tests.support.emulator import EmulatorHandle
from tests.support.warehouse import fresh_database

NOW = "2026-11-02T09:00:00+00:00"
SEED = 11
TENANTS = 8


@pytest.fixture
def history(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[Setup]:
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        yield _setup(handle, url, tmp_path, SMART_OFFICE_SHARD_SIZE="50")


def _portfolio(now: datetime) -> Portfolio:
    return Portfolio(SEED, TENANTS, datetime.fromisoformat(NOW), "none")


def _served(now: datetime, up_to: datetime | None = None) -> dict[str, dict[str, set[str]]]:
    """Per readable tenant: the alert and incident ids Graph lists at `now` (last updated by `up_to`)."""
    served: dict[str, dict[str, set[str]]] = {}
    limit = up_to or now
    for customer in _portfolio(now):
        if not customer.can_read_security(now):
            continue
        served[customer.tenant_id] = {
            "alerts_v2": {
                a.skeleton.id for a in alerts_as_of(customer, now) if from_us(a.last_update_us) <= limit
            },
            "incidents": {
                i.skeleton.id for i in incidents_as_of(customer, now) if from_us(i.last_update_us) <= limit
            },
        }
    return served


def _landed(s: Setup, table: str) -> dict[str, set[str]]:
    landed: dict[str, set[str]] = {}
    for tenant, entity in s.query(f"select distinct tenant_id::text, entity_id from raw.{table}"):  # noqa: S608
        landed.setdefault(tenant, set()).add(entity)
    return landed


def test_the_first_run_takes_every_alert_and_incident_microsoft_keeps(history: Setup) -> None:
    history.run("run-1")
    served = _served(history.now)
    for table in ("alerts_v2", "incidents"):
        landed = _landed(history, table)
        expected = {t: ids[table] for t, ids in served.items() if ids[table]}
        assert landed == expected, table
    # Reaching back the whole retention is what makes a first run's history complete from day one.
    oldest = history.query("select min(source_updated_at) from raw.alerts_v2")[0][0]
    assert oldest < history.now - timedelta(days=150)
    windows = history.query(
        "select distinct endpoint, window_from, window_to from ops.tenant_runs "
        "where run_id = 'run-1' and outcome = 'loaded' and window_from is not null"
    )
    by_endpoint = {e: (f, t) for e, f, t in windows}
    assert by_endpoint["alerts_v2"] == (history.now - timedelta(days=180), history.now)
    assert by_endpoint["incidents"] == (history.now - timedelta(days=180), history.now)
    assert by_endpoint["secure_scores"] == (history.now - timedelta(days=90), history.now)
    assert "control_profiles" not in by_endpoint  # current state only: no history to be complete about
    # Every endpoint with history is read through the run's point in time, alerts or not; control profiles
    # record when they were read in full (they are read again a week later), and no watermark.
    read = history.query(
        "select endpoint, count(*), min(read_through), max(read_through), count(watermark) from ops.watermarks "
        "group by 1"
    )
    readable = len(served)
    assert {e: (n, lo, hi) for e, n, lo, hi, _ in read} == {
        e: (readable, history.now, history.now)
        for e in ("alerts_v2", "incidents", "secure_scores", "control_profiles")
    }
    assert {e: marks for e, *_, marks in read}["control_profiles"] == 0


def test_the_first_run_reach_can_be_shortened(history: Setup) -> None:
    history.run("run-1", alerts_initial_days=30)
    start = history.now - timedelta(days=30)
    served = _served(history.now)
    landed = _landed(history, "alerts_v2")
    assert sum(map(len, landed.values())) < sum(len(ids["alerts_v2"]) for ids in served.values())
    assert history.query("select min(source_updated_at) from raw.alerts_v2")[0][0] > start
    assert history.query(
        "select distinct window_from from ops.tenant_runs where run_id = 'run-1' and endpoint = 'alerts_v2' "
        "and outcome = 'loaded'"
    ) == [(start,)]


def test_a_past_interval_backfills_exactly_that_interval_and_never_moves_a_watermark_past_it(
    history: Setup,
) -> None:
    end = history.now - timedelta(days=5)
    history.run("backfill-1", as_of=end)
    # Graph answers with each alert's current version: those last updated by the interval's end.
    served = _served(history.now, up_to=end)
    for table in ("alerts_v2", "incidents"):
        assert _landed(history, table) == {t: ids[table] for t, ids in served.items() if ids[table]}, table
        assert history.query(f"select max(source_updated_at) from raw.{table}")[0][0] <= end  # noqa: S608
    scores = history.query("select max((payload ->> 'createdDateTime')::timestamptz) from raw.secure_scores")
    assert scores[0][0] <= end
    marks = history.query(
        "select endpoint, max(watermark) from ops.watermarks where endpoint <> 'control_profiles' group by 1"
    )
    assert all(mark <= end for _, mark in marks)

    history.run("daily-1")  # the regular run catches up to now
    assert _landed(history, "alerts_v2") == {
        t: ids["alerts_v2"] for t, ids in _served(history.now).items() if ids["alerts_v2"]
    }
    caught_up = dict(history.query("select endpoint, max(watermark) from ops.watermarks group by 1"))
    assert caught_up["alerts_v2"] > end

    # Backfilling an earlier interval again, behind the watermarks: nothing new, watermarks where they were.
    before = history.query("select count(*) from raw.alerts_v2")[0][0]
    again = history.run("backfill-2", as_of=end + timedelta(days=2))
    assert history.query("select count(*) from raw.alerts_v2")[0][0] == before
    assert dict(history.query("select endpoint, max(watermark) from ops.watermarks group by 1")) == caught_up
    assert again["coverage"]["loaded"] == again["coverage"]["attempted"]


def test_a_backfill_fills_a_hole_with_exactly_its_interval_and_leaves_the_watermarks_alone(
    history: Setup,
) -> None:
    history.run("run-1")
    marks = history.query(
        "select tenant_id, endpoint, watermark, read_through from ops.watermarks order by 1, 2"
    )
    start, end = history.now - timedelta(days=6), history.now - timedelta(days=5)
    overlap = timedelta(hours=history.settings.alerts_overlap_hours)
    # A hole: the versions last updated in the interval (and its overlap) are gone from the warehouse.
    in_interval = "source_updated_at > %s and source_updated_at <= %s"
    for table in ("alerts_v2", "incidents"):
        history.query(f"delete from raw.{table} where {in_interval} returning 1", start - overlap, end)  # noqa: S608
    history.run("backfill", as_of=end, interval_start=start)
    for table in ("alerts_v2", "incidents"):
        landed = history.query(
            f"select tenant_id::text, entity_id from raw.{table} where run_id = 'backfill'"  # noqa: S608
        )
        # Exactly the interval's versions: Graph's current version of each entity last updated in it.
        expected = {
            (t, entity)
            for t, ids in _served_updated(history.now, start - overlap, end, table).items()
            for entity in ids
        }
        assert set(landed) == expected, table
        assert expected, f"the interval holds no {table}: pick another"
    assert (
        history.query("select tenant_id, endpoint, watermark, read_through from ops.watermarks order by 1, 2")
        == marks
    )
    spans = history.query(
        "select distinct window_from, window_to from ops.tenant_runs where run_id = 'backfill' and endpoint = "
        "'alerts_v2' and outcome = 'loaded'"
    )
    assert spans == [(start - overlap, end)]


def _served_updated(now: datetime, after: datetime, until: datetime, table: str) -> dict[str, set[str]]:
    """Per readable tenant: the ids of `table` Graph lists at `now` whose last update is in (after, until]."""
    served: dict[str, set[str]] = {}
    for customer in _portfolio(now):
        if not customer.can_read_security(now):
            continue
        listed = alerts_as_of(customer, now) if table == "alerts_v2" else incidents_as_of(customer, now)
        ids = {x.skeleton.id for x in listed if after < from_us(x.last_update_us) <= until}
        if ids:
            served[customer.tenant_id] = ids
    return served


def _steady_tenant(s: Setup, days: list[int]) -> str:
    """A customer with alerts that stays readable at every one of these day offsets from now."""
    for customer in _portfolio(s.now):
        instants = [s.now + timedelta(days=d) for d in days]
        if all(customer.can_read_security(t) for t in instants) and _served_at(s, customer.tenant_id):
            return customer.tenant_id
    raise LookupError("no customer stays readable that long in this portfolio")


def _revoke(s: Setup, tenant: str) -> None:
    s.handle.add_fault(kind="consent_revoked", service="identity", tenant=tenant)


def _advance(s: Setup, days: int) -> Setup:
    clock = s.handle.admin_post("/clock/advance", {"days": days})
    return dataclasses.replace(s, now=datetime.fromisoformat(clock["now"]))


def _spans(s: Setup, tenant: str, endpoint: str) -> list[tuple[datetime, datetime, str]]:
    return s.query(
        "select window_from, window_to, state from ops.tenant_runs where tenant_id = %s and endpoint = %s "
        "and outcome = 'loaded' order by window_to",
        tenant,
        endpoint,
    )


def test_a_returning_customer_catches_up_from_its_watermark_within_retention(history: Setup) -> None:
    tenant = _steady_tenant(history, [0, 40, 41])
    history.run("run-1")
    _revoke(history, tenant)
    later = _advance(history, 40)
    later.run("run-2")
    assert later.outcomes("run-2")[(tenant, "token")] == ("failed", "consent_required")
    later.handle.reset()
    back = _advance(later, 1)
    back.run("run-3")
    # Everything Graph now lists for the tenant is there (beside what has since aged out): no hole.
    assert _served_at(back, tenant) <= _landed(back, "alerts_v2")[tenant]
    spans = _spans(back, tenant, "alerts_v2")
    assert [state for *_, state in spans] == ["ok", "ok"]
    assert spans[1][0] <= spans[0][1]  # the catch-up span starts before the first one ended: contiguous


def _served_at(s: Setup, tenant: str) -> set[str]:
    customer = next(c for c in _portfolio(s.now) if c.tenant_id == tenant)
    return {a.skeleton.id for a in alerts_as_of(customer, s.now)}


def test_a_customer_back_after_the_retention_has_its_gap_recorded(history: Setup) -> None:
    # Runs at most 80 days apart: the partner refresh token expires after 90 days without use.
    tenant = _steady_tenant(history, [0, 80, 160, 201])
    history.run("run-1")
    first_mark = dict(
        history.query("select endpoint, watermark from ops.watermarks where tenant_id = %s", tenant)
    )
    _revoke(history, tenant)
    middle = _advance(history, 80)
    middle.run("run-2")  # the others keep their history contiguous
    late = _advance(middle, 80)
    late.run("run-3")
    late.handle.reset()
    back = _advance(late, 41)
    back.run("run-4")
    outcomes = back.outcomes("run-4")
    assert outcomes[(tenant, "alerts_v2")] == ("loaded", "history_gap")
    assert outcomes[(tenant, "secure_scores")] == ("loaded", "history_gap")
    error = back.query(
        "select error from ops.tenant_runs where run_id = 'run-4' and tenant_id = %s and endpoint = 'alerts_v2'",
        tenant,
    )[0][0]
    assert f"{first_mark['alerts_v2']:%Y-%m-%d}" in error
    assert "no longer kept by Microsoft" in error
    spans = _spans(back, tenant, "alerts_v2")
    assert spans[-1][0] == back.now - timedelta(days=180)  # what is kept, and no more
    assert spans[-1][0] > spans[0][1]  # a hole between the spans: the recorded gap
    # Another customer, extracted every time, has no gap.
    others = [
        t
        for (t, endpoint), (outcome, _) in outcomes.items()
        if endpoint == "alerts_v2"
        and t != tenant
        and outcome == "loaded"
        and len(_spans(back, t, "alerts_v2")) == 4
    ]
    assert others
    assert {outcomes[(t, "alerts_v2")][1] for t in others} == {"ok"}


def test_secure_score_days_are_bounded_by_the_run_point_in_time(history: Setup) -> None:
    end = history.now - timedelta(days=10)
    history.run("backfill", as_of=end)
    landed = {r[0] for r in history.query("select entity_id from raw.secure_scores")}
    readable = [c for c in _portfolio(history.now) if c.can_read_security(history.now)]
    expected = {
        record["id"]
        for c in readable
        for record in secure_scores(c, history.now)
        if datetime.fromisoformat(record["createdDateTime"]) <= end
    }
    assert landed == expected
    assert len(expected) > 50 * len(readable)  # 80 of the 90 days each
