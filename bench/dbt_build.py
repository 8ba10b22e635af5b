"""dbt on a 1-year warehouse: a full build, then a daily incremental build, timed.

    .venv/bin/python bench/dbt_build.py [--tenants 1000] [--days 365] [--alert-days 90]
    .venv/bin/python bench/dbt_build.py --tenants 100,200,500 [--results figures.jsonl]
    .venv/bin/python bench/dbt_build.py --fit figures.jsonl [--extrapolate-to 10000]

The warehouse is produced by the real pipeline against the emulator: the emulator clock starts `--days`
before the end, each run lands what Graph holds (90 days of Secure Score, alerts updated since the
watermark), the clock moves 85 days (a refresh token idle for 90 expires), and so on until a year is covered. Then `dbt build --full-refresh`
is timed, the clock moves one day, the pipeline lands that day, and the incremental `dbt build` is timed.
Incremental models must cost what the new data costs, not what the history costs.

Set SMART_OFFICE_WAREHOUSE_URL to use an existing server (a database `bench_dbt` is created on it).
`--state-dir DIR` keeps the emulator's state there; `--resume` then skips the load and times dbt on the warehouse
and emulator a previous run left (the emulator resumes at its persisted clock); `--resume --daily-only` skips the
full build too: it lands one more day and times that day's build (a change to a model, measured in minutes).

Several sizes (`--tenants 100,200,500`) are measured one after the other, each on its own warehouse
(`bench_dbt_<tenants>`) and emulator state (`<state-dir>/tenants-<n>`); then the full and daily build times
are fitted with a straight line and a power law and extrapolated to `--extrapolate-to` tenants (10,000), the
curve printed at 1k/2k/5k/10k. `--results FILE` appends each size's figures (one JSON line) as it finishes, and
`--fit FILE` prints the fit of figures recorded earlier (several machines' runs, or 1k/2k/5k measured over hours)
without measuring anything.
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
from scaling_fit import render  # noqa: E402

from emulator.launcher import start_emulator  # noqa: E402
from smart_office.dbt_runner import run_dbt  # noqa: E402
from smart_office.summary import progress  # noqa: E402
from smart_office.warehouse.landing_index import summarize_landing_ranges  # noqa: E402
from smart_office.warehouse.migrations import migrate  # noqa: E402

END = datetime.fromisoformat("2026-11-02T09:00:00+00:00")
CURVE_POINTS = (1_000, 2_000, 5_000, 10_000)


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


def _close_like_the_dag(url: str) -> None:
    """What the DAG's close_run does for the build after it (run_pipeline stops at landing)."""
    with psycopg.connect(url, autocommit=True) as conn:
        summarize_landing_ranges(conn)


def _dbt_step(url: str, args: list[str], target: Path, label: str) -> float:
    """`_timed_dbt` with a progress line (elapsed time) on a terminal's stderr."""
    with progress(PROGRESS) as bar:
        bar.add_task(label, total=None)
        return _timed_dbt(url, args, target)


def measure(args: argparse.Namespace, tenants: int, state: Path, database: str) -> dict[str, float]:
    """Load a year for `tenants` tenants, then time the full build and the next day's build."""
    if args.resume:
        url = urlsplit(_server_url(state))._replace(path=f"/{database}").geturl()
        with psycopg.connect(url) as conn:
            # The earlier run's token-store key is gone with its process; the emulator issues fresh credentials.
            conn.execute("delete from ops.token_store")
    else:
        url = _database(_server_url(state), database)
        with psycopg.connect(url) as conn:
            migrate(conn)
    start = END - timedelta(days=args.days - 90)
    with start_emulator(
        tenants=tenants,
        seed=args.seed,
        now=start.isoformat(),
        state_dir=state / "emulator",
        fault_profile="none",
        log_file=state / "emulator.log",
    ) as emulator:
        # The pipeline's settings (shard size) follow this size, not the list.
        env = _env(emulator.endpoints, url, state, argparse.Namespace(**{**vars(args), "tenants": tenants}))
        admin = requests.Session()
        admin.trust_env = False
        admin.verify = emulator.endpoints["ca_bundle"]
        when, run = start, 0
        load_started = time.perf_counter()
        while not args.resume:
            run += 1
            result = run_pipeline(env, f"bench-dbt-{run}", when, args.processes)
            _close_like_the_dag(url)
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
        full = None
        if not args.daily_only:
            full = _dbt_step(
                url, ["build", "--full-refresh"], target, f"dbt build --full-refresh ({tenants} tenants)"
            )
            print(
                json.dumps({"tenants": tenants, "dbt_full_build_s": round(full, 1), "sizes": _sizes(url)}),
                flush=True,
            )
        admin.post(f"{emulator.endpoints['admin']}/clock/advance", json={"days": 1}, timeout=30)
        # The emulator's clock, not END + 1 day: a resumed run starts wherever the previous one left it.
        clock = admin.get(f"{emulator.endpoints['admin']}/clock", timeout=30).json()["now"]
        daily = run_pipeline(env, f"bench-dbt-daily-{clock}", datetime.fromisoformat(clock), args.processes)
        _close_like_the_dag(url)
        print(json.dumps({"daily_extract_wall_s": round(daily["wall_s"])}), flush=True)
        # The load packs a year of runs into minutes of wall-clock extracted_at, so the models' look-back
        # (hours before their newest row, for shards committing late) would re-read the whole year; with runs a
        # day apart it re-reads at most the previous run. Zero here times what one new day costs.
        incremental = _dbt_step(
            url, ["build", "--vars", '{"incremental_lookback_hours": 0}'], target, "dbt build (the next day)"
        )
        figures: dict[str, float] = {
            "tenants": tenants,
            "days": args.days,
            "alert_days": args.alert_days,
            "dbt_incremental_build_s": round(incremental, 1),
        }
        if full is not None:
            figures["dbt_full_build_s"] = round(full, 1)
            figures["full_over_incremental"] = round(full / incremental, 1)
        print(json.dumps(figures), flush=True)
        return figures


