"""Side by side with dlt: the project's pipeline and dlt's `rest_api` on the same emulator data, in the same run.

    .venv/bin/python bench/peer_dlt.py [--tenants 200] [--dlt both|defaults|tuned] [--json PATH]      # make bench-peer-dlt

One emulator; for a first run and, after its clock moves one day, a daily run, in this order: the project's
pipeline (as `bench/extract_throughput.py` runs it: discovery here, shards in parallel processes), then dlt
with its defaults, then dlt tuned (parallelized resources, more extract workers, two normalize processes,
nested data kept as JSON). Each dlt variant has a Postgres database and a pipeline state of its own, so its
daily run is incremental from its own first run.

dlt runs in its own virtualenv (`.state/bench/dlt-venv`, made once with uv; dlt never enters the project's
dependencies) as a subprocess running `bench/peer_dlt_pipeline.py`, which is what a dlt user would write
(see there). The dlt side extracts the customer tenants the project's discovery found extractable, handed
over as a file: discovery (Partner Center, GDAP) is in the project's wall time and not in dlt's, in dlt's
favour. Its credentials — the partner app's client id and secret and a refresh token of its own, issued by
the emulator's admin API as a consent would — go to it in `.dlt/secrets.toml` (mode 0600), where dlt users keep
secrets; it gets its access tokens itself with msal, so token requests are part of its run as they are of
the project's. The emulator's CA is trusted through REQUESTS_CA_BUNDLE. dlt's memory in one run grows with
the tenants (largest process 2.4 GB at 178 tenants, 11 GB at 874, measured), so it runs them in chunks of
`--dlt-tenants-per-run` (250), as a dlt user at scale would have to.

Measured per run: wall time, rows landed, round trips per customer tenant as the emulator counts them
(admin `GET /stats`, reset before each run; a `$batch` is one round trip), the largest process's peak RSS
(rusage), the process tree's peak PSS (sampled; the project's shards, dlt and its normalize workers), and
the emulator's CPU seconds (psutil), with its share of the machine's cores. Then a ratio table, each dlt
variant over the project (above 1: the project is faster or smaller). Rows are those received: the project's
daily run reads back an overlap for late updates (and the newest secureScore day) that dlt's incremental
filters out, so its daily count is the larger.

Timings are noisy on a shared 2-core machine: compare the ratios within one run, not absolute seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from extract_throughput import (  # noqa: E402
    NOW,
    _database,
    _emulator_counts,
    _env,
    run_pipeline,
)

from emulator.launcher import start_emulator  # noqa: E402
from smart_office.warehouse.migrations import migrate  # noqa: E402

DLT_REQUIREMENTS = ("dlt[postgres]==1.31.0", "msal==1.39.0")
DLT_VENV = ROOT / ".state" / "bench" / "dlt-venv"
DLT_SCRIPT = BENCH / "peer_dlt_pipeline.py"
CORES = os.cpu_count() or 1


def ensure_dlt_venv(venv: Path = DLT_VENV) -> Path:
    """The dlt virtualenv's python, making the venv first if it is missing or holds other versions."""
    python = venv / "bin" / "python"
    stamp = venv / "requirements.txt"
    wanted = "\n".join(DLT_REQUIREMENTS)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    uv = ROOT / ".venv" / "bin" / "uv"
    # Never a Python download (there is no internet but the package registry): the one running this script.
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [str(uv), "venv", "-q", "--clear", "--python", sys.executable, str(venv)], check=True, env=env
    )
    subprocess.run(
        [str(uv), "pip", "install", "-q", "--python", str(python), *DLT_REQUIREMENTS], check=True, env=env
    )
    stamp.write_text(wanted)
    return python


def _memory(process: psutil.Process) -> int:
    """Proportional set size where Linux has it, else RSS: dlt's normalize workers are forked from a large
    parent, and summing their RSS would count the pages they share with it once per process."""
    try:
        return int(process.memory_full_info().pss)
    except (AttributeError, psutil.AccessDenied):
        return int(process.memory_info().rss)


