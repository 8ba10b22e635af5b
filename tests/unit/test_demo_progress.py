"""The demo's progress while `airflow dags test` runs: dbt tasks counted from the DAG test log as it grows,
each once, half-written lines only when whole."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from smart_office_demo.demo import DagTestWatch

ENDED = "2026-12-07T00:00:52Z [info] [DAG TEST] end task task_id=dbt_build.{} map_index=-1\n"


def test_dbt_tasks_are_counted_once_as_the_log_grows(tmp_path: Path) -> None:
    log = tmp_path / "airflow.log"
    log.write_text(ENDED.format("earlier_run_model_build"))  # before this launch: not counted
    watch = DagTestWatch("postgresql://unused@/db", datetime.now(UTC), log, log.stat().st_size)
    with log.open("a") as written:
        written.write(ENDED.format("stg_a_model_build") + "[DAG TEST] starting task_id=dbt_build.stg_b\n")
        written.write(ENDED.format("stg_b_model_build")[:30])  # half a line so far
    assert watch.dbt_tasks_done() == 1
    with log.open("a") as written:
        written.write(ENDED.format("stg_b_model_build")[30:])
        written.write("[DAG TEST] end task task_id=extract_shard map_index=0\n")  # not dbt
    assert watch.dbt_tasks_done() == 2
    assert watch.dbt_tasks_done() == 2
