"""The real DAG gains `refresh_power_bi` only when configured, after the published marts, with nothing after it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_ID = "smart_office_security_posture"
DATASET = "5e055f91-c6df-43d9-b359-805efcd85f70"
GROUP = "e8340d28-d86c-4928-bf36-1b7c1889c5b4"


@pytest.fixture(scope="module")
def parse(tmp_path_factory: pytest.TempPathFactory) -> object:
    """parse(**env) -> the DAG as Airflow's DagBag parses it with those variables set."""
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
    from smart_office.dbt_runner import build_manifest

    os.environ["SMART_OFFICE_DBT_MANIFEST"] = str(build_manifest(target_path=tmp_path_factory.mktemp("dbt")))
    from airflow.dag_processing.dagbag import DagBag

    def parse_with(**env: str):  # type: ignore[no-untyped-def]
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            bag = DagBag(dag_folder=str(DAGS_DIR / f"{DAG_ID}.py"))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        assert bag.import_errors == {}
        return bag.dags[DAG_ID]

    return parse_with


def test_without_a_semantic_model_there_is_no_refresh_task(parse) -> None:  # type: ignore[no-untyped-def]
    dag = parse(SMART_OFFICE_POWERBI_DATASET_ID="")
    assert "refresh_power_bi" not in dag.task_dict


def test_the_refresh_follows_the_published_marts_and_nothing_waits_on_it(parse) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    dag = parse(
        SMART_OFFICE_POWERBI_DATASET_ID=DATASET,
        SMART_OFFICE_POWERBI_GROUP_ID=GROUP,
        SMART_OFFICE_POWERBI_CONN_ID="powerbi_partner",
        SMART_OFFICE_POWERBI_TIMEOUT_MINUTES="90",
    )
    task = dag.get_task("refresh_power_bi")
    assert type(task).__name__ == "PowerBIRefreshOperator"
    assert (task.dataset_id, task.group_id, task.conn_id) == (DATASET, GROUP, "powerbi_partner")
    # Only once the marts are published, and never in the way of anything: no task downstream, so neither the
    # extraction, the marts nor the coverage check depends on it.
    assert task.upstream_task_ids == {"publish_marts"}
    assert task.trigger_rule == "all_success"
    assert task.downstream_task_ids == set()
    assert "refresh_power_bi" not in dag.get_task("enforce_coverage").upstream_task_ids
    assert task.retries == 1
    assert task.timeout == 90 * 60
    assert task.execution_timeout == timedelta(minutes=105)
