"""`make demo`: the whole product on embedded defaults — embedded PostgreSQL, the emulator, the real DAG.

Steps: warehouse (SMART_OFFICE_WAREHOUSE_URL or an embedded PostgreSQL under .state/) → emulator
(SMART_OFFICE_DEMO_TENANTS/_SEED/_NOW) → register-app + consent against it, exactly as a partner would run
them → `airflow dags test` of the extraction DAG → a printed summary read back from the warehouse.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from smart_office.warehouse.connection import WarehouseTarget, as_target, connect

REPO = Path(__file__).resolve().parents[2]
DAG_ID = "smart_office_security_posture"
console = Console()


def _state_dir() -> Path:
    path = Path(os.environ.get("SMART_OFFICE_STATE_DIR", REPO / ".state")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_warehouse(state: Path) -> WarehouseTarget:
    """The warehouse: SMART_OFFICE_WAREHOUSE_URL (any libpq login, or SMART_OFFICE_WAREHOUSE_AUTH=entra), else
    database `smart_office` on an embedded server, which trusts its local socket: no password anywhere."""
    from smart_office.warehouse.connection import WAREHOUSE_URL_ENV, resolve_warehouse, target_from_url
    from smart_office.warehouse.embedded import start_embedded_postgres

    if os.environ.get(WAREHOUSE_URL_ENV, "").strip():
        return resolve_warehouse(lookup=None)
    server = target_from_url(start_embedded_postgres(state / "warehouse"), origin="the embedded PostgreSQL")
    with connect(server, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = 'smart_office'").fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier("smart_office")))
    # Demos before this one gave the embedded login a password; the socket never asked for it.
    return server.with_params(dbname="smart_office", password=None)


def write_demo_env(state: Path, warehouse: WarehouseTarget | str, token_store_key: str) -> Path:
    """`.state/demo.env`: the settings that point other commands at the demo's warehouse.

    `set -a; . .state/demo.env; set +a` and then `smart-office dashboard export`, `smart-office dbt build` or
    psql reach the same warehouse. It holds the warehouse password and the token store key, as the files
    beside it already do, so it is readable by its owner only.
    """
    path = state / "demo.env"
    values = {
        **as_target(warehouse).env(),
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": token_store_key,
    }
    lines = [f"{name}={shlex.quote(value)}" for name, value in values.items()]
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n")
    return path


def _token_store_key(state: Path) -> str:
    from cryptography.fernet import Fernet

    # Kept beside the demo's state, never in the warehouse: the store holds only ciphertext.
    path = state / "token-store.key"
    if not path.exists():
        path.write_text(Fernet.generate_key().decode())
        path.chmod(0o600)
    return path.read_text().strip()


def setup_partner(endpoints: dict[str, Any], env: dict[str, str]) -> str:
    """register-app + consent against the emulator; returns the new app's client id."""
    import msal

    from emulator.browser import ScriptedBrowser
    from smart_office.auth.consent import run_consent
    from smart_office.auth.interactive import sign_in_with_browser
    from smart_office.auth.registration import BOOTSTRAP_CLIENT_ID, BOOTSTRAP_SCOPES, register_app
    from smart_office.runtime import build_secret_store
    from smart_office.settings import Settings
    from smart_office.tls import requests_session

    settings = Settings.from_env(env, require_partner=False)
    session = requests_session(settings.cloud.ca_bundle)
    # The emulator's sign-in pages are driven like a browser would; the product code is the same as for Microsoft.
    browser = ScriptedBrowser(requests_session(settings.cloud.ca_bundle))
    bootstrap = msal.PublicClientApplication(
        BOOTSTRAP_CLIENT_ID,
        authority=settings.cloud.authority(settings.partner_tenant_id),
        instance_discovery=False,
        http_client=session,
    )
    signed_in = sign_in_with_browser(bootstrap, BOOTSTRAP_SCOPES, open_browser=browser)
    if "access_token" not in signed_in:
        raise RuntimeError(f"partner admin sign-in failed: {signed_in.get('error')}")
    registration = register_app(
        cloud=settings.cloud,
        admin_token=signed_in["access_token"],
        session=session,
        store=build_secret_store(settings),
        preconsent=True,
    )
    console.print(
        f"register-app: application [bold]{registration.app_id}[/] "
        f"({', '.join(registration.changes) or 'unchanged'}); credential in {registration.credential_location}"
    )
    env["SMART_OFFICE_CLIENT_ID"] = registration.app_id
    consented = run_consent(Settings.from_env(env), open_browser=browser, show_device_code=lambda flow: None)
    console.print(f"consent: partner refresh token stored in {consented.where}")
    return registration.app_id


