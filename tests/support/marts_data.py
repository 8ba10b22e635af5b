"""A small, realistic warehouse for dashboard tests: Graph-shaped raw payloads and ops bookkeeping, then dbt.

Nothing here writes to the marts. Raw payloads are landed through `RawLoader` exactly as the extraction
lands them, the ops tables get the rows the extraction's bookkeeping writes, and `dbt build` produces the
marts with the real models — so a dashboard test reads what a production warehouse would hold.

Every payload comes from the emulator's deterministic generator (`emulator.data`), the one the emulator
serves: Secure Scores and control profiles with the shape, the undocumented extras and the quirks (skipped
days, `-1` comparatives) of the real thing, and alerts and incidents with their whole lifecycle. A run lands
what the extraction reads: the alerts and incidents whose lastUpdateDateTime falls after the previous run, as
Graph renders them with `Prefer: include-unknown-enum-members` (as the product asks).

Runs are daily: each is discovered as the pipeline discovers (`record_discovery` on the emulator's Partner
Center customers, GDAP relationships and contracts: the raw payloads land and the warehouse classifies the
snapshot), extracts the customers `ops.run_customers` says it may, and lands what Graph would have returned
since the previous run. In the last run a few customers fail (a revoked consent, a throttled alerts endpoint),
so coverage and freshness have something honest to show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from emulator.data.alerts import AlertFilter, alert_dict, alerts_as_of
from emulator.data.directory_objects import contracts, delegated_admin_relationships, partner_center_customers
from emulator.data.incidents import IncidentFilter, incident_dict, incidents_as_of
from emulator.data.portfolio import Customer, Portfolio
from emulator.data.profiles import control_profiles
from emulator.data.securescore import secure_score_record
from emulator.data.timestamps import day_of, from_us, to_us
from smart_office.dbt_runner import run_dbt
from smart_office.events.rules import DEFAULT_RULES_FILE, load_rules
from smart_office.events.store import write_rules
from smart_office.extract.discovery import record_discovery
from smart_office.warehouse.loader import RawLoader
from smart_office.warehouse.migrations import migrate
from tests.support.warehouse import fresh_database

ENDPOINTS = ("secure_scores", "control_profiles", "alerts_v2", "incidents")


@dataclass(frozen=True, slots=True)
class MartsDataSpec:
    """What to generate: the portfolio, how much history, how many daily runs, and what fails last."""

    tenants: int = 12
    history_days: int = 100
    runs: int = 3
    seed: int = 11
    as_of: datetime = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    # (endpoint, state) failures forced in the last run, on the last extractable customers.
    last_run_failures: tuple[tuple[str, str], ...] = (
        ("token", "consent_required"),
        ("alerts_v2", "throttled"),
    )
    # "succeeded", or "running" for a last run still in progress.
    last_run_status: str = "succeeded"
    # The first extractable customer's first run reached back only this many days (as with
    # SMART_OFFICE_ALERTS_INITIAL_DAYS): its history is complete from later than the others'.
    late_history_days: int | None = 30
    # Land ODD_ALERTS for the first extractable customer in the last run (what fct_data_issues lists).
    odd_records: bool = False


@dataclass(slots=True)
class LandedPortfolio:
    """What was generated, for tests that want to compare the screen with the source."""

    run_ids: list[str] = field(default_factory=list)
    tenant_ids: list[str] = field(default_factory=list)
    extractable: list[str] = field(default_factory=list)
    not_extractable: dict[str, str] = field(default_factory=dict)
    failed_last_run: dict[str, str] = field(default_factory=dict)
    alerts: int = 0
    odd_records_tenant: str | None = None
    # The partner's service_model attribute of each customer (ops.customer_attributes), for the segment filter.
    service_models: dict[str, str] = field(default_factory=dict)


# Alerts as Graph could send them and staging must coerce: evidence null, a string for the MITRE collection, an
# impossible date; the NUL character is quarantined (or landed escaped) by the loader.
ODD_ALERTS: list[dict[str, Any]] = [
    {
        "id": "odd-1",
        "severity": "high",
        "status": "new",
        "serviceSource": "microsoftDefenderForEndpoint",
        "createdDateTime": "2026-11-19T10:00:00Z",
        "lastUpdateDateTime": "2026-02-30T00:00:00Z",
        "mitreTechniques": "T1059",
        "evidence": None,
    },
    {"id": "odd-2", "title": "nul \u0000 inside", "severity": "low", "status": "new"},
]


def _run_times(spec: MartsDataSpec) -> list[datetime]:
    return [spec.as_of - timedelta(days=spec.runs - 1 - r) for r in range(spec.runs)]


def _run_id(moment: datetime) -> str:
    return f"test/{moment:%Y%m%dT%H%M%S}"


async def _extractable(conn: psycopg.AsyncConnection, run_id: str) -> set[str]:
    cur = await conn.execute(
        "select tenant_id::text from ops.run_customers where run_id = %s and is_extractable", (run_id,)
    )
    return {row[0] for row in await cur.fetchall()}


async def land_portfolio(conn: psycopg.AsyncConnection, spec: MartsDataSpec) -> LandedPortfolio:
    """Fill raw.* and ops.* of a migrated warehouse as `spec.runs` daily extraction runs would."""
    portfolio = Portfolio(spec.seed, spec.tenants, spec.as_of)
    customers = list(portfolio)
    times = _run_times(spec)
    landed = LandedPortfolio(run_ids=[_run_id(t) for t in times], tenant_ids=[c.tenant_id for c in customers])
    history_start_us = to_us(spec.as_of) - spec.history_days * 86_400_000_000
    windows: dict[tuple[str, str], tuple[datetime, datetime]] = {}
    late: str | None = None
    for index, (at, run_id) in enumerate(zip(times, landed.run_ids, strict=True)):
        is_last = index == len(times) - 1
        status = spec.last_run_status if is_last else "succeeded"
        finished = at + timedelta(minutes=25)
        await conn.execute(
            "insert into ops.runs (run_id, dag_id, dag_run_id, logical_date, started_at, finished_at, status, summary)"
            " values (%s, 'smart_office_extract', %s, %s, %s, %s, %s, '{}'::jsonb)",
            (
                run_id,
                f"scheduled__{at.isoformat()}",
                at,
                at,
                finished if status != "running" else None,
                status,
            ),
        )
        await record_discovery(
            conn,
            run_id=run_id,
            customers=partner_center_customers(portfolio, at),
            relationships=delegated_admin_relationships(portfolio, at),
            dap_tenants={str(c["customerId"]).lower() for c in contracts(portfolio, at)},
            excluded=frozenset(),
            seen_at=at,
        )
        extractable = await _extractable(conn, run_id)
        if index == 0:
            late = next((c.tenant_id for c in customers if c.tenant_id in extractable), None)
        failing = (
            dict(
                zip(
                    [c.tenant_id for c in reversed(customers) if c.tenant_id in extractable],
                    spec.last_run_failures,
                    strict=False,
                )
            )
            if is_last
            else {}
        )
        since_us = to_us(times[index - 1]) if index else history_start_us
        at_us = to_us(at)
        loader = RawLoader(conn, run_id)
        for position, customer in enumerate(customers):
            tenant = customer.tenant_id
            if tenant not in extractable:
                continue
            tenant_since_us = since_us
            if index == 0 and tenant == late and spec.late_history_days is not None:
                tenant_since_us = at_us - spec.late_history_days * 86_400_000_000
            failure = failing.get(tenant)
            started = at + timedelta(seconds=20 + 7 * position)
            outcomes: list[tuple[str, str, str, int]] = []
            if failure is not None and failure[0] == "token":
                outcomes.append(("token", "failed", failure[1], 0))
            else:
                outcomes.append(("token", "loaded", "ok", 0))
                for endpoint in ENDPOINTS:
                    if failure is not None and failure[0] == endpoint:
                        outcomes.append((endpoint, "failed", failure[1], 0))
                        continue
                    items = _endpoint_items(customer, endpoint, tenant_since_us, at_us)
                    entity = "secure_score_control_profiles" if endpoint == "control_profiles" else endpoint
                    result = await loader.land(entity, tenant, items, endpoint=endpoint)
                    outcomes.append((endpoint, "loaded", "ok", result.new))
                    if endpoint != "control_profiles":
                        # The span of history this run covered, as the pipeline records it.
                        keep_us = 90 if endpoint == "secure_scores" else 180
                        windows[(tenant, endpoint)] = (
                            from_us(max(tenant_since_us, at_us - keep_us * 86_400_000_000)),
                            at,
                        )
                    if endpoint == "alerts_v2":
                        landed.alerts += result.new
            if failure is not None:
                landed.failed_last_run[tenant] = failure[1]
            for offset, (endpoint, outcome, state, rows) in enumerate(outcomes):
                window = windows.pop((tenant, endpoint), (None, None))
                await conn.execute(
                    "insert into ops.tenant_runs (run_id, tenant_id, endpoint, outcome, state, rows_received,"
                    " rows_new, pages, requests, duration_ms, error, started_at, finished_at, window_from,"
                    " window_to) values (%s, %s, %s, %s, %s, %s, %s, 1, 1, 900, %s, %s, %s, %s, %s)",
                    (
                        run_id,
                        tenant,
                        endpoint,
                        outcome,
                        state,
                        rows,
                        rows,
                        None if outcome == "loaded" else state,
                        started + timedelta(seconds=offset),
                        started + timedelta(seconds=offset + 1),
                        *window,
                    ),
                )
    cur = await conn.execute(
        "select tenant_id::text, is_extractable, access_state from ops.run_customers"
        " where run_id = %s and not is_departed",
        (landed.run_ids[-1],),
    )
    listed = {tenant: (extractable, access) for tenant, extractable, access in await cur.fetchall()}
    for customer in customers:
        if customer.tenant_id not in listed:
            continue
        extractable, access = listed[customer.tenant_id]
        if extractable:
            landed.extractable.append(customer.tenant_id)
        else:
            landed.not_extractable[customer.tenant_id] = access
    # Segments, as `smart-office segments` records them: every third customer break-fix, the rest managed.
    for position, customer in enumerate(customers):
        landed.service_models[customer.tenant_id] = "break-fix" if position % 3 == 0 else "managed"
        await conn.execute(
            "insert into ops.customer_attributes (tenant_id, attribute_key, attribute_value, set_by, set_at)"
            " values (%s, 'service_model', %s, 'tests', %s)",
            # At the spec's point in time, not now(): two warehouses built from one spec hold the same rows.
            (customer.tenant_id, landed.service_models[customer.tenant_id], spec.as_of),
        )
    if spec.odd_records and landed.extractable:
        landed.odd_records_tenant = landed.extractable[0]
        await RawLoader(conn, landed.run_ids[-1]).land("alerts_v2", landed.odd_records_tenant, ODD_ALERTS)
    return landed


def _endpoint_items(customer: Customer, endpoint: str, since_us: int, at_us: int) -> list[dict[str, Any]]:
    """What one run reads from an endpoint: everything new or changed in (since, at]."""
    if endpoint == "secure_scores":
        records = []
        for day in range(day_of(since_us), day_of(at_us) + 1):
            record = secure_score_record(customer, day)
            if record is None:
                continue
            created = to_us(datetime.fromisoformat(record["createdDateTime"]))
            if since_us < created <= at_us:
                records.append(record)
        return records
    at = from_us(at_us)
    if endpoint == "control_profiles":
        return control_profiles(customer, at)
    if endpoint == "alerts_v2":
        changed = AlertFilter(updated_gt=from_us(since_us), updated_le=at)
        return [alert_dict(customer, s, include_unknown=True) for s in alerts_as_of(customer, at, changed)]
    window = IncidentFilter(updated_gt=from_us(since_us), updated_le=at)
    return [incident_dict(customer, s, include_unknown=True) for s in incidents_as_of(customer, at, window)]


async def _land(url: str, spec: MartsDataSpec) -> LandedPortfolio:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        return await land_portfolio(conn, spec)
    finally:
        await conn.close()


def dbt_build(url: str, target_path: Path) -> None:
    """`dbt build` the project; raises with dbt's output tail when a model or a test fails."""
    result = run_dbt(["build"], url, capture=True, target_path=target_path)
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed:\n{result.stdout[-6000:]}")


