"""`make demo`: the whole product on embedded defaults — embedded PostgreSQL, the emulator, the real DAG.

Steps, each through a public interface: the warehouse (SMART_OFFICE_WAREHOUSE_URL through the product's
connection translator, or an embedded PostgreSQL under .state/) → the emulator (`python -m emulator serve`,
SMART_OFFICE_DEMO_TENANTS/_SEED/_NOW) → `smart-office migrate`, `smart-office register-app` and
`smart-office consent`, as a partner's engineer runs them, their browser sign-ins answered by the emulator's
scripted browser through the standard BROWSER variable → `airflow dags test` of the DAG → a summary read back
from the warehouse → one customer's PDF report (`smart-office report`) → `smart-office dashboard serve`.
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

from smart_office.summary import print_run_summary, progress
from smart_office.warehouse.connection import WarehouseTarget, as_target, connect
from smart_office_demo import settings

# A development tool of this repository: it runs the DAGs of the checkout it lives in.
REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
DAG_ID = "smart_office_security_posture"
console = Console()


def state_path() -> Path:
    """Where the demo keeps its state (SMART_OFFICE_STATE_DIR, default .state/ of this checkout)."""
    return Path(os.environ.get(settings.STATE_DIR.name) or REPO / ".state").resolve()


def _state_dir() -> Path:
    path = state_path()
    path.mkdir(parents=True, exist_ok=True)
    return path


def demo_warehouse(state: Path) -> WarehouseTarget:
    """The warehouse: SMART_OFFICE_WAREHOUSE_URL (any libpq login, or SMART_OFFICE_WAREHOUSE_AUTH=entra), else
    database `smart_office` on an embedded server, which trusts its local socket: no password anywhere."""
    from smart_office.warehouse.connection import WAREHOUSE_URL_ENV, resolve_warehouse, target_from_url
    from smart_office_demo.embedded import start_embedded_postgres

    if os.environ.get(WAREHOUSE_URL_ENV, "").strip():
        return resolve_warehouse(lookup=None)
    server = target_from_url(
        start_embedded_postgres(state / "warehouse", listen_port=demo_port()),
        origin="the embedded PostgreSQL",
    )
    with connect(server, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = 'smart_office'").fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier("smart_office")))
    # Demos before this one gave the embedded login a password; the socket never asked for it.
    return server.with_params(dbname="smart_office", password=None)


def demo_port() -> int | None:
    """SMART_OFFICE_DEMO_PORT: also listen on 127.0.0.1:<port>, for BI tools (logins with a password only)."""
    value = os.environ.get(settings.PORT.name, "").strip()  # its documented default is 'unset'
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SetupError(f"{settings.PORT.name}={value!r} is not a TCP port")
    return int(value)


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


def tag_segments(endpoints: dict[str, str], env: dict[str, str], state: Path) -> Path:
    """Write the demo's segments CSV and import it with `smart-office segments import`, as a partner would."""
    from smart_office_demo.segments import emulated_customers, segments_csv

    path = state / "segments.csv"
    path.write_text(segments_csv(emulated_customers(endpoints)), encoding="utf-8")
    _smart_office(["segments", "import", str(path), "--by", "smart-office-demo"], env, state / "setup.log")
    console.print(f"segments: {path} imported (smart-office segments import)")
    return path


