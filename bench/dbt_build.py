"""dbt on a 1-year warehouse: a full build, then a daily incremental build, timed.

    .venv/bin/python bench/dbt_build.py [--tenants 1000] [--days 365] [--keep]

The warehouse is produced by the real pipeline against the emulator: the emulator clock starts `--days`
before the end, each run lands what Graph holds (90 days of Secure Score, alerts updated since the
watermark), the clock moves 85 days (a refresh token idle for 90 expires), and so on until a year is covered. Then `dbt build --full-refresh`
is timed, the clock moves one day, the pipeline lands that day, and the incremental `dbt build` is timed.
Incremental models must cost what the new data costs, not what the history costs.

Set SMART_OFFICE_WAREHOUSE_URL to use an existing server (a database `bench_dbt` is created on it).
`--state-dir DIR` keeps the emulator's state there; `--resume` then skips the load and times dbt on the warehouse
and emulator a previous run left (the emulator resumes at its persisted clock).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extract_throughput import PROGRESS, _database, _env, _server_url, run_pipeline  # noqa: E402

from emulator.launcher import start_emulator  # noqa: E402
from smart_office.dbt_runner import run_dbt  # noqa: E402
from smart_office.summary import progress  # noqa: E402
from smart_office.warehouse.migrations import migrate  # noqa: E402

END = datetime.fromisoformat("2026-11-02T09:00:00+00:00")


def _timed_dbt(url: str, args: list[str], target: Path) -> float:
    started = time.perf_counter()
    result = run_dbt(args, url, capture=True, target_path=target)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-5000:])
        raise SystemExit(f"dbt {' '.join(args)} failed")
    return elapsed


def _sizes(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            """
            select n.nspname || '.' || c.relname, c.reltuples::bigint
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where c.relkind = 'r' and n.nspname in ('raw', 'marts') order by 1
            """
        ).fetchall()
    return dict(rows)


def _dbt_step(url: str, args: list[str], target: Path, label: str) -> float:
    """`_timed_dbt` with a progress line (elapsed time) on a terminal's stderr."""
    with progress(PROGRESS) as bar:
        bar.add_task(label, total=None)
        return _timed_dbt(url, args, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--state-dir", type=Path, help="where the emulator keeps its state (default: a new temp dir)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="reuse the warehouse and --state-dir; skip the load"
    )
    args = parser.parse_args()
    args.alert_days = 90
    if args.resume and args.state_dir is None:
        parser.error("--resume needs --state-dir")
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    state.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"state_dir": str(state)}), flush=True)
    if args.resume:
        url = urlsplit(_server_url(state))._replace(path="/bench_dbt").geturl()
        with psycopg.connect(url) as conn:
            # The earlier run's token-store key is gone with its process; the emulator issues fresh credentials.
            conn.execute("delete from ops.token_store")
    else:
        url = _database(_server_url(state), "bench_dbt")
        with psycopg.connect(url) as conn:
            migrate(conn)
    start = END - timedelta(days=args.days - 90)
    with start_emulator(
        tenants=args.tenants,
        seed=args.seed,
        now=start.isoformat(),
        state_dir=state / "emulator",
        fault_profile="none",
        log_file=state / "emulator.log",
    ) as emulator:
        env = _env(emulator.endpoints, url, state, args)
        admin = requests.Session()
        admin.trust_env = False
        admin.verify = emulator.endpoints["ca_bundle"]
        when, run = start, 0
        load_started = time.perf_counter()
        while not args.resume:
            run += 1
            result = run_pipeline(env, f"bench-dbt-{run}", when, args.processes)
            print(
                json.dumps(
                    {
                        "landed_as_of": when.isoformat(),
                        "wall_s": round(result["wall_s"]),
                        "coverage": result["coverage"],
                    }
                ),
                flush=True,
            )
            if when >= END:
                break
            # Under 90 days: a refresh token unused for 90 days expires (AADSTS700082), as in Entra.
            step = min(85, (END - when).days)
            admin.post(f"{emulator.endpoints['admin']}/clock/advance", json={"days": step}, timeout=30)
            when += timedelta(days=step)
        print(json.dumps({"warehouse_load_s": round(time.perf_counter() - load_started)}), flush=True)
        target = state / "dbt-target"
        full = _dbt_step(url, ["build", "--full-refresh"], target, "dbt build --full-refresh")
        print(json.dumps({"dbt_full_build_s": round(full, 1), "sizes": _sizes(url)}), flush=True)
        admin.post(f"{emulator.endpoints['admin']}/clock/advance", json={"days": 1}, timeout=30)
        # The emulator's clock, not END + 1 day: a resumed run starts wherever the previous one left it.
        clock = admin.get(f"{emulator.endpoints['admin']}/clock", timeout=30).json()["now"]
        daily = run_pipeline(env, f"bench-dbt-daily-{clock}", datetime.fromisoformat(clock), args.processes)
        print(json.dumps({"daily_extract_wall_s": round(daily["wall_s"])}), flush=True)
        # The load packs a year of runs into minutes of wall-clock extracted_at, so the models' look-back
        # (hours before their newest row, for shards committing late) would re-read the whole year; with runs a
        # day apart it re-reads at most the previous run. Zero here times what one new day costs.
        incremental = _dbt_step(
            url, ["build", "--vars", '{"incremental_lookback_hours": 0}'], target, "dbt build (the next day)"
        )
        print(
            json.dumps(
                {
                    "dbt_incremental_build_s": round(incremental, 1),
                    "full_over_incremental": round(full / incremental, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