def build_marts(url: str, target_path: Path, spec: MartsDataSpec | None = None) -> LandedPortfolio:
    """Migrate an empty database, land a generated portfolio into raw/ops, and build the marts with dbt."""
    with psycopg.connect(url) as conn:
        migrate(conn)
    landed = asyncio.run(_land(url, spec or MartsDataSpec()))
    dbt_build(url, target_path)
    return landed


def build_empty_marts(url: str, target_path: Path, *, first_run_started: bool = False) -> None:
    """A warehouse with no data yet; with `first_run_started`, the first run has begun but landed nothing."""
    with psycopg.connect(url) as conn:
        migrate(conn)
        if first_run_started:
            conn.execute(
                "insert into ops.runs (run_id, dag_id, logical_date, started_at, status)"
                " values ('test/first', 'smart_office_extract', now(), now(), 'running')"
            )
            conn.commit()
    dbt_build(url, target_path)


@contextmanager
def warehouse_with_rules(server_url: str, target_path: Path, spec: MartsDataSpec) -> Iterator[str]:
    """A fresh database of generated customers and the default posture rules, built by dbt; dropped afterwards."""
    with fresh_database(server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
            write_rules(conn, load_rules(DEFAULT_RULES_FILE), loaded_at=datetime(2026, 11, 20, tzinfo=UTC))
        asyncio.run(_land(url, spec))
        dbt_build(url, target_path)
        yield url
