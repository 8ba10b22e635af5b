"""Run bookkeeping: ops.runs and per-tenant, per-endpoint outcomes in ops.tenant_runs, and coverage from them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg

# Endpoint outcomes. A tenant counts as loaded when none of its endpoints failed.
LOADED, PARTIAL, FAILED, SKIPPED = "loaded", "partial", "failed", "skipped"


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
    pages: int = 0
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    error: str | None = None

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
        return f"{text}; {failures}" if failures else text


async def record_outcomes(conn: psycopg.AsyncConnection, run_id: str, outcomes: list[TenantOutcome]) -> None:
    """Upsert outcomes (a retried task overwrites its earlier attempt's rows)."""
    if not outcomes:
        return
    async with conn.transaction(), conn.cursor() as cur:
        await cur.executemany(
            """
            insert into ops.tenant_runs (
                run_id, tenant_id, endpoint, outcome, state, rows_received, rows_new, quarantined, pages,
                requests, throttled, retries, duration_ms, error, started_at, finished_at
            ) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (run_id, tenant_id, endpoint) do update set
                outcome = excluded.outcome, state = excluded.state, rows_received = excluded.rows_received,
                rows_new = excluded.rows_new, quarantined = excluded.quarantined, pages = excluded.pages,
                requests = excluded.requests, throttled = excluded.throttled, retries = excluded.retries,
                duration_ms = excluded.duration_ms, error = excluded.error, started_at = excluded.started_at,
                finished_at = excluded.finished_at
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
                    o.pages,
                    o.requests,
                    o.throttled,
                    o.retries,
                    o.duration_ms,
                    o.error,
                    o.started_at,
                    o.finished_at,
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
    """Create the run row (idempotent: a retried discovery task reuses it)."""
    with conn.transaction():
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
    """Coverage of a run from ops.tenant_runs and the run's customer snapshot."""
    result = Coverage(run_id=run_id)
    rows = conn.execute(
        """
        with per_tenant as (
            select tenant_id,
                   bool_or(outcome in ('failed', 'partial')) as has_failure,
                   -- the state of the first failing endpoint, token failures first
                   (array_agg(state order by (endpoint <> 'token'), endpoint)
                        filter (where outcome in ('failed', 'partial')))[1] as failure_state
            from ops.tenant_runs
            where run_id = %s
            group by tenant_id
        )
        select has_failure, coalesce(failure_state, 'ok'), count(*) from per_tenant group by 1, 2
        """,
        (run_id,),
    ).fetchall()
    for has_failure, state, count in rows:
        result.attempted += count
        if has_failure:
            result.failed_by_state[state] = result.failed_by_state.get(state, 0) + count
        else:
            result.loaded += count
    for state, count in conn.execute(
        """
        select access_state, count(*) from ops.customer_snapshots
        where run_id = %s and (access_state not in ('gdap', 'dap') or is_excluded or is_departed)
        group by 1
        """,
        (run_id,),
    ).fetchall():
        result.not_extractable_by_state[state] = count
    return result
