"""The DAG end to end — extraction, every dbt model through Cosmos, the dashboard — once per way a partner's
PostgreSQL lets it in, against a PostgreSQL the test started (tests/support/login_methods.py).

`trust` is `smart-office-demo` itself (`make demo`), with SMART_OFFICE_WAREHOUSE_URL pointing at the test's
server, which has to print the marts summary. The others run as the demo does, on one shared emulator (a
portfolio of four customers): `register-app` + `consent` into the method's warehouse, `check-config`
(smart_office.preflight), then `airflow dags test` with the warehouse as the Airflow connection
`smart_office_warehouse` — for `password_url` read from the emulator's Key Vault by Airflow's own
AzureKeyVaultBackend, configured as deploy/helm/values-azure.yaml configures it (workload identity). The runs
go in parallel (SMART_OFFICE_TEST_DAG_PARALLEL, default 3); each then has to show landed rows, a successful
run record, every dbt model in the warehouse and every task of the DAG run succeeded, and the four
dashboard pages rendered through the method's login.

    .venv/bin/pytest tests/dags/test_dag_login_methods.py -v -s     (several minutes on 2 cores)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle, running_emulator
from tests.support.login_methods import LoginMatrix, LoginMethod, login_matrix
from tests.support.secrets_backend import key_vault_backend_env, store_airflow_connection

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DAG_ID = "smart_office_security_posture"
LOGICAL_DATE = "2026-11-02T09:00:00+00:00"
DAG_METHODS = ("trust", "password_url", "pgpass", "service", "certificate", "entra")
FROM_KEY_VAULT = "password_url"
TENANTS = 4

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(1800)]
_STARTED = time.monotonic()


def _phase(what: str) -> None:
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {what}", flush=True)


@dataclass
class DagRun:
    method: LoginMethod
    env: dict[str, str]
    home: Path
    log: Path
    refused: bool = False  # a wrong login on purpose: check-config and the first task must stop it
    demo: bool = False  # `smart-office-demo`, which starts its own emulator and Airflow
    preflight: subprocess.CompletedProcess[str] | None = None
    returncode: int | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


@contextlib.contextmanager
def _process_env(values: dict[str, str]) -> Iterator[None]:
    """libpq in this process reads PGPASSFILE/PGSERVICEFILE from os.environ, so set-up runs with them set."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _base_env() -> dict[str, str]:
    """This process's environment without any warehouse, Smart Office or Azure setting of its own."""
    prefixes = ("SMART_OFFICE_", "AIRFLOW_CONN_", "AIRFLOW__", "AZURE_", "PG")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def _airflow_template(folder: Path) -> Path:
    """One migrated SQLite metadata database; every run starts from a copy (migrating takes ~20 s each)."""
    home = folder / "airflow-template"
    home.mkdir(parents=True)
    env = {**_base_env(), "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, check=True, capture_output=True)
    return home / "airflow.db"


def _prepare(method: LoginMethod, emulator: EmulatorHandle, folder: Path, template_db: Path) -> DagRun:
    """The method's warehouse migrated, the app registered and consented into it, and the DAG's environment."""
    from cryptography.fernet import Fernet

    from smart_office.warehouse.connection import resolve_warehouse
    from smart_office_demo.demo import setup_partner

    run_dir = folder / method.name
    run_dir.mkdir()
    endpoints = run_dir / "endpoints.json"
    endpoints.write_text(json.dumps(emulator.endpoints))
    env = {
        **_base_env(),
        **method.settings(),
        "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints),
        "SMART_OFFICE_PARTNER_TENANT_ID": emulator.partner_tenant_id,
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": Fernet.generate_key().decode(),
        "SMART_OFFICE_SHARD_SIZE": "2",
    }
    with _process_env({k: v for k, v in method.env.items() if k.startswith("PG")}):
        setup_partner(
            emulator.endpoints, env, run_dir
        )  # migrate, register-app, consent: the CLI, as the demo
        target = resolve_warehouse(env, lookup=None)
    home = run_dir / "airflow"
    home.mkdir()
    shutil.copy(template_db, home / "airflow.db")
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            # Cosmos keeps partial-parse state per DAG and task group; parallel runs must not share it.
            "AIRFLOW__COSMOS__CACHE_DIR": str(run_dir / "cosmos-cache"),
            "DO_NOT_TRACK": "1",
        }
    )
    # The DAG reads the warehouse through its Airflow connection, as a deployment does.
    env.pop("SMART_OFFICE_WAREHOUSE_URL")
    if method.name == FROM_KEY_VAULT:
        store_airflow_connection(emulator, "smart_office_warehouse", target.airflow_connection())
        env.update(key_vault_backend_env(emulator, run_dir))
    else:
        env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = target.airflow_connection()
    return DagRun(method=method, env=env, home=home, log=run_dir / "airflow.log")