def run_demo(tenants: int | None = None) -> int:
    """The whole demo; a warehouse that cannot be used stops it at once with one line (exit code 2)."""
    from smart_office.warehouse.connection import WarehouseError, check_warehouse

    started = time.monotonic()
    state = _state_dir()
    tenants = tenants or int(os.environ.get("SMART_OFFICE_DEMO_TENANTS", "50"))
    seed = int(os.environ.get("SMART_OFFICE_DEMO_SEED", "42"))
    now = (
        os.environ.get("SMART_OFFICE_DEMO_NOW")
        or datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
    )
    try:
        warehouse = demo_warehouse(state)
        check_warehouse(warehouse)
    except WarehouseError as exc:
        console.print(f"[red]warehouse:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    console.print(f"warehouse: {warehouse.display}")

    from emulator.launcher import start_emulator
    from smart_office.pipeline import prepare_warehouse
    from smart_office.settings import Settings
    from smart_office.warehouse.connection import WAREHOUSE_AUTH_ENV

    emulator_state = state / "emulator"
    with start_emulator(
        tenants=tenants, seed=seed, now=now, state_dir=emulator_state, log_file=state / "emulator.log"
    ) as emulator:
        endpoints_file = state / "endpoints.json"
        endpoints_file.write_text(json.dumps(emulator.endpoints))
        console.print(
            f"emulator: {tenants} customers, seed {seed}, clock {now}; endpoints in {endpoints_file}"
        )
        env = {
            **os.environ,
            "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints_file),
            "SMART_OFFICE_PARTNER_TENANT_ID": emulator.endpoints["partner_tenant_id"],
            "SMART_OFFICE_TOKEN_STORE": "postgres",
            "SMART_OFFICE_TOKEN_STORE_KEY": _token_store_key(state),
            **warehouse.env(),
        }
        if warehouse.auth == "libpq":
            env.pop(WAREHOUSE_AUTH_ENV, None)
        prepare_warehouse(Settings.from_env(env, require_partner=False))
        setup_partner(emulator.endpoints, env)
        code = _airflow_dags_test(env, warehouse, now, state)
    print_summary(warehouse)
    demo_env = write_demo_env(state, warehouse, env["SMART_OFFICE_TOKEN_STORE_KEY"])
    console.print(f"the demo's warehouse for other commands: set -a; . {demo_env}; set +a")
    if code == 0 and os.environ.get("SMART_OFFICE_DEMO_DASHBOARD", "1") != "0":
        start_dashboard(warehouse, state)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s (exit code {code})")
    return code


def start_dashboard(warehouse: WarehouseTarget, state: Path, port: int | None = None) -> None:
    """Start the dashboard in the background (replacing one an earlier demo left) and print its URL."""
    import signal
    import socket
    import urllib.request

    port = port or int(os.environ.get("SMART_OFFICE_DASHBOARD_PORT", "8501"))
    pid_file = state / "dashboard.pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), signal.SIGTERM)
            time.sleep(1)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            console.print(
                f"[yellow]port {port} is busy; start the dashboard yourself: smart-office dashboard --port N[/]"
            )
            return
    log = (state / "dashboard.log").open("ab")
    # The warehouse URL (with its password, if it has one) goes through the environment, never the command line.
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "smart-office"), "dashboard", "serve", "--port", str(port)],
        env={**os.environ, **warehouse.env()},
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    pid_file.write_text(str(process.pid))
    url = f"http://127.0.0.1:{port}/"
    for _ in range(60):
        try:
            with urllib.request.urlopen(f"{url}_stcore/health", timeout=1) as response:  # noqa: S310 - local
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    console.print(f"dashboard: [bold]{url}[/] (stop it with: kill -- -$(cat {pid_file}))")


def _airflow_dags_test(
    env: dict[str, str], warehouse: WarehouseTarget, logical_date: str, state: Path
) -> int:
    airflow_home = state / "airflow"
    airflow_home.mkdir(exist_ok=True)
    env = {
        **env,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
        "DO_NOT_TRACK": "1",
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": warehouse.airflow_connection(),
    }
    # The DAG reads the warehouse through its Airflow connection, like a deployment does.
    env.pop("SMART_OFFICE_WAREHOUSE_URL", None)
    airflow = str(Path(sys.executable).parent / "airflow")
    log = (state / "airflow.log").open("ab")
    console.print("airflow: migrating its metadata database (SQLite) …")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=log, stderr=log)
    console.print(f"airflow: dags test {DAG_ID} {logical_date} (log: {state / 'airflow.log'}) …")
    result = subprocess.run([airflow, "dags", "test", DAG_ID, logical_date], env=env, stdout=log, stderr=log)
    return result.returncode


