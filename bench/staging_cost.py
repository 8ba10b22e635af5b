"""What the staging views cost: each one executed in full over a generated warehouse, timed.

    .venv/bin/python bench/staging_cost.py [--alerts 200000] [--tenants 400] [--repeat 3]
        [--baseline-project-dir DIR] [--reuse]

Lands emulator-generated Graph payloads (alerts_v2 with their evidence, incidents, 90 days of Secure Score,
control profiles) through `RawLoader` into a database `bench_staging`, builds the staging views with
`dbt run --select staging`, and runs `explain analyze select * from staging.<view>` (every output column
is computed, no rows are sent) `--repeat` times, reporting the median. With `--baseline-project-dir` (another
copy of dbt/, e.g. `git archive main dbt | tar -x -C /tmp/before`) the same views of that project are
timed on the same data, side by side, with the ratio. Timings vary 10-20 % on a shared 2-core machine.

Set SMART_OFFICE_WAREHOUSE_URL to the server to use (default: the machine's postgresql://postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.data.alerts import alert_json, alerts_as_of  # noqa: E402
from emulator.data.incidents import incident_json, incidents_as_of  # noqa: E402
from emulator.data.portfolio import Portfolio  # noqa: E402
from emulator.data.profiles import control_profiles  # noqa: E402
from emulator.data.securescore import secure_scores  # noqa: E402
from smart_office.dbt_runner import DBT_PROJECT_DIR, dbt_env  # noqa: E402
from smart_office.warehouse.loader import RawLoader  # noqa: E402
from smart_office.warehouse.migrations import migrate  # noqa: E402

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
DATABASE = "bench_staging"
VIEWS = (
    "stg_graph__alerts",
    "stg_graph__incidents",
    "stg_graph__secure_scores",
    "stg_graph__secure_score_controls",
    "stg_graph__control_profiles",
)
_EXECUTION = re.compile(r"Execution Time: ([\d.]+) ms")


def _database_url(server: str, *, recreate: bool) -> str:
    with psycopg.connect(server, autocommit=True) as conn:
        if recreate:
            conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(DATABASE)))
        exists = conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(DATABASE)))
    return urlsplit(server)._replace(path=f"/{DATABASE}").geturl()


async def _land(url: str, alerts: int, tenants: int) -> dict[str, int]:
    """Land about `alerts` alerts (and their tenants' incidents, scores, profiles) as the extraction would."""
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    loader = RawLoader(conn, "bench/staging")
    counts = dict.fromkeys(("alerts_v2", "incidents", "secure_scores", "secure_score_control_profiles"), 0)
    try:
        for customer in Portfolio(5, tenants, NOW):
            if counts["alerts_v2"] >= alerts:
                break
            tenant = customer.tenant_id
            page: list[object] = []
            for state in alerts_as_of(customer, NOW):
                if counts["alerts_v2"] + len(page) >= alerts:
                    break
                page.append(orjson.loads(alert_json(customer, state)))
                if len(page) == 1000:
                    counts["alerts_v2"] += (await loader.land("alerts_v2", tenant, page)).new
                    page = []
            if page:
                counts["alerts_v2"] += (await loader.land("alerts_v2", tenant, page)).new
            incidents = [orjson.loads(incident_json(customer, s)) for s in incidents_as_of(customer, NOW)]
            for start in range(0, len(incidents), 1000):
                result = await loader.land("incidents", tenant, incidents[start : start + 1000])
                counts["incidents"] += result.new
            counts["secure_scores"] += (
                await loader.land("secure_scores", tenant, secure_scores(customer, NOW))
            ).new
            profiles = control_profiles(customer, NOW)
            counts["secure_score_control_profiles"] += (
                await loader.land("secure_score_control_profiles", tenant, profiles)
            ).new
    finally:
        await conn.close()
    return counts


def _dbt_run_staging(project_dir: Path, url: str, target: Path) -> None:
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, "run", "--select", "staging", "--project-dir", str(project_dir)]
    command += ["--profiles-dir", str(project_dir), "--target-path", str(target), "--log-path", str(target)]
    result = subprocess.run(
        command, env=dbt_env(url), cwd=project_dir, text=True, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"dbt run failed in {project_dir}:\n{result.stdout[-4000:]}")


def _time_views(url: str, schemas: list[str], repeat: int) -> dict[str, dict[str, float]]:
    """Median execution time per schema and view; schemas alternate within each round, so drift hits all."""
    runs: dict[str, dict[str, list[float]]] = {schema: {view: [] for view in VIEWS} for schema in schemas}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("set max_parallel_workers_per_gather = 0")
        for round_number in range(repeat + 1):  # round 0 warms the cache
            for view in VIEWS:
                for schema in schemas:
                    query = sql.SQL("explain (analyze, timing off) select * from {}").format(
                        sql.Identifier(schema, view)
                    )
                    plan = "\n".join(row[0] for row in conn.execute(query))
                    found = _EXECUTION.search(plan)
                    assert found, plan
                    if round_number:
                        runs[schema][view].append(float(found[1]) / 1000)
    return {
        schema: {view: statistics.median(times) for view, times in views.items()}
        for schema, views in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=1000, help="at most this many tenants are generated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-project-dir", type=Path, help="a dbt project to compare with")
    parser.add_argument("--reuse", action="store_true", help="keep the data of a previous run")
    args = parser.parse_args()
    server = os.environ.get("SMART_OFFICE_WAREHOUSE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = _database_url(server, recreate=not args.reuse)
    with psycopg.connect(url) as conn:
        migrate(conn)
        landed = conn.execute("select count(*) from raw.alerts_v2").fetchone()
    if not args.reuse or not landed or not landed[0]:
        counts = asyncio.run(_land(url, args.alerts, args.tenants))
        print("landed:", ", ".join(f"{name} {count:,}" for name, count in counts.items()))
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("vacuum analyze")
    projects = {"project": DBT_PROJECT_DIR}
    if args.baseline_project_dir:
        projects = {"baseline": args.baseline_project_dir.resolve(), **projects}
    with tempfile.TemporaryDirectory() as scratch:
        for name, project_dir in projects.items():
            _dbt_run_staging(project_dir, url, Path(scratch) / name)
            with psycopg.connect(url, autocommit=True) as conn:
                schema = sql.Identifier(f"staging_{name}")
                conn.execute(sql.SQL("drop schema if exists {} cascade").format(schema))
                conn.execute(sql.SQL("alter schema staging rename to {}").format(schema))
    timed = _time_views(url, [f"staging_{name}" for name in projects], args.repeat)
    results = {name: timed[f"staging_{name}"] for name in projects}
    header = f"{'view':36}" + "".join(f"{name + ' (s)':>16}" for name in results)
    print(header + (f"{'ratio':>10}" if len(results) == 2 else ""))
    for view in VIEWS:
        cells = [results[name][view] for name in results]
        ratio = f"{cells[1] / cells[0]:>10.2f}" if len(cells) == 2 else ""
        print(f"{view:36}" + "".join(f"{cell:>16.3f}" for cell in cells) + ratio)
    totals = [sum(timing.values()) for timing in results.values()]
    ratio = f"{totals[1] / totals[0]:>10.2f}" if len(totals) == 2 else ""
    print(f"{'total':36}" + "".join(f"{total:>16.3f}" for total in totals) + ratio)


if __name__ == "__main__":
    main()