def _prepare_demo(method: LoginMethod, folder: Path) -> DagRun:
    """`make demo` with SMART_OFFICE_WAREHOUSE_URL=<the method's URL> (README's "bring your own PostgreSQL")."""
    run_dir = folder / method.name
    run_dir.mkdir()
    env = {
        **_base_env(),
        **method.settings(),
        "SMART_OFFICE_STATE_DIR": str(run_dir / "state"),
        "SMART_OFFICE_DEMO_TENANTS": str(TENANTS),
        "SMART_OFFICE_DEMO_NOW": LOGICAL_DATE,
        "SMART_OFFICE_DEMO_DASHBOARD": "0",
        "AIRFLOW__COSMOS__CACHE_DIR": str(run_dir / "cosmos-cache"),
        "COLUMNS": "200",
    }
    return DagRun(
        method=method, env=env, home=run_dir / "state" / "airflow", log=run_dir / "demo.log", demo=True
    )


def _run(run: DagRun) -> DagRun:
    started = time.monotonic()
    if run.demo:
        with run.log.open("wb") as log:
            command = [str(BIN / "smart-office-demo")]
            result = subprocess.run(
                command, env=run.env, stdout=log, stderr=subprocess.STDOUT, check=False, timeout=1500
            )
        run.returncode = result.returncode
        run.seconds = time.monotonic() - started
        _phase(f"{run.method.name}: smart-office-demo {run.returncode}, {run.seconds:.0f}s")
        return run
    # What docker-compose's airflow-init and the Helm init container run before Airflow starts.
    run.preflight = subprocess.run(
        [sys.executable, "-m", "smart_office.preflight"],
        env=run.env,
        capture_output=True,
        text=True,
        check=False,
    )
    if run.preflight.returncode == 0 or run.refused:
        with run.log.open("wb") as log:
            result = subprocess.run(
                [str(BIN / "airflow"), "dags", "test", DAG_ID, LOGICAL_DATE],
                env=run.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=1500,
            )
        run.returncode = result.returncode
    run.seconds = time.monotonic() - started
    _phase(
        f"{run.method.name}: check-config {run.preflight.returncode}, dags test {run.returncode}, {run.seconds:.0f}s"
    )
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, DagRun], LoginMatrix]]:
    folder = tmp_path_factory.mktemp("dag-logins")
    with (
        running_emulator(
            folder / "emulator", tenants=TENANTS, now=LOGICAL_DATE, fault_profile="none"
        ) as emulator,
        login_matrix(folder / "logins", emulator) as matrix,
        ThreadPoolExecutor(max_workers=int(os.environ.get("SMART_OFFICE_TEST_DAG_PARALLEL", "3"))) as pool,
    ):
        template = pool.submit(_airflow_template, folder)
        _phase("emulator and warehouse cluster up")
        prepared = []
        for name in DAG_METHODS:
            if name in matrix.skipped:
                continue
            if name == "trust":
                prepared.append(_prepare_demo(matrix.methods[name], folder))
                continue
            prepared.append(_prepare(matrix.methods[name], emulator, folder, template.result()))
            _phase(f"{name}: warehouse migrated, app registered, partner consented")
        pgpass = next(run for run in prepared if run.method.name == "pgpass")
        prepared.append(_refused(pgpass, matrix, folder, template.result()))
        done = {("refused" if run.refused else run.method.name): run for run in pool.map(_run, prepared)}
        yield done, matrix


def _refused(like: DagRun, matrix: LoginMatrix, folder: Path, template_db: Path) -> DagRun:
    """A deployment whose warehouse connection has the wrong password."""
    run_dir = folder / "refused"
    (run_dir / "airflow").mkdir(parents=True)
    shutil.copy(template_db, run_dir / "airflow" / "airflow.db")
    wrong = matrix.methods["password_url"].url.replace("fake-url-pw-1", "fake-wrong-pw")
    env = {
        **like.env,
        "AIRFLOW_HOME": str(run_dir / "airflow"),
        "AIRFLOW__COSMOS__CACHE_DIR": str(run_dir / "cosmos-cache"),
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": wrong,
    }
    return DagRun(
        method=like.method, env=env, home=run_dir / "airflow", log=run_dir / "airflow.log", refused=True
    )


