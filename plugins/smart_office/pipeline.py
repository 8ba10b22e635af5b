"""The pipeline's steps as plain functions: what the Airflow operators and the CLI call.

Each step is idempotent and takes its notion of time (`as_of`) from the caller — the task context's
data interval in Airflow — so a retried or backfilled run extracts the same window.
"""

from __future__ import annotations

import asyncio
import logging
import math
from datetime import datetime, timedelta
from typing import Any

from smart_office.auth.errors import AuthError
from smart_office.auth.exchange import TokenExchanger
from smart_office.extract.discovery import discover
from smart_office.extract.runs import Coverage, coverage, finish_run, start_run
from smart_office.extract.shard import extract_tenants, shard_tenants
from smart_office.extract.tenant import ExtractionWindow, PartnerAuthFailure
from smart_office.graph.client import GraphClient
from smart_office.partner_center.client import PartnerCenterClient
from smart_office.runtime import build_exchanger, build_secret_store
from smart_office.settings import Settings
from smart_office.tenants.registry import TenantRegistry
from smart_office.tls import requests_session
from smart_office.warehouse.connection import WarehouseTarget, aconnect, connect
from smart_office.warehouse.landing_index import summarize_landing_ranges
from smart_office.warehouse.migrations import migrate

log = logging.getLogger(__name__)


class CoverageError(RuntimeError):
    """The run loaded too few customers; the message says how many and why."""


def requests_sent(
    exchanger: TokenExchanger,
    graph: GraphClient | None = None,
    partner_center: PartnerCenterClient | None = None,
) -> dict[str, dict[str, int]]:
    """What a step sent, by service and endpoint as the services name them; Graph's `$batch` items apart
    (`graph_batch_items`), since they travel inside the `/v1.0/$batch` round trips."""
    sent = {"identity": exchanger.requests_sent()}
    if graph is not None:
        sent["graph"] = dict(graph.sent)
        sent["graph_batch_items"] = dict(graph.batch_items)
    if partner_center is not None:
        sent["partner_center"] = {"/v1/customers": partner_center.stats.requests}
    return sent


def _warehouse(settings: Settings) -> WarehouseTarget:
    if settings.warehouse is None:
        raise RuntimeError("SMART_OFFICE_WAREHOUSE_URL is not set")
    return settings.warehouse


def prepare_warehouse(settings: Settings) -> list[str]:
    """Apply pending migrations; returns their names."""
    with connect(_warehouse(settings)) as conn:
        return [f"{m.version:04d}_{m.name}" for m in migrate(conn)]


def check_partner_token(settings: Settings, *, as_of: datetime) -> dict[str, Any]:
    """Exchange the partner refresh token at the partner tenant (Partner Center and Graph), which also
    rotates it, and report how long it has left. Raises PartnerAuthFailure with one clear message."""
    store = build_secret_store(settings)
    exchanger = build_exchanger(settings, store)
    try:
        exchanger.get_token(settings.partner_tenant_id, settings.cloud.partner_center_scope)
        exchanger.get_token(settings.partner_tenant_id, settings.cloud.graph_scope)
    except AuthError as error:
        raise PartnerAuthFailure(error) from None
    status = exchanger.keeper.expiry_status(as_of)
    if status.needs_attention:
        log.warning(status.message())
    return {
        "store": store.describe(),
        "refresh_token_expires_at": status.expires_at.isoformat(),
        "refresh_token_days_left": round(status.days_left, 1),
        "refresh_token_needs_attention": status.needs_attention,
        "requests_sent": requests_sent(exchanger),
    }


def discover_customers(
    settings: Settings,
    *,
    run_id: str,
    as_of: datetime,
    dag_id: str | None = None,
    dag_run_id: str | None = None,
) -> dict[str, Any]:
    """Open the run, list customers and relationships; returns the shard plan (the warehouse is migrated)."""
    url = _warehouse(settings)
    with connect(url) as conn:
        start_run(conn, run_id, dag_id=dag_id, dag_run_id=dag_run_id, logical_date=as_of)
    store = build_secret_store(settings)
    exchanger = build_exchanger(settings, store)

    def pc_token() -> str:
        return exchanger.get_token(
            settings.partner_tenant_id, settings.cloud.partner_center_scope
        ).token.reveal()

    pc = PartnerCenterClient(
        settings.cloud.partner_center_url, pc_token, requests_session(settings.cloud.ca_bundle)
    )

    async def run() -> dict[str, Any]:
        async with GraphClient(settings.cloud, exchanger.aget_token) as graph:
            aconn = await aconnect(url, autocommit=True)
            try:
                found = await discover(
                    run_id=run_id,
                    partner_tenant_id=settings.partner_tenant_id,
                    partner_center=pc,
                    graph=graph,
                    conn=aconn,
                    excluded=settings.excluded_tenants,
                    seen_at=as_of,
                    retry_seconds=settings.tenant_retry_seconds,
                )
            finally:
                await aconn.close()
        return {**found.as_dict(), "requests_sent": requests_sent(exchanger, graph, pc)}

    try:
        summary = asyncio.run(run())
    except AuthError as error:
        raise PartnerAuthFailure(error) from None
    summary["shards"] = max(1, math.ceil(summary["extractable"] / settings.shard_size))
    with connect(url) as conn:
        finish_run(conn, run_id, status="running", summary={"discovery": summary})
    return summary


