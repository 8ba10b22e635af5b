"""The daily build of fct_incidents flattens only the versions of the incidents that changed, not the history.

Measured at 2,000 tenants x 1 year: the model flattened all 876,749 incident versions ever landed to rebuild the
4,259 incidents touched by one new day (29 s of its 38 s; the planner costs the JSON as free and hash-joins the
whole staging view). It now looks each touched incident up on raw.incidents' (tenant_id, entity_id) index. The
test counts, in the real plan of the compiled incremental model, how many raw rows went through the flattening.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.loader import RawLoader
from tests.support.marts_data import MartsDataSpec, build_marts
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

SPEC = MartsDataSpec(tenants=6, history_days=60, runs=2, late_history_days=None, last_run_failures=())
NO_LOOKBACK = ["--vars", "{incremental_lookback_hours: 0}"]
RUN_ID = "test/one-incident-changed"


def _flattened_rows(plan: dict[str, Any]) -> int:
    """Rows the plan passed through jsonb_to_record: one call (loop) per raw row flattened."""
    own = plan.get("Actual Loops", 0) if plan.get("Function Name") == "jsonb_to_record" else 0
    return own + sum(_flattened_rows(child) for child in plan.get("Plans", []))


async def _land(url: str, tenant_id: str, payload: dict[str, Any]) -> None:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await RawLoader(conn, RUN_ID).land("incidents", tenant_id, [payload])
    finally:
        await conn.close()


def test_a_changed_incident_costs_its_own_versions_not_the_history(
    postgres_server_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "target"
    with fresh_database(postgres_server_url) as url:
        build_marts(url, target, SPEC)
        with psycopg.connect(url) as conn:
            history = conn.execute("select count(*) from raw.incidents").fetchone()[0]
            tenant_id, incident_id, payload = conn.execute(
                "select tenant_id::text, entity_id, payload from raw.incidents"
                " order by source_updated_at desc, entity_id limit 1"
            ).fetchone()
            versions = conn.execute(
                "select count(*) from raw.incidents where tenant_id = %s and entity_id = %s",
                (tenant_id, incident_id),
            ).fetchone()[0]
        assert history > 20 * (versions + 1), "the history should dwarf one incident's versions"

        changed = {**payload, "status": "resolved", "lastUpdateDateTime": "2026-11-21T08:00:00Z"}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "insert into ops.runs (run_id, dag_id, logical_date, started_at, finished_at, status)"
                " values (%s, 'smart_office_extract', now(), clock_timestamp(), clock_timestamp(), 'succeeded')",
                (RUN_ID,),
            )
        asyncio.run(_land(url, tenant_id, changed))

        compiled = run_dbt(
            ["compile", "-s", "fct_incidents", *NO_LOOKBACK], url, capture=True, target_path=target
        )
        assert compiled.returncode == 0, compiled.stdout[-3000:]
        sql = (target / "compiled/smart_office/models/marts/alerts/fct_incidents.sql").read_text()
        with psycopg.connect(url) as conn:
            conn.execute("set jit = off")
            [[plan]] = conn.execute("explain (analyze, format json) " + sql).fetchall()  # type: ignore[arg-type]
        plan = plan if isinstance(plan, list) else json.loads(plan)
        # The new version once (finding what changed), then the incident's versions, old and new.
        assert _flattened_rows(plan[0]["Plan"]) <= 1 + versions + 1

        built = run_dbt(["build", "-s", "fct_incidents", *NO_LOOKBACK], url, capture=True, target_path=target)
        assert built.returncode == 0, built.stdout[-3000:]
        with psycopg.connect(url) as conn:
            status = conn.execute(
                "select status from marts.fct_incidents where tenant_id = %s and incident_id = %s",
                (tenant_id, incident_id),
            ).fetchone()[0]
        assert status == "resolved"
