"""The demo's dbt progress bar counts to the number of dbt tasks the DAG really renders."""

from __future__ import annotations

from smart_office_demo.demo import DAG_ID, dbt_task_count
from tests.dags.test_dag_integrity import dagbag  # noqa: F401 - fixture


def test_the_demo_expects_as_many_dbt_tasks_as_cosmos_renders(dagbag) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    dag = dagbag.dags[DAG_ID]
    rendered = [task_id for task_id in dag.task_ids if task_id.startswith("dbt_build.")]
    assert rendered
    assert dbt_task_count() == len(rendered)
