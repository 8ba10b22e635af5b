"""fct_data_issues catches up after a failed or skipped build, without a full refresh.

Most rows of its inputs leave no row in it, so its own max(extracted_at) cannot say what it has read. It used to
read what landed since the latest pipeline run started: the issues of a run whose build failed appeared only at
the next full refresh. It now records what it has read through (staging.dbt_read_through, in the build's own
transaction), so the next successful build reads them. The look-back is set to 0 here: its 6 hours would
otherwise cover the test's whole timeline and hide the difference.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.loader import RawLoader
from tests.support.marts_data import MartsDataSpec, build_marts
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

SPEC = MartsDataSpec(tenants=3, history_days=5, runs=1, late_history_days=None, last_run_failures=())
NO_LOOKBACK = ["--vars", "{incremental_lookback_hours: 0}"]
ODD_ALERT = {
    "id": "odd-after-failed-build",
    "severity": "high",
    "status": "new",
    "serviceSource": "microsoftDefenderForEndpoint",
    "createdDateTime": "2026-11-20T05:00:00Z",
    "lastUpdateDateTime": "2026-11-20T05:00:00Z",
    "mitreTechniques": [],
    "evidence": None,
}


def _start_run(url: str, run_id: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.runs (run_id, dag_id, logical_date, started_at, finished_at, status)"
            " values (%s, 'smart_office_extract', now(), clock_timestamp(), clock_timestamp(), 'succeeded')",
            (run_id,),
        )


async def _land_odd_alert(url: str, tenant_id: str, run_id: str) -> None:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await RawLoader(conn, run_id).land("alerts_v2", tenant_id, [ODD_ALERT])
    finally:
        await conn.close()


def _read_through(url: str) -> datetime | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select read_through from staging.dbt_read_through where model_name = 'fct_data_issues'"
        ).fetchone()
    return row[0] if row else None


def _odd_alert_issues(url: str) -> set[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select field, issue from marts.fct_data_issues where entity = 'alerts_v2' and entity_id = %s",
            (ODD_ALERT["id"],),
        ).fetchall()
    return set(rows)


def test_the_issues_of_a_run_whose_build_failed_appear_at_the_next_build(
    postgres_server_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    with fresh_database(postgres_server_url) as url:
        landed = build_marts(url, target, SPEC)
        first_read = _read_through(url)
        assert first_read is not None  # the full build recorded it

        # Run B lands an alert with `"evidence": null`; its build fails (an input it reads is missing at run time).
        _start_run(url, "test/run-b")
        asyncio.run(_land_odd_alert(url, landed.tenant_ids[0], "test/run-b"))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("alter table marts.fct_control_scores rename to fct_control_scores_away")
        failed = run_dbt(
            ["run", "--select", "fct_data_issues", *NO_LOOKBACK], url, capture=True, target_path=target
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("alter table marts.fct_control_scores_away rename to fct_control_scores")
        assert failed.returncode != 0, failed.stdout[-3000:]
        assert _read_through(url) == first_read  # a failed build records nothing

        # Run C lands nothing odd; its build succeeds and reads what run B landed.
        _start_run(url, "test/run-c")
        built = run_dbt(
            ["run", "--select", "fct_data_issues", *NO_LOOKBACK], url, capture=True, target_path=target
        )
        assert built.returncode == 0, built.stdout[-3000:]
        assert ("evidence", "missing") in _odd_alert_issues(url)
        later = _read_through(url)
        assert later is not None
        assert later > first_read