def _sizes_arg(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.split(",") if part.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of tenant counts: {value!r}") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("tenant counts must be positive")
    return sizes


def read_results(path: Path) -> dict[str, dict[int, float]]:
    """Figures recorded by `--results` (the last line for a size wins): {'full': {tenants: s}, 'daily': {...}}."""
    full: dict[int, float] = {}
    daily: dict[int, float] = {}
    histories: set[tuple[int, int]] = set()
    for line in path.read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            # Figures recorded before these keys existed were all a year with 90 days of alerts.
            histories.add((int(record.get("days", 365)), int(record.get("alert_days", 90))))
            if len(histories) > 1:
                raise SystemExit(
                    f"{path}: figures from different histories (days, alert days: {sorted(histories)}); "
                    "a fit compares sizes on one history"
                )
            full[int(record["tenants"])] = float(record["dbt_full_build_s"])
            daily[int(record["tenants"])] = float(record["dbt_incremental_build_s"])
    return {"full": full, "daily": daily}


def print_fit(figures: dict[str, dict[int, float]], extrapolate_to: int) -> None:
    points = sorted({*CURVE_POINTS, extrapolate_to})
    if len(figures["full"]) < 2:
        print("(one size measured: give two or more, e.g. --tenants 100,200,500, for a fit)")
        return
    print(render("dbt build --full-refresh", figures["full"], points))
    print(render("dbt build, the next day", figures["daily"], points))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=_sizes_arg, default=[1000], help="a size, or several: 100,200,500")
    parser.add_argument(
        "--days",
        type=int,
        default=365,
        help="history to load; at least the 90 days of Secure Score Graph holds",
    )
    parser.add_argument(
        "--alert-days",
        type=int,
        default=90,
        help="days of alerts the first run reads back (SMART_OFFICE_ALERTS_INITIAL_DAYS)",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--state-dir", type=Path, help="where the emulator keeps its state (default: a new temp dir)"
    )
    parser.add_argument(
        "--resume", action="store_true", help="reuse the warehouse and --state-dir; skip the load"
    )
    parser.add_argument(
        "--daily-only",
        action="store_true",
        help="with --resume: no full build; land one more day and time its build (again and again, a day each)",
    )
    parser.add_argument("--results", type=Path, help="append each size's figures to this JSON-lines file")
    parser.add_argument("--fit", type=Path, help="only fit and extrapolate the figures in this file")
    parser.add_argument("--extrapolate-to", type=int, default=10_000)
    args = parser.parse_args()
    if args.fit is not None:
        print_fit(read_results(args.fit), args.extrapolate_to)
        return
    if args.resume and args.state_dir is None:
        parser.error("--resume needs --state-dir")
    if args.daily_only and not args.resume:
        parser.error("--daily-only needs --resume (a warehouse a full build made)")
    if args.daily_only and args.results is not None:
        parser.error("--daily-only records no full build: it cannot add to --results")
    state = args.state_dir or Path(tempfile.mkdtemp(prefix="bench-dbt-"))
    state.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"state_dir": str(state)}), flush=True)
    several = len(args.tenants) > 1
    figures: dict[str, dict[int, float]] = {"full": {}, "daily": {}}
    for tenants in args.tenants:
        size_state = state / f"tenants-{tenants}" if several else state
        size_state.mkdir(parents=True, exist_ok=True)
        database = f"bench_dbt_{tenants}" if several else "bench_dbt"
        measured = measure(args, tenants, size_state, database)
        if "dbt_full_build_s" not in measured:
            continue
        figures["full"][tenants] = measured["dbt_full_build_s"]
        figures["daily"][tenants] = measured["dbt_incremental_build_s"]
        if args.results is not None:
            with args.results.open("a") as out:
                out.write(json.dumps(measured) + "\n")
    if several:
        print_fit(figures, args.extrapolate_to)


if __name__ == "__main__":
    main()