def _manifest_models() -> list[tuple[str, str]]:
    manifest = json.loads((REPO / "dbt" / "target" / "manifest.json").read_text())
    return sorted(
        (node["schema"], node["alias"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["package_name"] == "smart_office"
        # An ephemeral model is a CTE inside the models that read it, never a relation.
        and node["config"]["materialized"] != "ephemeral"
    )


@pytest.mark.parametrize("name", DAG_METHODS)
def test_the_dag_runs_end_to_end_with_each_login(
    runs: tuple[dict[str, DagRun], LoginMatrix], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    done, matrix = runs
    method = matrix.method(name)  # skips a method this machine cannot serve (certificates without OpenSSL)
    run = done[name]
    if run.demo:
        assert run.returncode == 0, run.tail()
        printed = run.log.read_text(errors="replace")
        assert f"warehouse: {method.url}" in printed
        for summary in (
            "Portfolio Secure Score: average",
            "Weakest controls across the portfolio",
            "Alerts by severity",
        ):
            assert summary in printed, summary  # the marts summary
    else:
        assert run.preflight is not None
        # check-config's verdict, then the scope it reports (tests/integration/tenants/test_check_config_scope.py).
        verdict = run.preflight.stderr.strip().splitlines()[:1]
        assert (run.preflight.returncode, verdict) == (0, ["configuration: OK"]), run.preflight.stderr
        assert run.returncode == 0, run.tail()

    from smart_office.warehouse.connection import connect, target_from_url

    for key, value in method.env.items():
        if key.startswith("PG"):
            monkeypatch.setenv(key, value)
    target = target_from_url(
        method.url, auth="entra" if name == "entra" else "libpq", env={**os.environ, **run.env}
    )
    with connect(target) as conn:
        status, summary = conn.execute(
            "select status, summary from ops.runs order by started_at desc limit 1"
        ).fetchone()
        assert status == "succeeded", summary
        assert summary["coverage"]["loaded"] == summary["coverage"]["attempted"] > 0
        for table in (
            "secure_scores",
            "secure_score_control_profiles",
            "alerts_v2",
            "partner_center_customers",
        ):
            assert conn.execute(f"select count(*) from raw.{table}").fetchone()[0] > 0, table  # noqa: S608 - fixed names
        missing = [
            f"{schema}.{alias}"
            for schema, alias in _manifest_models()
            if conn.execute("select to_regclass(%s)", (f"{schema}.{alias}",)).fetchone()[0] is None
        ]
        assert missing == [], "dbt models not built"
        (worst_customer,) = conn.execute(
            "select tenant_id::text from marts.rpt_customer_posture where not is_departed "
            "order by secure_score_pct nulls last limit 1"
        ).fetchone()

    with sqlite3.connect(run.home / "airflow.db") as metadata:
        states = metadata.execute(
            "select task_id, map_index, state from task_instance where dag_id = ?", (DAG_ID,)
        ).fetchall()
    assert states, "no task instances recorded"
    assert [s for s in states if s[2] != "success"] == []
    dbt_tasks = {task_id for task_id, _, _ in states if task_id.startswith("dbt_build.")}
    assert len(dbt_tasks) >= len(_manifest_models())  # one `dbt build` task per model (plus detached tests)

    # The dashboard, through the same login (and for entra, its own token), on every page.
    from tests.integration.dashboard.apptest import open_page

    for key in (
        "SMART_OFFICE_WAREHOUSE_AUTH",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "SMART_OFFICE_ENDPOINTS_FILE",
    ):
        if key in run.env:
            monkeypatch.setenv(key, run.env[key])
    pages = {"portfolio": {}, "customer": {"customer": worst_customer}, "alerts": {}, "opportunities": {}}
    for page, query in pages.items():
        app = open_page(monkeypatch, method.url, page, **query)
        assert not app.error, (page, [e.value for e in app.error])
        if page in {"portfolio", "customer"}:
            assert app.metric, f"{page}: no figures"


def test_a_refused_login_stops_check_config_and_the_first_task_at_once(
    runs: tuple[dict[str, DagRun], LoginMatrix],
) -> None:
    run = runs[0]["refused"]
    assert run.preflight is not None
    problems = run.preflight.stderr.strip().splitlines()
    assert problems[0] == "configuration: 1 problem"
    assert problems[1].startswith(
        "  - AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE: cannot log in to postgresql://smart_url:***@"
    )
    assert 'password authentication failed for user "smart_url"' in problems[1]
    assert run.returncode != 0
    # Seconds of work, not minutes of retries (the rest is `airflow dags test` starting, on a loaded machine).
    assert run.seconds < 240, run.seconds
    with sqlite3.connect(run.home / "airflow.db") as metadata:
        states = dict(
            metadata.execute(
                "select task_id, coalesce(state, 'none') || ':' || try_number from task_instance"
                " where dag_id = ? and map_index = -1",
                (DAG_ID,),
            ).fetchall()
        )
    # Failed once and for good (the task allows no retry, and a configuration error would get none anyway);
    # nothing downstream ran — no extraction, no dbt.
    assert states["migrate_warehouse"] == "failed:1"
    assert {state.split(":")[0] for task, state in states.items() if task != "migrate_warehouse"} <= {
        "upstream_failed",
        "none",
    }
    log = run.log.read_text(errors="replace")
    assert "AirflowFailException" in log
    assert "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE: cannot log in to postgresql://smart_url:***@" in log
    assert "fake-wrong-pw" not in log