class PeakMemory:
    """Peak of the summed memory (PSS) of a set of processes, sampled every `interval` s in a thread: dlt's
    normalize workers and the project's shards are separate processes, so no one rusage covers the tree."""

    def __init__(self, processes: Callable[[], list[psutil.Process]], interval: float = 0.2) -> None:
        self._processes = processes
        self._interval = interval
        self._stop = threading.Event()
        self.peak_bytes = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for process in self._processes():
                # A process may exit between listing and reading.
                with contextlib.suppress(psutil.Error):
                    total += _memory(process)
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop.wait(self._interval)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of a process and its live children."""
    total = 0.0
    for one in [process, *process.children(recursive=True)]:
        try:
            times = one.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


@contextmanager
def emulator_cpu(pid: int) -> Iterator[dict[str, float]]:
    """The emulator's CPU seconds spent inside the block."""
    process = psutil.Process(pid)
    before = _cpu_seconds(process)
    out: dict[str, float] = {}
    yield out
    out["emulator_cpu_s"] = _cpu_seconds(process) - before


def round_trips_per_tenant(stats: dict[str, Any], partner: str, tenants: int) -> float:
    """Round trips at customer tenants (identity and Graph; a `$batch` counts once) per extracted tenant."""
    per_tenant = _emulator_counts(stats, partner)[4]
    return round(sum(per_tenant.values()) / max(1, tenants), 3)


def max_round_trips(stats: dict[str, Any], partner: str) -> int:
    """The most round trips any one customer tenant cost (the goal is a bound per tenant, not an average)."""
    return max(_emulator_counts(stats, partner)[4].values(), default=0)


def _dlt_workdir(
    state: Path, name: str, endpoints: dict[str, Any], creds: dict[str, str], url: str, tuned: bool
) -> Path:
    """A dlt project directory: `.dlt/config.toml` and `.dlt/secrets.toml` (0600), as `dlt init` lays out."""
    work = state / name
    (work / ".dlt").mkdir(parents=True)
    config = [
        "[runtime]",
        # Not WARNING: dlt warns once per untyped empty column, hundreds of lines per run.
        'log_level = "ERROR"',
        "[partner]",
        f"identity = {json.dumps(endpoints['identity'])}",
        f"graph = {json.dumps(endpoints['graph'])}",
    ]
    if tuned:
        config += ["[extract]", "workers = 8", "[normalize]", f"workers = {CORES}"]
    (work / ".dlt" / "config.toml").write_text("\n".join(config) + "\n")
    parts = urlsplit(url)
    if parts.password is None:
        # dlt's Postgres credentials require a password; trust auth (the local server) ignores it.
        parts = parts._replace(
            netloc=f"{parts.username or 'postgres'}:trust@{parts.hostname}:{parts.port or 5432}"
        )
    secrets = work / ".dlt" / "secrets.toml"
    # Created 0600 before anything is written to it.
    fd = os.open(secrets, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            "\n".join(
                [
                    "[partner]",
                    f"client_id = {json.dumps(creds['client_id'])}",
                    f"client_secret = {json.dumps(creds['client_secret'])}",
                    f"refresh_token = {json.dumps(creds['refresh_token'])}",
                    "[destination.postgres]",
                    f"credentials = {json.dumps(parts.geturl())}",
                ]
            )
            + "\n"
        )
    return work