def run_demo(tenants: int | None = None) -> int:
    """The whole demo; a warehouse that cannot be used stops it at once with one line (exit code 2)."""
    from emulator.launcher import bypass_proxy_for_local_hosts
    from smart_office.warehouse.connection import WarehouseError, check_warehouse
    from smart_office_demo.embedded import EmbeddedPostgresError

    started = time.monotonic()
    bypass_proxy_for_local_hosts()
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
    except (WarehouseError, SetupError, EmbeddedPostgresError) as exc:
        console.print(f"[red]warehouse:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    console.print(f"warehouse: {warehouse.display}")

    from emulator.launcher import start_emulator
    from smart_office.warehouse.connection import WAREHOUSE_AUTH_ENV, WAREHOUSE_URL_ENV

    emulator_state = state / "emulator"
    with progress(console) as bar:
        bar.add_task(f"emulator: starting with {tenants:,} customers", total=None)
        emulator = start_emulator(
            tenants=tenants, seed=seed, now=now, state_dir=emulator_state, log_file=state / "emulator.log"
        )
    with emulator:
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
            tag_segments(emulator.endpoints, env, state)
        except SetupError as exc:
            console.print(f"[red]setup:[/] {escape(str(exc))}", soft_wrap=True)
            return 1
        # The optional Power BI refresh after the marts (docs/bi.md), on the emulator's Power BI.
        from smart_office_demo.power_bi import power_bi_settings

        env.update(power_bi_settings(emulator.endpoints))
        console.print(
            f"power bi: refresh of semantic model {env['SMART_OFFICE_POWERBI_DATASET_ID']} after the marts"
        )
        code = _airflow_dags_test(env, warehouse, now, state)
    print_summary(warehouse)
    demo_env = write_demo_env(state, warehouse, env["SMART_OFFICE_TOKEN_STORE_KEY"])
    console.print(f"the demo's warehouse for other commands: set -a; . {demo_env}; set +a")
    port = demo_port()
    if port is not None and not os.environ.get(WAREHOUSE_URL_ENV, "").strip():
        console.print(
            f"BI tools: host 127.0.0.1, port {port}, database smart_office, with a login of their own: "
            'set -a; . .state/demo.env; set +a; smart-office bi-login create NAME (docs/setup.md, "BI tools")',
            soft_wrap=True,
        )
    if code == 0:
        write_demo_report(warehouse, state)
    if code == 0 and settings.setting(settings.DASHBOARD) != "0":
        start_dashboard(warehouse, state)
    console.print(f"demo finished in {time.monotonic() - started:.0f}s (exit code {code})")
    console.print(
        "stop what it left running (the dashboard, the embedded PostgreSQL): smart-office-demo stop",
        soft_wrap=True,
    )
    return code


def write_demo_report(warehouse: WarehouseTarget, state: Path) -> Path | None:
    """`smart-office report` for the lowest-scoring customer over the 90 days up to its latest Secure Score, as a
    partner would run it before a review; prints the PDF's path (a missing Chromium is one line, not a failure)."""
    from datetime import timedelta

    from smart_office.warehouse.connection import WAREHOUSE_AUTH_ENV

    with connect(warehouse) as conn:
        found = conn.execute(
            "select tenant_id::text, company_name, latest_score_date from marts.rpt_customer_posture "
            "where not is_departed and secure_score_pct is not null order by secure_score_pct, tenant_id limit 1"
        ).fetchone()
    if found is None:
        console.print("[yellow]report: no customer has a Secure Score yet[/]")
        return None
    tenant, company, latest = found
    env = {**os.environ, **warehouse.env()}
    if warehouse.auth == "libpq":
        env.pop(WAREHOUSE_AUTH_ENV, None)
    args = ["report", "--customer", tenant, "--from", f"{latest - timedelta(days=89)}", "--to", f"{latest}"]
    try:
        output = _smart_office([*args, "--out", str(state / "reports")], env, state / "report.log")
    except SetupError as exc:
        console.print(f"[yellow]report:[/] {escape(str(exc))}", soft_wrap=True)
        return None
    pdf = Path(next(line for line in output.splitlines() if line.endswith(".pdf")))
    console.print(f"report of {escape(company)} (90 days to {latest}): [bold]{pdf}[/]", soft_wrap=True)
    return pdf


def start_dashboard(warehouse: WarehouseTarget, state: Path, port: int | None = None) -> None:
    """Start the dashboard in the background (replacing one an earlier demo left) and print its URL."""
    import socket
    import urllib.request

    port = port or int(settings.setting(settings.DASHBOARD_PORT))
    pid_file = state / "dashboard.pid"
    stop_dashboard(state)
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
    console.print(f"dashboard: [bold]{url}[/]")


def stop_dashboard(state: Path) -> bool:
    """Stop the dashboard an earlier demo started (its whole process group); True if one was running.

    Only a process group whose leader is still that dashboard: a stale pid file whose number the system
    has since given to another process is removed and nothing is signalled.
    """
    import signal

    import psutil

    pid_file = state / "dashboard.pid"
    try:
        pid = int(pid_file.read_text())
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return False
    try:
        leader = psutil.Process(pid)
        # `smart-office dashboard serve` execs streamlit on dashboard/app.py: either command line says so.
        is_dashboard = "dashboard" in " ".join(leader.cmdline()) and os.getpgid(pid) == pid
    except (psutil.Error, ProcessLookupError):
        is_dashboard = False
    if is_dashboard:
        os.killpg(pid, signal.SIGTERM)
        try:
            leader.wait(timeout=10)
        except psutil.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return is_dashboard


def stop_demo(state: Path) -> list[str]:
    """`smart-office-demo stop`: the dashboard, then the embedded PostgreSQL; what happened to each, one line
    apiece. Idempotent, and never starts anything (a warehouse of SMART_OFFICE_WAREHOUSE_URL is not ours)."""
    from smart_office_demo.embedded import stop_embedded_postgres

    return [
        "dashboard: " + ("stopped" if stop_dashboard(state) else "not running"),
        "embedded PostgreSQL: "
        + ("stopped" if stop_embedded_postgres(state / "warehouse") else "not running"),
    ]


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
    log_path = state / "airflow.log"
    log = log_path.open("ab")
    console.print("airflow: migrating its metadata database (SQLite) …")
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=log, stderr=log)
    console.print(f"airflow: dags test {DAG_ID} {logical_date} (log: {log_path}) …")
    with connect(warehouse) as conn:
        (launched,) = conn.execute("select now()").fetchone()
    offset = log_path.stat().st_size
    started = time.monotonic()
    process = subprocess.Popen(
        [airflow, "dags", "test", DAG_ID, logical_date], env=env, stdout=log, stderr=log
    )
    watch = DagTestWatch(warehouse, launched, log_path, offset)
    with progress(console) as bar:
        customers = bar.add_task("extraction: customers", total=None)
        models = bar.add_task("dbt: tasks done", total=dbt_task_count(), visible=False)
        dbt_started = False
        while process.poll() is None:
            time.sleep(1)
            done, total, closed = watch.extraction()
            bar.update(customers, completed=done, total=total)
            if closed and not dbt_started:
                bar.reset(models, visible=True)  # its clock starts with dbt, not with the DAG
                dbt_started = True
            if dbt_started:
                bar.update(models, completed=watch.dbt_tasks_done())
        bar.update(models, completed=watch.dbt_tasks_done(), visible=True)
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    console.print(
        f"airflow: the DAG ran {minutes}m {seconds:02d}s (extraction, coverage, dbt), exit code {process.returncode}"
    )
    return process.returncode


