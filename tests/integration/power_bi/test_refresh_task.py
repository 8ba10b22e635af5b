"""The `refresh_power_bi` task under `airflow dags test`, against the emulator's Power BI over HTTPS.

The task is built as the real DAG builds it — `power_bi_refresh_task(power_bi_refresh_config(os.environ))`
downstream of `publish_marts` — in a two-task DAG (the real one needs a warehouse and dbt to get that far;
tests/dags/test_power_bi_task.py checks that the real DAG wires it so), configured as a partner would:
SMART_OFFICE_POWERBI_* and an Airflow connection of type `powerbi` whose extra names the base URL, the
identity host and the CA. The provider's operator defers to its trigger, which `airflow dags test` runs in
line. The refresh must wait for Power BI to finish; a refresh Power BI fails must fail the task with one line
naming the model, leave the task before it alone, and not be retried.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DAG_ID = "power_bi_refresh_test"
LOGICAL_DATE = "2026-11-02T09:00:00+00:00"
TASK = "refresh_power_bi"


def _base_env() -> dict[str, str]:
    import os

    prefixes = ("SMART_OFFICE_", "AIRFLOW_CONN_", "AIRFLOW__", "AZURE_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


@pytest.fixture(scope="module")
def airflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated metadata database; each run starts from a copy (migrating takes ~20 s)."""
    home = tmp_path_factory.mktemp("airflow-template")
    env = {**_base_env(), "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    return home / "airflow.db"


DAG_FILE = f"""
import os
from datetime import UTC, datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

from smart_office.power_bi import power_bi_refresh_config

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC), catchup=False):
    publish = EmptyOperator(task_id="publish_marts")
    power_bi = power_bi_refresh_config(os.environ)
    if power_bi is not None:
        from smart_office.operators.power_bi import power_bi_refresh_task

        publish >> power_bi_refresh_task(power_bi)
"""


@pytest.fixture
def power_bi_env(emulator: EmulatorHandle) -> dict[str, str]:
    """The settings and connection the demo uses (smart_office_demo.power_bi): a partner's, pointed elsewhere."""
    from smart_office_demo.power_bi import power_bi_settings

    return power_bi_settings(emulator.endpoints)


@pytest.fixture
def power_bi_ids(power_bi_env: dict[str, str]) -> tuple[str, str]:
    """(workspace id, semantic model id)."""
    return power_bi_env["SMART_OFFICE_POWERBI_GROUP_ID"], power_bi_env["SMART_OFFICE_POWERBI_DATASET_ID"]


def _power_bi_token(emulator: EmulatorHandle) -> str:
    import msal

    creds = emulator.partner_credentials()
    app = msal.ConfidentialClientApplication(
        creds["client_id"],
        client_credential=creds["client_secret"],
        authority=emulator.authority(emulator.partner_tenant_id),
        instance_discovery=False,
        http_client=emulator.http_session(),
        token_cache=msal.TokenCache(),
    )
    result = app.acquire_token_for_client(["https://analysis.windows.net/powerbi/api/.default"])
    assert "access_token" in result, result
    return result["access_token"]


def _run_dag(power_bi_env: dict[str, str], airflow_db: Path, folder: Path) -> tuple[dict[str, str], str, str]:
    """(task id -> state, the run's log, the client secret it used) of `airflow dags test`."""
    home = folder / "airflow"
    home.mkdir()
    dags = folder / "dags"
    dags.mkdir()
    (dags / "power_bi_refresh.py").write_text(DAG_FILE)
    shutil.copy(airflow_db, home / "airflow.db")
    env = {
        **_base_env(),
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "DO_NOT_TRACK": "1",
        **power_bi_env,
        "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES": "5",
    }
    log = folder / "airflow.log"
    with log.open("wb") as out:
        subprocess.run(
            [str(BIN / "airflow"), "dags", "test", DAG_ID, LOGICAL_DATE],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=500,
        )
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute(
            "select task_id, map_index, state from task_instance where dag_id = ?", (DAG_ID,)
        ).fetchall()
    states = {task if index < 0 else f"{task}[{index}]": state for task, index, state in rows}
    secret = json.loads(power_bi_env["AIRFLOW_CONN_POWERBI_DEFAULT"])["password"]
    return states, log.read_text(errors="replace"), secret


def _history(emulator: EmulatorHandle, ids: tuple[str, str], top: int = 60) -> list[dict[str, object]]:
    group, dataset = ids
    session = emulator.http_session()
    session.headers["Authorization"] = f"Bearer {_power_bi_token(emulator)}"
    url = f"{emulator.power_bi}/v1.0/myorg/groups/{group}/datasets/{dataset}/refreshes?$top={top}"
    return session.get(url, timeout=30).json()["value"]


def _history_polls(emulator: EmulatorHandle) -> int:
    stats = emulator.admin_get("/stats")
    return sum(
        row["requests"]
        for row in stats["endpoints"]
        if row["service"] == "power_bi" and row["endpoint"].endswith("/refreshes")
    )


def test_the_refresh_task_starts_a_refresh_and_waits_for_it_to_complete(
    emulator: EmulatorHandle,
    power_bi_env: dict[str, str],
    power_bi_ids: tuple[str, str],
    airflow_db: Path,
    tmp_path: Path,
) -> None:
    polls_before = _history_polls(emulator)
    states, log, secret = _run_dag(power_bi_env, airflow_db, tmp_path)
    assert states[TASK] == "success", log[-4000:]
    latest = _history(emulator, power_bi_ids)[0]
    assert latest["status"] == "Completed"
    assert latest["refreshType"] == "ViaApi"
    # It waited: the refresh runs 3 s on the emulator and the task polls every second, so it saw it running.
    assert _history_polls(emulator) - polls_before >= 3
    assert f"Power BI refresh of semantic model {power_bi_ids[1]}" in log
    assert secret not in log


def test_a_refresh_power_bi_fails_fails_the_task_with_one_line_naming_the_model(
    emulator: EmulatorHandle,
    power_bi_env: dict[str, str],
    power_bi_ids: tuple[str, str],
    airflow_db: Path,
    tmp_path: Path,
) -> None:
    group, dataset = power_bi_ids
    attempts_before = len(_history(emulator, power_bi_ids))
    emulator.add_fault(
        kind="refresh_failed", error_code="ModelRefreshFailed_CredentialsNotSpecified", count=1
    )
    states, log, secret = _run_dag(power_bi_env, airflow_db, tmp_path)
    assert states[TASK] == "failed", log[-4000:]
    reason = (
        f"Power BI refresh of semantic model {dataset} (workspace {group}) ended Failed: "
        "ModelRefreshFailed_CredentialsNotSpecified"
    )
    lines = [line for line in log.splitlines() if reason in line]
    assert lines, log[-4000:]
    # Not retried: Power BI ran the refresh and it failed; another try would fail alike.
    assert len(_history(emulator, power_bi_ids)) == attempts_before + 1
    latest = _history(emulator, power_bi_ids)[0]
    assert latest["status"] == "Failed"
    assert "ModelRefreshFailed_CredentialsNotSpecified" in str(latest["serviceExceptionJson"])
    # No secret and no token anywhere in what the run wrote.
    assert secret not in log
    assert "eyJ" not in log
    # The task before it keeps its state (in the real DAG, nothing waits on the refresh either).
    assert states["publish_marts"] == "success"