def run_dlt(
    python: Path,
    work: Path,
    tenants_file: Path,
    as_of: datetime,
    run: str,
    tuned: bool,
    ca_bundle: str,
    tenants_per_run: int = 0,
    alert_days: int = 180,
) -> dict[str, Any]:
    """One dlt run in its venv; wall time as this process sees it (interpreter and dlt start included)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_OFFICE_", "VIRTUAL_ENV"))}
    env["REQUESTS_CA_BUNDLE"] = ca_bundle
    # The emulator listens on loopback: never through a proxy the environment may name.
    env["NO_PROXY"] = ",".join(filter(None, [env.get("NO_PROXY", ""), "127.0.0.1,localhost"]))
    args = [
        str(python),
        str(DLT_SCRIPT),
        "--tenants-file",
        str(tenants_file),
        "--as-of",
        as_of.isoformat(),
        "--run",
        run,
        "--pipelines-dir",
        str(work / "pipelines"),
        "--tenants-per-run",
        str(tenants_per_run),
        "--alert-days",
        str(alert_days),
        *(["--tuned"] if tuned else []),
    ]
    started = time.perf_counter()
    child = subprocess.Popen(args, cwd=work, env=env, stdout=subprocess.PIPE, text=True)
    root = psutil.Process(child.pid)

    def tree() -> list[psutil.Process]:
        try:
            return [root, *root.children(recursive=True)]
        except psutil.Error:
            return []

    with PeakMemory(tree) as memory:
        out, _ = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise RuntimeError(f"dlt run failed (exit {child.returncode}); see the output above")
    result = json.loads(out.strip().splitlines()[-1])
    return {
        **result,
        "wall_s": wall,
        "dlt_wall_s": result["wall_s"],
        "peak_memory_mb": memory.peak_bytes / 2**20,
        "max_process_rss_mb": max(result["max_rss_kb"], result["children_max_rss_kb"]) / 1024,
    }


def run_project(
    env: dict[str, str], run_id: str, as_of: datetime, processes: int, emulator_pid: int
) -> dict[str, Any]:
    """The project's pipeline as bench/extract_throughput.py runs it; RSS of the shard processes (this
    process runs discovery, as the bench does, and also hosts the benchmark, so it is left out)."""
    me = psutil.Process()

    def shards() -> list[psutil.Process]:
        try:
            emulator = {emulator_pid, *(p.pid for p in psutil.Process(emulator_pid).children(recursive=True))}
        except psutil.Error:
            emulator = {emulator_pid}
        return [p for p in me.children(recursive=True) if p.pid not in emulator]

    with PeakMemory(shards) as memory:
        result = run_pipeline(env, run_id, as_of, processes)
    shards_out = result["shards"]
    return {
        "wall_s": result["wall_s"],
        "rows": sum(s["rows_received"] for s in shards_out),
        "tenants": sum(s["tenants"] for s in shards_out),
        "peak_memory_mb": memory.peak_bytes / 2**20,
        "max_process_rss_mb": max(s["max_rss_kb"] for s in shards_out) / 1024,
        "coverage": result["coverage"],
    }


RATIO_FIELDS = (
    ("wall_s", "wall s"),
    ("rows", "rows"),
    ("requests_per_tenant", "requests/tenant"),
    ("max_requests_per_tenant", "max requests/tenant"),
    ("max_process_rss_mb", "max process RSS MB"),
    ("peak_memory_mb", "tree peak PSS MB"),
    ("emulator_cpu_s", "emulator CPU s"),
    ("emulator_share", "emulator share"),
)


def ratio_table(
    runs: dict[str, dict[str, dict[str, Any]]], baseline: str = "project"
) -> list[dict[str, Any]]:
    """Rows of (run, metric, value per side, ratio of each other side over the baseline).

    :param runs: {side: {"first"|"daily": {metric: value}}}, the baseline side among them.
    """
    rows = []
    others = [side for side in runs if side != baseline]
    for run in ("first", "daily"):
        base = runs[baseline].get(run)
        if base is None:
            continue
        for field, label in RATIO_FIELDS:
            row: dict[str, Any] = {"run": run, "metric": label, "values": {}, "ratios": {}}
            for side in runs:
                row["values"][side] = runs[side].get(run, {}).get(field)
            for side in others:
                theirs, ours = row["values"][side], base.get(field)
                row["ratios"][side] = round(theirs / ours, 2) if theirs is not None and ours else None
            rows.append(row)
    return rows


def format_table(rows: list[dict[str, Any]], baseline: str = "project") -> str:
    """The ratio table as text: a column per side, then a `side/baseline` column per other side."""
    if not rows:
        return ""
    sides = list(rows[0]["values"])
    others = [s for s in sides if s != baseline]
    headers = ["run", "metric", *sides, *(f"{s}/{baseline}" for s in others)]

    def cell(value: Any) -> str:
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    body = [
        [
            r["run"],
            r["metric"],
            *(cell(r["values"][s]) for s in sides),
            *(cell(r["ratios"][s]) for s in others),
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in [headers, *body]) for i in range(len(headers))]
    lines = [
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))
        )
    ]
    for line in body:
        lines.append(
            "  ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--alert-days", type=int, default=180)
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    # dlt with its defaults takes ~2.6 s per tenant on the first run here: `--dlt tuned` for large N.
    parser.add_argument("--dlt", choices=("both", "defaults", "tuned"), default="both")
    # dlt's memory in one run grows with the tenants (11 GB at 874, tuned): chunks bound it. 0: one run.
    parser.add_argument("--dlt-tenants-per-run", type=int, default=250)
    # `seed`: dlt's first run only sets its incremental state (the last day, no control profiles), so its daily
    # run can be measured at 10,000 tenants, where its full first run takes hours (its merges rescan the growing
    # tables). Its daily run then merges into small tables: in dlt's favour. The first run is not compared.
    parser.add_argument("--dlt-first", choices=("full", "seed"), default="full")
    parser.add_argument("--json", type=Path, help="also write the measurements and the table here")
    args = parser.parse_args()
    python = ensure_dlt_venv()
    state = Path(tempfile.mkdtemp(prefix="bench-peer-dlt-"))
    # The local Postgres (trust auth) unless the environment names another server.
    server = os.environ.get("SMART_OFFICE_WAREHOUSE_URL") or args.server_url
    url = _database(server, "bench_peer_project")
    with psycopg.connect(url) as conn:
        migrate(conn)
    variants = {
        name: tuned
        for name, tuned in (("dlt", False), ("dlt tuned", True))
        if args.dlt == "both" or (args.dlt == "tuned") == tuned
    }
    as_of = datetime.fromisoformat(NOW)
    runs: dict[str, dict[str, dict[str, Any]]] = {"project": {}, **{v: {} for v in variants}}
    with start_emulator(
        tenants=args.tenants,
        seed=args.seed,
        now=NOW,
        state_dir=state / "emulator",
        fault_profile="none",
        log_file=state / "emulator.log",
    ) as emulator:
        endpoints = emulator.endpoints
        env = _env(endpoints, url, state, args)
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = endpoints["ca_bundle"]
        admin, partner = endpoints["admin"], endpoints["partner_tenant_id"]
        workdirs = {}
        for name, tuned in variants.items():
            # Its own consent: a refresh token of its own, so the two never rotate each other's.
            creds = session.post(f"{admin}/partner-credentials", timeout=60).json()
            db = _database(server, "bench_peer_" + name.replace(" ", "_"))
            workdirs[name] = _dlt_workdir(state, name.replace(" ", "-"), endpoints, creds, db, tuned)

        def measured(side: str, run: str, go: Callable[..., dict[str, Any]], *go_args: Any) -> None:
            session.delete(f"{admin}/stats", timeout=30)
            with emulator_cpu(emulator.process.pid) as cpu:
                result = go(*go_args)
            stats = session.get(f"{admin}/stats", timeout=60).json()
            result.update(cpu)
            result["requests_per_tenant"] = round_trips_per_tenant(
                stats, partner, result.get("tenants") or tenants
            )
            result["max_requests_per_tenant"] = max_round_trips(stats, partner)
            result["emulator_share"] = round(cpu["emulator_cpu_s"] / (result["wall_s"] * CORES), 3)
            runs[side][run] = result
            shown = {k: v for k, v in result.items() if k not in ("coverage",)}
            print(json.dumps({"side": side, "run": run, **shown}), flush=True)

        tenants = 0
        tenants_file = state / "tenants.json"
        ca_bundle = endpoints["ca_bundle"]
        for run, when in (("first", as_of), ("daily", as_of + timedelta(days=1))):
            if run == "daily":
                session.post(f"{admin}/clock/advance", json={"days": 1}, timeout=30)
            run_id = f"peer-{run}"
            measured("project", run, run_project, env, run_id, when, args.processes, emulator.process.pid)
            if run == "first":
                # dlt extracts what the project's discovery found extractable: the same tenants.
                with psycopg.connect(url) as conn:
                    ids = [
                        r[0]
                        for r in conn.execute(
                            "select tenant_id::text from ops.run_customers"
                            " where run_id = %s and is_extractable order by tenant_id",
                            (run_id,),
                        )
                    ]
                tenants = len(ids)
                tenants_file.write_text(json.dumps(ids))
            seeded = run == "first" and args.dlt_first == "seed"
            for name, tuned in variants.items():
                measured(
                    name,
                    "seed" if seeded else run,
                    run_dlt,
                    python,
                    workdirs[name],
                    tenants_file,
                    when,
                    "seed" if seeded else run,
                    tuned,
                    ca_bundle,
                    args.dlt_tenants_per_run,
                    args.alert_days,
                )
    rows = ratio_table(runs)
    print(
        f"\n{tenants} customer tenants; ratios are other/project (above 1: the project is faster or smaller)"
    )
    print(format_table(rows))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "tenants": tenants,
                    "cores": CORES,
                    "runs": runs,
                    "table": rows,
                    "finished": datetime.now(UTC).isoformat(),
                },
                indent=2,
                default=str,
            )
        )


if __name__ == "__main__":
    main()