def dbt_task_count() -> int | None:
    """The dbt tasks Cosmos renders from the manifest: one per model and per seed, and a task of its own for
    each test that reads more than one of them (a relationships test runs once both sides are built)."""
    try:
        manifest = json.loads((REPO / "dbt" / "target" / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    nodes = manifest.get("nodes", {}).values()
    built = sum(node.get("resource_type") in ("model", "seed") for node in nodes)
    multi_parent_tests = sum(
        node.get("resource_type") == "test"
        and sum(d.startswith(("model.", "seed.")) for d in node.get("depends_on", {}).get("nodes", [])) > 1
        for node in nodes
    )
    return built + multi_parent_tests


class DagTestWatch:
    """How far `airflow dags test` is, for the progress bars: customers with outcomes in ops (the run the DAG
    opened after `launched`), and dbt tasks the DAG test log says ended."""

    _DBT_TASK_ENDED = b"[DAG TEST] end task task_id=dbt_build."

    def __init__(self, warehouse: WarehouseTarget, launched: datetime, log_path: Path, offset: int) -> None:
        self.warehouse = warehouse
        self.launched = launched
        self.log_path = log_path
        self.offset = offset
        self.ended = 0

    def extraction(self) -> tuple[int, int | None, bool]:
        """(customers with outcomes, customers to extract or None before discovery, the run is closed)."""
        with connect(self.warehouse) as conn:
            row = conn.execute(
                """
                select run_id, status, (summary -> 'discovery' ->> 'extractable')::int from ops.runs
                where dag_id = %s and (started_at >= %s or finished_at is null or finished_at >= %s)
                order by coalesce(finished_at, 'infinity') desc limit 1
                """,
                (DAG_ID, self.launched, self.launched),
            ).fetchone()
            if row is None:
                return 0, None, False
            run_id, status, extractable = row
            (done,) = conn.execute(
                "select count(distinct tenant_id) from ops.tenant_runs where run_id = %s", (run_id,)
            ).fetchone()
        return done, extractable, status != "running"

    def dbt_tasks_done(self) -> int:
        with self.log_path.open("rb") as written:
            written.seek(self.offset)
            chunk = written.read()
        # Only whole lines: a line half written now is counted on the next look.
        whole = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(whole)
        self.ended += whole.count(self._DBT_TASK_ENDED)
        return self.ended


def print_summary(warehouse: WarehouseTarget) -> None:
    """The latest run's summary (the same tables `smart-office run` prints), then what the marts hold."""
    print_run_summary(console, warehouse)
    print_marts_summary(warehouse)
    print_posture_events(warehouse)


def print_posture_events(warehouse: WarehouseTarget) -> None:
    """The posture events the default alert rules raised on the portfolio (marts.fct_posture_events)."""
    with connect(warehouse) as conn:
        if conn.execute("select to_regclass('marts.fct_posture_events')").fetchone()[0] is None:
            return
        by_rule = Table(title="Posture events raised by the alert rules (smart-office events list)")
        for column in ("rule", "severity", "active", "customers"):
            by_rule.add_column(column, justify="left" if column in {"rule", "severity"} else "right")
        rows = conn.execute(
            """
            select rule_id, severity, count(*), count(distinct tenant_id)
            from marts.fct_posture_events where is_active
            group by rule_id, severity
            order by array_position(array['critical', 'warning', 'info'], severity), count(*) desc, rule_id
            """
        ).fetchall()
        if not rows:
            console.print("No posture events: no rule's condition holds on this portfolio.")
            return
        for rule, severity, active, customers in rows:
            by_rule.add_row(rule, severity, f"{active:,}", f"{customers:,}")
        console.print(by_rule)
        latest = Table(title="Most severe active events")
        for column in ("severity", "rule", "customer", "what"):
            latest.add_column(column)
        for severity, rule, customer, label in conn.execute(
            """
            select e.severity, e.rule_id, coalesce(c.company_name, e.tenant_id::text), e.subject_label
            from marts.fct_posture_events e left join marts.dim_customers c using (tenant_id)
            where e.is_active
            order by array_position(array['critical', 'warning', 'info'], e.severity), e.first_seen_at desc, e.event_id
            limit 8
            """
        ):
            latest.add_row(severity, rule, customer, label or "")
        console.print(latest)


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


def generate_docs(state: Path, target_path: Path | None = None) -> Path:
    """`make docs`: dbt's docs as one file (static_index.html), from a fresh clone too. The catalog is read from a
    warehouse, so it needs one with the raw and ops schemas: the demo's (SMART_OFFICE_WAREHOUSE_URL, else the
    embedded PostgreSQL under `state`, left running as the demo leaves it), migrated first."""
    from smart_office.dbt_runner import DBT_PROJECT_DIR, run_dbt
    from smart_office.warehouse.migrations import migrate

    warehouse = demo_warehouse(state)
    with connect(warehouse) as conn:
        migrate(conn)
    result = run_dbt(["docs", "generate", "--static"], warehouse, capture=True, target_path=target_path)
    if result.returncode != 0:
        raise SetupError(f"dbt docs generate failed:\n{result.stdout[-3000:]}")
    return (target_path or DBT_PROJECT_DIR / "target") / "static_index.html"
