"""The dbt step of the extraction DAG, rendered by Astronomer Cosmos from the project's manifest.

Manifest load mode: the DAG parses a JSON file instead of running dbt at parse time. The manifest is
built by `smart-office dbt-parse` (make install, the Docker image build, the demo) into dbt/target/.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from smart_office.dbt_runner import DBT_PROJECT_DIR
from smart_office.operators.extraction import WAREHOUSE_CONN_ID


class ManifestMissingError(FileNotFoundError):
    """The dbt manifest has not been built; the message says how to build it."""


def manifest_path() -> Path:
    return Path(os.environ.get("SMART_OFFICE_DBT_MANIFEST", DBT_PROJECT_DIR / "target" / "manifest.json"))


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else (shutil.which("dbt") or "dbt")


def full_refresh_condition(weekday: str | int | None) -> str:
    """A Jinja expression, true when a run should rebuild everything: its `full_refresh` param, or its point
    in time falling on ISO `weekday` (1 = Monday … 7 = Sunday, UTC; empty or None: only on request).

    The point in time is the extraction's (operators/extraction.py `_as_of`): the end of the data interval,
    or when a manual run was due — Airflow 3 leaves `data_interval_end` out of the context of a run
    triggered without a logical date.

    Daily builds are incremental and test only what they touched (dbt/macros/data_test_scope.sql); the
    weekly full refresh rebuilds every model from raw and tests every row.
    """
    day = str(weekday).strip() if weekday is not None else ""
    if not day:
        return "params.full_refresh"
    if day not in {"1", "2", "3", "4", "5", "6", "7"}:
        raise ValueError(f"full-refresh weekday must be 1 (Monday) to 7 (Sunday) or empty, not {weekday!r}")
    as_of = "(data_interval_end if data_interval_end is defined and data_interval_end else dag_run.run_after)"
    return f"(params.full_refresh or {as_of}.isoweekday() == {day})"


def dbt_task_group(
    *,
    group_id: str = "dbt",
    conn_id: str = WAREHOUSE_CONN_ID,
    full_refresh_when: str = "false",
    **kwargs: Any,
) -> Any:
    """A Cosmos DbtTaskGroup: one `dbt build` task per model — the model, then its tests (a failing test fails the task).

    The dbt profile comes from the connection translator (`WarehouseProfileMapping`: SMART_OFFICE_WAREHOUSE_URL,
    else the Airflow connection; any libpq login or an Entra ID token); no secret is written to profiles.yml. `full_refresh_when` is a Jinja condition (see `full_refresh_condition`): when it
    holds, models build with --full-refresh and every test — the ones that run alone after several models
    included — checks every row.
    """
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import LoadMode, TestBehavior

    from smart_office.operators.dbt_profile import WarehouseProfileMapping

    manifest = manifest_path()
    if not manifest.is_file():
        raise ManifestMissingError(
            f"dbt manifest not found at {manifest}: run `smart-office dbt-parse` (part of `make install`)"
        )
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=DBT_PROJECT_DIR,
            manifest_path=manifest,
            install_dbt_deps=False,
            partial_parse=True,
        ),
        profile_config=ProfileConfig(
            profile_name="smart_office",
            target_name="airflow",
            profile_mapping=WarehouseProfileMapping(conn_id=conn_id, profile_args={"schema": "dbt"}),
        ),
        execution_config=ExecutionConfig(dbt_executable_path=dbt_executable()),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            test_behavior=TestBehavior.BUILD,
            # Cosmos' OpenLineage-style URIs are rejected by Airflow 3 for socket hosts; the DAG publishes
            # its own `smart_office_marts` asset once every model and test has passed.
            emit_datasets=False,
            # A test on several models (relationships, the score-sum check) runs once all of them are built,
            # not with the first one — otherwise it fails on a half-built warehouse.
            should_detach_multiple_parents_tests=True,
            # An ephemeral model (an intermediate model that reads a mart) builds nothing, but its `dbt build`
            # task runs its key and unit tests; Cosmos would otherwise render it as an empty task and skip them.
            ephemeral_models_as_empty_operator=False,
        ),
        operator_args={
            "install_deps": False,
            "full_refresh": "{{ " + full_refresh_when + " }}",
            "vars": {"data_test_scope": "{{ 'all' if " + full_refresh_when + " else 'recent' }}"},
        },
        **kwargs,
    )