def extract_shard(
    settings: Settings,
    *,
    run_id: str,
    shard: int,
    shards: int,
    as_of: datetime,
    interval_start: datetime | None = None,
) -> dict[str, Any]:
    """Extract one shard of the run's tenants; per-tenant failures are outcomes, partner failures raise.

    `as_of` ends every window (the data interval's end); `interval_start` is where a run for a past interval
    (a backfill, behind the watermarks) starts reading.
    """
    url = _warehouse(settings)
    with connect(url) as conn:
        tenants = shard_tenants(conn, run_id, shard, shards)
        direct = TenantRegistry(conn).direct_credentials()
    store = build_secret_store(settings)
    exchanger = build_exchanger(settings, store, direct_tenants=direct)
    window = ExtractionWindow(
        as_of=as_of,
        interval_start=interval_start,
        alerts_overlap=timedelta(hours=settings.alerts_overlap_hours),
        alerts_initial=timedelta(days=settings.alerts_initial_days),
        alerts_page_size=settings.alerts_page_size,
        endpoint_time_limit=timedelta(minutes=settings.endpoint_time_limit_minutes),
        tenant_retry_budget=timedelta(seconds=settings.tenant_retry_seconds),
    )

    async def run() -> dict[str, Any]:
        async with GraphClient(settings.cloud, exchanger.aget_token) as graph:
            summary = await extract_tenants(
                tenants=tenants,
                run_id=run_id,
                shard=shard,
                shards=shards,
                graph=graph,
                exchanger=exchanger,
                warehouse_url=url,
                window=window,
                concurrency=settings.tenant_concurrency,
            )
            result = summary.as_dict()
            result["token_requests"] = exchanger.exchanges
            result["requests_sent"] = requests_sent(exchanger, graph)
        return result

    return asyncio.run(run())


def close_run(settings: Settings, *, run_id: str, failure: str | None = None) -> dict[str, Any]:
    """Compute coverage from ops and close the run (`succeeded`, or `failed` under the threshold or when
    `failure` says why the run was given up, e.g. the partner's authentication failed mid-run).

    Never raises on low coverage: the marts are built from what landed first, then `enforce_coverage`
    fails the run loudly. A run is closed even when some of its shards failed.
    """
    with connect(_warehouse(settings)) as conn:
        result = coverage(conn, run_id)
        ok = result.ratio >= settings.coverage_threshold and failure is None
        recorded: dict[str, Any] = {"coverage": result.as_dict()}
        if failure is not None:
            recorded["failure"] = failure
        finish_run(conn, run_id, status="succeeded" if ok else "failed", summary=recorded)
        # The dbt build that follows reads what this run landed through these indexes.
        summarize_landing_ranges(conn)
    summary = result.as_dict()
    summary["sentence"] = result.sentence()
    summary["threshold"] = settings.coverage_threshold
    summary["ok"] = ok
    log.info(result.sentence())
    return summary


def run_coverage(settings: Settings, *, run_id: str) -> dict[str, Any] | None:
    """The coverage a closed run recorded (as `close_run` returned it), or None if it was never closed."""
    with connect(_warehouse(settings)) as conn:
        row = conn.execute(
            "select status, summary -> 'coverage' from ops.runs where run_id = %s", (run_id,)
        ).fetchone()
    if row is None or row[0] == "running" or row[1] is None:
        return None
    stored = dict(row[1])
    result = Coverage(
        run_id=run_id,
        attempted=stored["attempted"],
        loaded=stored["loaded"],
        failed_by_state=stored["failed_by_state"],
        not_extractable_by_state=stored["not_extractable_by_state"],
        quarantined=stored.get("quarantined", 0),
        repaired=stored.get("repaired", 0),
    )
    return {
        **result.as_dict(),
        "sentence": result.sentence(),
        "threshold": settings.coverage_threshold,
        "ok": row[0] == "succeeded",
    }


def enforce_coverage(summary: dict[str, Any]) -> None:
    """Raise CoverageError (one line: how many loaded, why not the rest) if the run was under the threshold."""
    if not summary["ok"]:
        raise CoverageError(
            f"coverage {summary['ratio']:.1%} is below the threshold {summary['threshold']:.0%}: "
            f"{summary['sentence']}"
        )


def finalize_run(settings: Settings, *, run_id: str) -> dict[str, Any]:
    """Close the run, then fail loudly if coverage is under the threshold (what the CLI does in one step)."""
    summary = close_run(settings, run_id=run_id)
    enforce_coverage(summary)
    return summary
