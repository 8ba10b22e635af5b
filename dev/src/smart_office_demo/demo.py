"""`make demo`: the whole product on embedded defaults — embedded PostgreSQL, the emulator, the real DAG.

Steps, each through a public interface: the warehouse (SMART_OFFICE_WAREHOUSE_URL through the product's
connection translator, or an embedded PostgreSQL under .state/) → the emulator (`python -m emulator serve`,
SMART_OFFICE_DEMO_TENANTS/_SEED/_NOW) → `smart-office migrate`, `smart-office register-app` and
`smart-office consent`, as a partner's engineer runs them, their browser sign-ins answered by the emulator's
scripted browser through the standard BROWSER variable → `airflow dags test` of the DAG → a summary read back
from the warehouse → `smart-office dashboard serve`.
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

from psycopg import sql
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from smart_office.warehouse.connection import WarehouseTarget, as_target, connect
from smart_office_demo import settings

# A development tool of this repository: it runs the DAGs of the checkout it lives in.
REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DAG_ID = "smart_office_security_posture"
console = Console()


def _state_dir() -> Path:
    path = Path(os.environ.get(settings.STATE_DIR.name) or REPO / ".state").resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_warehouse(state: Path) -> WarehouseTarget:
    """The warehouse: SMART_OFFICE_WAREHOUSE_URL (any libpq login, or SMART_OFFICE_WAREHOUSE_AUTH=entra), else
    database `smart_office` on an embedded server, which trusts its local socket: no password anywhere."""
    from smart_office.warehouse.connection import WAREHOUSE_URL_ENV, resolve_warehouse, target_from_url
    from smart_office_demo.embedded import start_embedded_postgres

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


class SetupError(RuntimeError):
    """A one-time setup command failed; the message holds the end of what it printed."""


def _smart_office(args: list[str], env: dict[str, str], log: Path) -> str:
    """Run `smart-office <args>` as a partner's engineer would; its output goes to `log` and is returned."""
    result = subprocess.run(
        [str(BIN / "smart-office"), *args], env=env, capture_output=True, text=True, check=False, timeout=600
    )
    output = result.stdout + result.stderr
    with log.open("a") as written:
        written.write(f"$ smart-office {' '.join(args)}\n{output}\n")
    if result.returncode != 0:
        raise SetupError(
            f"smart-office {' '.join(args)} failed ({result.returncode}): {output.strip()[-800:]}"
        )
    return output


def scripted_browser(endpoints: dict[str, str], folder: Path) -> Path:
    """An executable for BROWSER: Python's webbrowser runs it with the sign-in URL, and the emulator's scripted
    browser plays the person at it (the emulator signs its partner admin in without a prompt)."""
    script = folder / "scripted-browser"
    emulator = shlex.quote(str(BIN / "smart-office-emulator"))
    ca = shlex.quote(str(endpoints["ca_bundle"]))
    script.write_text(f'#!/bin/sh\nexec {emulator} browse --ca-bundle {ca} "$1"\n')
    script.chmod(0o700)
    return script


def setup_partner(endpoints: dict[str, str], env: dict[str, str], state: Path) -> str:
    """`smart-office register-app --preconsent` then `smart-office consent`; sets SMART_OFFICE_CLIENT_ID in `env`
    and returns it."""
    log = state / "setup.log"
    written = state / "register-app.env"
    written.unlink(missing_ok=True)
    with_browser = {**env, "BROWSER": str(scripted_browser(endpoints, state))}
    _smart_office(["migrate"], with_browser, log)
    output = _smart_office(["register-app", "--preconsent", "--write-env", str(written)], with_browser, log)
    app_id = next(
        line.split("=", 1)[1].strip()
        for line in written.read_text().splitlines()
        if line.startswith("SMART_OFFICE_CLIENT_ID=")
    )
    changes = next((line for line in output.splitlines() if line.startswith("changes:")), "")
    console.print(f"register-app: application [bold]{app_id}[/] ({changes.removeprefix('changes: ')})")
    env["SMART_OFFICE_CLIENT_ID"] = app_id
    with_browser["SMART_OFFICE_CLIENT_ID"] = app_id
    stored = _smart_office(["consent"], with_browser, log)
    console.print(f"consent: {stored.strip().splitlines()[-1]}")
    return app_id


def run_demo(tenants: int | None = None) -> int:
    """The whole demo; a warehouse that cannot be used stops it at once with one line (exit code 2)."""
    from smart_office.warehouse.connection import WarehouseError, check_warehouse

    started = time.monotonic()
    state = _state_dir()
    tenants = tenants or int(settings.setting(settings.TENANTS))
    seed = int(settings.setting(settings.SEED))
    now = (
        os.environ.get(settings.NOW.name)
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
        try:
            setup_partner(emulator.endpoints, env, state)
        except SetupError as exc:
            console.print(f"[red]setup:[/] {escape(str(exc))}", soft_wrap=True)
            return 1
        code = _airflow_dags_test(env, warehouse, now, state)
    print_summary(warehouse)
    demo_env = write_demo_env(state, warehouse, env["SMART_OFFICE_TOKEN_STORE_KEY"])
    console.print(f"the demo's warehouse for other commands: set -a; . {demo_env}; set +a")
    if code == 0 and settings.setting(settings.DASHBOARD) != "0":
        start_dashboard(warehouse, state)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s (exit code {code})")
    return code


def start_dashboard(warehouse: WarehouseTarget, state: Path, port: int | None = None) -> None:
    """Start the dashboard in the background (replacing one an earlier demo left) and print its URL."""
    import signal
    import socket
    import urllib.request

    port = port or int(settings.setting(settings.DASHBOARD_PORT))
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
        [str(BIN / "smart-office"), "dashboard", "serve", "--port", str(port)],
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
    airflow = str(BIN / "airflow")
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
