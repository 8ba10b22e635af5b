"""The maintenance DAG's task purges and retains from the run's data interval, never the wall clock."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pendulum
import psycopg
import pytest

from smart_office.retention.operator import RetentionMaintenanceOperator
from smart_office.warehouse.migrations import migrate

DAG_FILE = Path(__file__).resolve().parents[3] / "dags" / "smart_office_maintenance.py"
TENANT = "33333333-3333-3333-3333-333333333333"


def test_the_dag_declares_one_daily_maintenance_task() -> None:
    spec = importlib.util.spec_from_file_location("smart_office_maintenance_dag", DAG_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    dag = module.dag
    assert [t.task_id for t in dag.tasks] == ["retention_and_purge"]
    assert isinstance(dag.tasks[0], RetentionMaintenanceOperator)
    assert "Why a DAG of its own" in dag.doc_md


def test_the_task_measures_departure_from_the_data_interval(
    warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    departed = datetime(2026, 3, 1, tzinfo=UTC)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "insert into ops.customers (tenant_id, access_state, first_seen_at, last_seen_at, departed_at,"
            " last_run_id) values (%s, 'gdap', %s, %s, %s, 'r')",
            (TENANT, departed, departed, departed),
        )
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", warehouse_url)
    monkeypatch.setenv("SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS", "10")
    monkeypatch.setenv("SMART_OFFICE_PURGE_KEY", "k")
    operator = RetentionMaintenanceOperator(task_id="retention_and_purge")

    def context(end: datetime) -> dict[str, object]:
        return {
            "data_interval_end": pendulum.instance(end),
            "dag": SimpleNamespace(dag_id="smart_office_maintenance"),
            "run_id": f"scheduled__{end.isoformat()}",
        }

    # Wall-clock time is long past the deadline; the run's interval is not.
    assert operator.execute(context(departed + timedelta(days=9)))["departed_purged"] == 0
    assert operator.execute(context(departed + timedelta(days=10)))["departed_purged"] == 1
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from ops.customers").fetchone()[0] == 0
        assert conn.execute("select purged_at, purged_by from ops.purges").fetchone() == (
            departed + timedelta(days=10),
            f"maintenance:smart_office_maintenance_scheduled__{(departed + timedelta(days=10)).isoformat()}",
        )