def print_summary(warehouse: WarehouseTarget) -> None:
    with connect(warehouse) as conn:
        run = conn.execute(
            "select run_id, status, started_at, finished_at, summary from ops.runs order by started_at desc limit 1"
        ).fetchone()
        if run is None:
            console.print("[red]no run recorded[/]")
            return
        run_id, status, started_at, finished_at, summary = run
        duration = (finished_at - started_at).total_seconds() if finished_at else float("nan")
        discovery = summary.get("discovery", {})
        cov = summary.get("coverage", {})
        table = Table(title=f"Run {run_id}: {status}, {duration:.0f}s")
        table.add_column("measure")
        table.add_column("value", justify="right")
        table.add_row("customers listed", f"{discovery.get('listed', 0):,}")
        table.add_row("customers with delegated access", f"{discovery.get('extractable', 0):,}")
        table.add_row("departed customers", f"{discovery.get('departed', 0):,}")
        for state_name, count in sorted(discovery.get("by_access_state", {}).items()):
            table.add_row(f"  access: {state_name}", f"{count:,}")
        table.add_row("customers loaded", f"{cov.get('loaded', 0):,} of {cov.get('attempted', 0):,}")
        for state_name, count in sorted(cov.get("failed_by_state", {}).items()):
            table.add_row(f"  not loaded: {state_name}", f"{count:,}")
        console.print(table)
        rows = conn.execute(
            """
            select endpoint, sum(rows_received), sum(rows_new), sum(quarantined), sum(requests), sum(throttled)
            from ops.tenant_runs where run_id = %s group by endpoint order by endpoint
            """,
            (run_id,),
        ).fetchall()
        entities = Table(title="Rows by entity (this run)")
        for column in ("endpoint", "received", "new versions", "quarantined", "requests", "429s"):
            entities.add_column(column, justify="right" if column != "endpoint" else "left")
        for row in rows:
            entities.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
        console.print(entities)
    print_marts_summary(warehouse)


def print_marts_summary(warehouse: WarehouseTarget) -> None:
    """What an analyst would look at first, read from the marts the DAG just built."""
    with connect(warehouse) as conn:
        exists = conn.execute("select to_regclass('marts.rpt_customer_posture')").fetchone()[0]
        if exists is None:
            console.print("[yellow]marts not built (the dbt step did not run)[/]")
            return
        avg, median, scored = conn.execute(
            """
            select avg(secure_score_pct), percentile_cont(0.5) within group (order by secure_score_pct), count(*)
            from marts.rpt_customer_posture where secure_score_pct is not null and not is_departed
            """
        ).fetchone()
        if scored:
            console.print(
                f"Portfolio Secure Score: average {avg:.1f} %, median {median:.1f} % over {scored:,} customers"
            )
        weakest = Table(title="Weakest controls across the portfolio (lowest adoption, most points at stake)")
        for column in ("control", "category", "adoption", "customers applicable", "points at stake"):
            weakest.add_column(column, justify="left" if column in {"control", "category"} else "right")
        for title, category, rate, applicable, gap in conn.execute(
            """
            select c.title, c.control_category, a.adoption_rate, a.customers_applicable, a.points_gap_total
            from marts.fct_control_adoption a join marts.dim_controls c using (control_id)
            where a.customers_applicable >= 3
            order by a.adoption_rate, a.points_gap_total desc
            limit 8
            """
        ):
            weakest.add_row(title or "", category or "", f"{rate:.0%}", f"{applicable:,}", f"{gap:,.0f}")
        console.print(weakest)
        severity = Table(title="Alerts by severity")
        for column in ("severity", "alerts", "open", "median hours to resolve"):
            severity.add_column(column, justify="left" if column == "severity" else "right")
        for name, total, open_, mttr in conn.execute(
            """
            select severity, count(*), count(*) filter (where is_open),
                   percentile_cont(0.5) within group (order by hours_to_resolve)
            from marts.fct_alerts group by severity
            order by array_position(array['high', 'medium', 'low', 'informational'], severity) nulls last
            """
        ):
            severity.add_row(name, f"{total:,}", f"{open_:,}", "-" if mttr is None else f"{mttr:.1f}")
        console.print(severity)
