"""Run bookkeeping: ops.runs and per-tenant, per-endpoint outcomes in ops.tenant_runs, and coverage from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg

from smart_office.wording import counted

# Endpoint outcomes. A tenant counts as loaded when none of its endpoints failed.
LOADED, PARTIAL, FAILED, SKIPPED = "loaded", "partial", "failed", "skipped"
# State of a loaded endpoint that was not asked this run: read in full recently enough (extract/tenant.py).
NOT_DUE = "not_due"
# A run still `running` this long after it started has lost its process (the DAG's dagrun_timeout).
RUN_TIMEOUT_HOURS = 12


@dataclass(slots=True)
class TenantOutcome:
    """One row of ops.tenant_runs."""

    tenant_id: str
    endpoint: str
    outcome: str
    state: str
    started_at: datetime
    finished_at: datetime
    rows_received: int = 0
    rows_new: int = 0
    quarantined: int = 0
    repaired: int = 0
    pages: int = 0
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    error: str | None = None
    # The span of source time (from, to] the loaded endpoint holds completely after this run.
    window_from: datetime | None = None
    window_to: datetime | None = None

    @property
    def duration_ms(self) -> int:
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


@dataclass(slots=True)
class Coverage:
    """How much of the portfolio a run loaded, and why the rest did not."""

    run_id: str
    attempted: int = 0
    loaded: int = 0
    failed_by_state: dict[str, int] = field(default_factory=dict)
    not_extractable_by_state: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    repaired: int = 0

    @property
    def ratio(self) -> float:
        return self.loaded / self.attempted if self.attempted else 1.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": round(self.ratio, 4)}

    def sentence(self) -> str:
        failures = "; ".join(
            f"{n} {s}" for s, n in sorted(self.failed_by_state.items(), key=lambda kv: -kv[1])
        )
        text = f"{self.loaded:,} of {self.attempted:,} customers loaded"
        if failures:
            text += f"; {failures}"
        if self.quarantined:
            text += f"; {counted(self.quarantined, 'item')} quarantined"
        return text


async def record_outcomes(conn: psycopg.AsyncConnection, run_id: str, outcomes: list[TenantOutcome]) -> None:
    """Upsert outcomes (a retried task overwrites its earlier attempt's rows)."""
    if not outcomes:
        return
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            """
            insert into ops.tenant_runs (
                run_id, tenant_id, endpoint, outcome, state, rows_received, rows_new, quarantined, repaired,
                pages, requests, throttled, retries, duration_ms, error, started_at, finished_at,
                window_from, window_to
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id, tenant_id, endpoint) do update set
                outcome = excluded.outcome, state = excluded.state, rows_received = excluded.rows_received,
                rows_new = excluded.rows_new, quarantined = excluded.quarantined, repaired = excluded.repaired,
                pages = excluded.pages,
                requests = excluded.requests, throttled = excluded.throttled, retries = excluded.retries,
                duration_ms = excluded.duration_ms, error = excluded.error, started_at = excluded.started_at,
                finished_at = excluded.finished_at, window_from = excluded.window_from,
                window_to = excluded.window_to
            """,
            [
                (
                    run_id,
                    o.tenant_id,
                    o.endpoint,
                    o.outcome,
                    o.state,
                    o.rows_received,
                    o.rows_new,
                    o.quarantined,
                    o.repaired,
                    o.pages,
                    o.requests,
                    o.throttled,
                    o.retries,
                    o.duration_ms,
                    o.error,
                    o.started_at,
                    o.finished_at,
                    o.window_from if o.outcome == LOADED else None,
                    o.window_to if o.outcome == LOADED else None,
                )
                for o in outcomes
            ],
        )


def start_run(
    conn: psycopg.Connection,
    run_id: str,
    *,
    dag_id: str | None,
    dag_run_id: str | None,
    logical_date: datetime | None,
) -> None:
    """Create the run row (idempotent: a retried discovery task reuses it), and close runs whose process
    died long ago as `abandoned`, so no run stays `running` for ever."""
    with conn.transaction():
        conn.execute(
            """
            update ops.runs set status = 'abandoned', finished_at = now()
            where status = 'running' and run_id <> %s and started_at < now() - make_interval(hours => %s)
            """,
            (run_id, RUN_TIMEOUT_HOURS),
        )
        conn.execute(
            """
            insert into ops.runs (run_id, dag_id, dag_run_id, logical_date)
            values (%s, %s, %s, %s)
            on conflict (run_id) do update set status = 'running', finished_at = null
            """,
            (run_id, dag_id, dag_run_id, logical_date),
        )


def finish_run(conn: psycopg.Connection, run_id: str, *, status: str, summary: dict[str, Any]) -> None:
    with conn.transaction():
        conn.execute(
            "update ops.runs set status = %s, finished_at = now(), summary = summary || %s::jsonb where run_id = %s",
            (status, orjson.dumps(summary).decode(), run_id),
        )


def coverage(conn: psycopg.Connection, run_id: str) -> Coverage:
    """Coverage of a run: every extractable customer of its snapshot, loaded or why not (`ops.run_coverage`,
    which fct_ingestion_coverage counts too).

    A customer without any outcome (its shard failed or never ran) counts as attempted and failed
    (`not_extracted`), so a lost shard lowers coverage instead of disappearing from it.
    """
    result = Coverage(run_id=run_id)
    rows = conn.execute(
        """
        select outcome, reason, count(*), sum(quarantined), sum(repaired)
        from ops.run_coverage
        where run_id = %s
        group by outcome, reason
        """,
        (run_id,),
    ).fetchall()
    for outcome, reason, count, quarantined, repaired in rows:
        if outcome == "not_extractable":
            result.not_extractable_by_state[reason] = count
            continue
        result.attempted += count
        result.quarantined += int(quarantined or 0)
        result.repaired += int(repaired or 0)
        if outcome == "failed":
            result.failed_by_state[reason] = result.failed_by_state.get(reason, 0) + count
        else:
            result.loaded += count
    return result
