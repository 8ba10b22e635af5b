"""The fault matrix through Airflow: one shard fails for good and the marts are still built from what landed.

`airflow dags test` runs the real DAG (Cosmos dbt group included) against the emulator. One customer answers
AADSTS7000215 (a rejected app credential, which the pipeline must treat as partner-level: it stops that
shard without retries). The other shards land; `check_coverage` closes the run once every shard is done,
dbt builds the marts, and `enforce_coverage` then fails the run — the one intended failure — naming the
coverage. Before issue 12 a failed shard skipped the coverage gate and every dbt model.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.faults.harness import NOW, Portfolio, Reference

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "smart_office_security_posture"


def _connection_json(url: str) -> str:
    parts = urlsplit(url)
    query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
    return json.dumps(
        {
            "conn_type": "postgres",
            "host": query.get("host", parts.hostname or ""),
            "port": int(query.get("port", parts.port or 5432)),
            "login": parts.username or "postgres",
            # The test server trusts its clients; Cosmos' profile mapping still wants a value here.
            "password": parts.password or "unused-with-trust-auth",
            "schema": parts.path.lstrip("/"),
        }
    )


def run_dag(portfolio: Portfolio, home: Path, manifest: Path, **env: str) -> dict[str, str]:
    """`airflow dags test` of the extraction DAG at the matrix's point in time; task id -> final state."""
    home.mkdir(parents=True, exist_ok=True)
    full = {
        **portfolio.env,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": _connection_json(portfolio.url),
        "SMART_OFFICE_DBT_MANIFEST": str(manifest),
        **env,
    }
    full.pop("SMART_OFFICE_WAREHOUSE_URL", None)  # the DAG reads its Airflow connection, as deployed
    airflow = str(Path(sys.executable).parent / "airflow")
    log = (home / "airflow.log").open("ab")
    subprocess.run([airflow, "db", "migrate"], env=full, check=True, stdout=log, stderr=log, timeout=300)
    subprocess.run([airflow, "dags", "test", DAG_ID, NOW], env=full, stdout=log, stderr=log, timeout=900)
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, map_index, state from task_instance where dag_id = ?", (DAG_ID,)
        ).fetchall()
    states: dict[str, str] = {}
    for task_id, map_index, state in rows:
        key = task_id if map_index < 0 else f"{task_id}[{map_index}]"
        states[key] = state
    return states


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smart_office.dbt_runner import build_manifest

    return build_manifest(target_path=tmp_path_factory.mktemp("dbt-target"))


@pytest.mark.timeout(1500)  # a whole DAG, dbt included, beside the other scenarios on two cores
def test_a_shard_that_fails_for_good_costs_its_tenants_not_the_marts(
    portfolio: Portfolio, reference: Reference, manifest: Path, tmp_path: Path, record_property: object
) -> None:
    target = reference.loaded_tenants()[0]
    portfolio.handle.add_fault(kind="invalid_client", service="identity", tenant=target)
    started = time.monotonic()
    states = run_dag(
        portfolio,
        tmp_path / "airflow",
        manifest,
        SMART_OFFICE_SHARD_SIZE="5",
        SMART_OFFICE_COVERAGE_THRESHOLD="0.9",
    )
    shards = {k: v for k, v in states.items() if k.startswith("extract_shard[")}
    assert len(shards) >= 3, states
    assert sorted(shards.values()).count("failed") == 1, shards
    assert states["check_coverage"] == "success"
    dbt = {k: v for k, v in states.items() if k.startswith("dbt_build.")}
    assert dbt, "the dbt group did not run"
    assert set(dbt.values()) == {"success"}, {k: v for k, v in dbt.items() if v != "success"}
    assert states["publish_marts"] == "success"
    assert states["enforce_coverage"] == "failed"
    # The run is closed with the failed shard's customers counted, not left `running`.
    runs = portfolio.query("select status, summary -> 'coverage' from ops.runs where dag_id = %s", DAG_ID)
    assert len(runs) == 1, runs
    status, coverage = runs[0]
    assert status == "failed"
    assert (
        coverage["failed_by_state"].get("not_extracted", 0)
        + coverage["failed_by_state"].get("invalid_client", 0)
        >= 1
    )
    # The other shards' customers are in the marts.
    in_marts = {r[0] for r in portfolio.query("select distinct tenant_id::text from marts.fct_alerts")}
    landed = {r[0] for r in portfolio.query("select distinct tenant_id::text from raw.alerts_v2")}
    assert landed - {target} <= in_marts
    assert len(in_marts) >= len(reference.loaded_tenants()) - 5
    # The failure that reaches a human is one line naming the coverage.
    log = (tmp_path / "airflow" / "airflow.log").read_text(errors="replace")
    assert re.search(
        r"AirflowFailException: coverage [0-9.]+% is below the threshold 90%: .*not_extracted", log
    )
    record_property(  # type: ignore[operator]
        "fault_matrix",
        json.dumps(
            {
                "scenario": "dag_shard_fails",
                "defect": "6",
                "fault": "one shard fails for good (AADSTS7000215 in one tenant), through Airflow",
                "exit": 1,
                "observed": "gate ran, dbt built, enforce_coverage failed",
                "lost": 0,
                "extra": 0,
                "seconds": round(time.monotonic() - started, 1),
            }
        ),
    )
