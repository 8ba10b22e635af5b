"""Extraction benchmark: the real pipeline against the emulator, and the floor, in the same run.

    .venv/bin/python bench/extract_throughput.py [--tenants 1000] [--concurrency 8] [--processes 2]
                                                 [--fault-profile none|realistic]

Measures, for a first (full) run and a daily incremental run after the emulator clock moves one day:
wall time, rows landed, rows/s, MB/s (response bytes), requests per tenant, 429s, and peak RSS of the
extraction processes. The floor is the same Graph responses fetched by a plain concurrent client
(httpx, no retries, no limits) and COPY'd as jsonb into a scratch table, with no hashing, no merge and no
bookkeeping — what the hardware allows; a customer whose token is refused (an AADSTS error, e.g. 53003 in the
emulator's realistic fault profile) is counted and skipped, as the pipeline records it. Goals: pipeline ≤
1.3 x floor; ≤ 3 requests per tenant on the daily run, token included; peak RSS independent of the tenant
count.

Requests are counted twice, side by side, per service and endpoint: by the pipeline (what its identity, Graph
and Partner Center clients sent) and by the emulator (admin `GET /stats`, reset before each run), per customer
tenant and, apart, the run's own requests at the partner tenant. `$batch` items are counted apart from round
trips: they travel inside the `/v1.0/$batch` requests.

CPU seconds are reported per part for each measured run — the emulator's process tree, PostgreSQL (the
postmaster and its backends, when the server runs on this machine) and the pipeline (this process and its
shard processes) — with the pipeline's peak RSS, so a slow emulator shows as such and is never mistaken for
the pipeline. The emulator's warm-up (start-up and the bench's setup requests) is reported apart, before the
first measured run.

Timings are noisy on a shared 2-core machine: compare the ratio within one run, not absolute seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil
import psycopg
from cryptography.fernet import Fernet
from rich.console import Console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.launcher import start_emulator  # noqa: E402
from smart_office.auth.rotation import RefreshTokenKeeper  # noqa: E402
from smart_office.auth.stores import CLIENT_SECRET_NAME, PostgresSecretStore  # noqa: E402
from smart_office.summary import progress  # noqa: E402
from smart_office.tls import ssl_context  # noqa: E402
from smart_office.warehouse.migrations import migrate  # noqa: E402

NOW = "2026-11-02T09:00:00+00:00"
PROGRESS = Console(stderr=True)  # progress bars: stderr, and only on a terminal


def _database(server_url: str, name: str) -> str:
    from psycopg import sql

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    from urllib.parse import urlsplit

    return urlsplit(server_url)._replace(path=f"/{name}").geturl()


def _server_url(state: Path) -> str:
    configured = os.environ.get("SMART_OFFICE_WAREHOUSE_URL")
    if configured:
        return configured
    from smart_office_demo.embedded import start_embedded_postgres

    return start_embedded_postgres(state / "pg", keep_running=False)


def _env(endpoints: dict[str, Any], url: str, state: Path, args: argparse.Namespace) -> dict[str, str]:
    import requests

    session = requests.Session()
    session.trust_env = False
    session.verify = endpoints["ca_bundle"]
    creds = session.post(f"{endpoints['admin']}/partner-credentials", timeout=60).json()
    key = Fernet.generate_key().decode()
    store = PostgresSecretStore(url, [key])
    # Issue times are the identity service's clock (the emulator's), not this machine's or the bench's end.
    now = datetime.fromisoformat(session.get(f"{endpoints['admin']}/clock", timeout=30).json()["now"])
    store.put(CLIENT_SECRET_NAME, creds["client_secret"], issued_at=now, expected_version=None)
    RefreshTokenKeeper(store).initialise(creds["refresh_token"], now)
    (state / "endpoints.json").write_text(json.dumps(endpoints))
    return {
        **os.environ,
        "SMART_OFFICE_ENDPOINTS_FILE": str(state / "endpoints.json"),
        "SMART_OFFICE_PARTNER_TENANT_ID": endpoints["partner_tenant_id"],
        "SMART_OFFICE_CLIENT_ID": creds["client_id"],
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": key,
        "SMART_OFFICE_WAREHOUSE_URL": url,
        "SMART_OFFICE_TENANT_CONCURRENCY": str(args.concurrency),
        "SMART_OFFICE_SHARD_SIZE": str(max(1, -(-args.tenants // args.processes))),
        "SMART_OFFICE_COVERAGE_THRESHOLD": "0",
        "SMART_OFFICE_ALERTS_INITIAL_DAYS": str(args.alert_days),
        # The bench's own: the first run starts cold, as a new deployment does; the daily run finds it warm.
        "SMART_OFFICE_DISCOVERY_CACHE_DIR": str(state / "discovery-cache"),
    }


_SHARD_SCRIPT = """
import json, resource, sys
from datetime import datetime
from smart_office.settings import Settings
from smart_office.pipeline import extract_shard
result = extract_shard(Settings.from_env(), run_id=sys.argv[1], shard=int(sys.argv[2]), shards=int(sys.argv[3]),
                       as_of=datetime.fromisoformat(sys.argv[4]))
result["max_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(result))
"""


def run_pipeline(env: dict[str, str], run_id: str, as_of: datetime, processes: int) -> dict[str, Any]:
    """discover in this process, then shards in `processes` parallel processes, like mapped Airflow tasks."""
    os.environ.update(env)
    from smart_office.pipeline import check_partner_token, discover_customers, finalize_run, prepare_warehouse
    from smart_office.settings import Settings

    settings = Settings.from_env()
    started = time.perf_counter()
    prepare_warehouse(settings)
    checked = check_partner_token(settings, as_of=as_of)
    plan = discover_customers(settings, run_id=run_id, as_of=as_of)
    discovered = time.perf_counter()
    children = [
        subprocess.Popen(
            [sys.executable, "-c", _SHARD_SCRIPT, run_id, str(i), str(plan["shards"]), as_of.isoformat()],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(plan["shards"])
    ]
    shards = []
    with progress(PROGRESS) as bar:
        task = bar.add_task(f"{run_id}: shards done", total=len(children))
        for child in children:
            shards.append(json.loads(child.communicate()[0].strip().splitlines()[-1]))
            bar.advance(task)
    extracted = time.perf_counter()
    coverage = finalize_run(settings, run_id=run_id)
    return {
        "wall_s": extracted - started,
        "discovery_s": discovered - started,
        "extract_s": extracted - discovered,
        "shards": shards,
        "coverage": coverage["sentence"],
        # What the run sent at the partner tenant, before the shards (token check, customer discovery).
        "partner_requests_sent": [checked["requests_sent"], plan["requests_sent"]],
    }


async def floor_token(exchanger: Any, tenant: str, scope: str, failures: Counter[str]) -> str | None:
    """The tenant's Graph token, or None when the tenant refused it (counted in `failures` by state).

    As the pipeline does: the partner's own failure stops the run; a customer's (consent, Conditional Access
    AADSTS53003, MFA, ...) is that customer's outcome, and the floor goes on with the others.
    """
    from smart_office.auth.errors import AuthError

    try:
        return await exchanger.aget_token(tenant, scope)
    except AuthError as error:
        if exchanger.is_partner_failure(error):
            raise
        failures[error.state.value] += 1
        return None


async def floor(
    endpoints: dict[str, Any],
    env: dict[str, str],
    url: str,
    run_id: str,
    alert_days: int,
    concurrency: int,
    as_of: datetime,
) -> dict[str, Any]:
    """Fetch the same collections with a bare client and COPY the items as jsonb: no logic at all."""
    os.environ.update(env)
    from smart_office.runtime import build_exchanger, build_secret_store
    from smart_office.settings import Settings

    settings = Settings.from_env()
    exchanger = build_exchanger(settings, build_secret_store(settings))
    with psycopg.connect(url) as conn:
        tenants = [
            r[0]
            for r in conn.execute(
                "select tenant_id::text from ops.run_customers where run_id = %s and is_extractable",
                (run_id,),
            )
        ]
        conn.execute("create unlogged table if not exists floor_items (payload jsonb)")
        conn.execute("truncate floor_items")
        conn.commit()
    since = (as_of - timedelta(days=alert_days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
    window = f"lastUpdateDateTime gt {since} and lastUpdateDateTime le {until}"
    paths = [
        f"/security/secureScores?$filter=createdDateTime le {until}&$top=90",
        "/security/secureScoreControlProfiles",
        f"/security/alerts_v2?$filter={window}&$top=1000",
        f"/security/incidents?$filter={window}&$top=50",
    ]
    totals: dict[str, Any] = {"requests": 0, "bytes": 0, "rows": 0, "throttled": 0, "not_200": 0}
    token_failures: Counter[str] = Counter()
    base = endpoints["graph"].rstrip("/") + "/v1.0"
    started = time.perf_counter()
    async with httpx.AsyncClient(
        verify=ssl_context(endpoints["ca_bundle"]),
        trust_env=False,
        timeout=120,
        limits=httpx.Limits(max_connections=concurrency),
    ) as client:
        queue: asyncio.Queue[str] = asyncio.Queue()
        for tenant in tenants:
            queue.put_nowait(tenant)

        async def worker(tenant_done: Callable[[], None]) -> None:
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            try:
                while not queue.empty():
                    tenant = queue.get_nowait()
                    token = await floor_token(exchanger, tenant, settings.cloud.graph_scope, token_failures)
                    if token is None:
                        tenant_done()
                        continue
                    for path in paths:
                        next_url: str | None = base + path
                        while next_url:
                            response = await client.get(
                                next_url, headers={"Authorization": f"Bearer {token}"}
                            )
                            totals["requests"] += 1
                            if response.status_code != 200:
                                totals["throttled"] += response.status_code == 429
                                totals["not_200"] += 1
                                break
                            totals["bytes"] += len(response.content)
                            page = orjson.loads(response.content)
                            items = page.get("value", [])
                            async with (
                                conn.cursor() as cur,
                                cur.copy("copy floor_items (payload) from stdin") as copy,
                            ):
                                for item in items:
                                    await copy.write(orjson.dumps(item).replace(b"\\", b"\\\\") + b"\n")
                            totals["rows"] += len(items)
                            next_url = page.get("@odata.nextLink")
                    tenant_done()
            finally:
                await conn.close()

        with progress(PROGRESS) as bar:
            done = bar.add_task("floor: tenants", total=len(tenants))
            await asyncio.gather(*(worker(lambda: bar.advance(done)) for _ in range(concurrency)))
    totals["wall_s"] = time.perf_counter() - started
    totals["tenants"] = len(tenants)
    totals["token_failures"] = dict(token_failures)
    return totals


Endpoint = tuple[str, str]  # (service, endpoint as the emulator names its routes)


def _pipeline_counts(sent: list[dict[str, dict[str, int]]]) -> tuple[Counter[Endpoint], Counter[Endpoint]]:
    """(round trips, $batch items) by endpoint, from the pipeline's `requests_sent`."""
    trips: Counter[Endpoint] = Counter()
    items: Counter[Endpoint] = Counter()
    for one in sent:
        for kind, counts in one.items():
            target = items if kind == "graph_batch_items" else trips
            service = "graph" if kind == "graph_batch_items" else kind
            for endpoint, n in counts.items():
                target[(service, endpoint)] += n
    return trips, items


def _route_templates(stats: dict[str, Any]) -> list[tuple[Endpoint, re.Pattern[str]]]:
    """The emulator's route templates with a placeholder (`/{tenant}/...`, `/{relationship_id}/...`), each as
    a pattern that matches the concrete paths a client sent to it."""
    templates = []
    for key in sorted({(row["service"], row["endpoint"]) for row in stats["endpoints"]}):
        if "{" in key[1]:
            parts = re.split(r"\{[^}/]+\}", key[1])
            templates.append((key, re.compile("[^/]+".join(re.escape(p) for p in parts) + r"\Z")))
    return templates


def as_emulator_names(counts: Counter[Endpoint], stats: dict[str, Any]) -> Counter[Endpoint]:
    """The pipeline's counts under the emulator's endpoint names: a concrete path (the pipeline counts the
    URLs it sent) goes to the emulator's route template for it, so one row compares the two views."""
    templates = _route_templates(stats)
    named: Counter[Endpoint] = Counter()
    for (service, endpoint), n in counts.items():
        match = next(
            (key for key, pattern in templates if key[0] == service and pattern.match(endpoint)),
            (service, endpoint),
        )
        named[match] += n
    return named


def _emulator_counts(
    stats: dict[str, Any], partner: str
) -> tuple[Counter[Endpoint], Counter[Endpoint], Counter[Endpoint], Counter[Endpoint], Counter[str]]:
    """From /stats: customer round trips and items by endpoint, the partner's (and anonymous) likewise, and
    round trips per customer tenant."""
    trips: Counter[Endpoint] = Counter()
    items: Counter[Endpoint] = Counter()
    partner_trips: Counter[Endpoint] = Counter()
    partner_items: Counter[Endpoint] = Counter()
    per_tenant: Counter[str] = Counter()
    for row in stats["endpoints"]:
        key = (row["service"], row["endpoint"])
        customer = row["tenant"] not in (None, partner)
        (trips if customer else partner_trips)[key] += row["requests"] - row["batched"]
        (items if customer else partner_items)[key] += row["batched"]
        if customer:
            per_tenant[row["tenant"]] += row["requests"] - row["batched"]
    return trips, items, partner_trips, partner_items, per_tenant


def _over_three(stats: dict[str, Any], tenants: set[str]) -> dict[str, Any]:
    """Where the round trips of the tenants over 3 went, and how many of them Graph throttled."""
    by_endpoint: Counter[str] = Counter()
    throttled = 0
    for row in stats["endpoints"]:
        if row["tenant"] in tenants:
            by_endpoint[f"{row['service']} {row['endpoint']}"] += row["requests"] - row["batched"]
            throttled += row["throttled"]
    return {"round_trips": dict(by_endpoint), "throttled": throttled}


def request_table(label: str, result: dict[str, Any], stats: dict[str, Any], partner: str) -> dict[str, Any]:
    """Requests per customer tenant, by service and endpoint: the pipeline's count next to the emulator's."""
    tenants = max(1, sum(s["tenants"] for s in result["shards"]))
    trips, items = (
        as_emulator_names(c, stats) for c in _pipeline_counts([s["requests_sent"] for s in result["shards"]])
    )
    partner_trips, partner_items = (
        as_emulator_names(c, stats) for c in _pipeline_counts(result["partner_requests_sent"])
    )
    e_trips, e_items, e_partner_trips, e_partner_items, per_tenant = _emulator_counts(stats, partner)
    rows = []
    for key in sorted(set(trips) | set(items) | set(e_trips) | set(e_items)):
        rows.append(
            {
                "service": key[0],
                "endpoint": key[1],
                "pipeline": round(trips[key] / tenants, 3),
                "emulator": round(e_trips[key] / tenants, 3),
                "pipeline_batch_items": round(items[key] / tenants, 3),
                "emulator_batch_items": round(e_items[key] / tenants, 3),
            }
        )
    partner_rows = [
        {
            "service": key[0],
            "endpoint": key[1],
            "pipeline": partner_trips[key],
            "emulator": e_partner_trips[key],
            "pipeline_batch_items": partner_items[key],
            "emulator_batch_items": e_partner_items[key],
        }
        for key in sorted(
            set(partner_trips) | set(partner_items) | set(e_partner_trips) | set(e_partner_items)
        )
    ]
    over = {tenant for tenant, n in per_tenant.items() if n > 3}
    return {
        "run": label,
        "tenants": tenants,
        "per_tenant": rows,
        "round_trips_per_tenant": {
            "pipeline": round(sum(trips.values()) / tenants, 3),
            "emulator": round(sum(e_trips.values()) / tenants, 3),
            "emulator_max": max(per_tenant.values(), default=0),
            "emulator_tenants_over_3": len(over),
            "emulator_tenants_over_3_detail": _over_three(stats, over),
        },
        "batch_items_per_tenant": {
            "pipeline": round(sum(items.values()) / tenants, 3),
            "emulator": round(sum(e_items.values()) / tenants, 3),
        },
        "partner_tenant_requests": partner_rows,
    }


def print_request_table(table: dict[str, Any]) -> None:
    width = max(len(r["endpoint"]) for r in [*table["per_tenant"], *table["partner_tenant_requests"]])
    print(
        f"\n{table['run']}: requests per customer tenant ({table['tenants']} extracted), pipeline | emulator"
    )
    print(f"  {'service':<15}{'endpoint':<{width}}  {'round trips':>17}  {'$batch items':>17}")
    for r in table["per_tenant"]:
        print(
            f"  {r['service']:<15}{r['endpoint']:<{width}}  {r['pipeline']:>8.3f}{r['emulator']:>9.3f}"
            f"  {r['pipeline_batch_items']:>8.3f}{r['emulator_batch_items']:>9.3f}"
        )
    trips, items = table["round_trips_per_tenant"], table["batch_items_per_tenant"]
    print(
        f"  {'total':<{15 + width}}  {trips['pipeline']:>8.3f}{trips['emulator']:>9.3f}"
        f"  {items['pipeline']:>8.3f}{items['emulator']:>9.3f}"
        f"   (emulator: max {trips['emulator_max']} per tenant, {trips['emulator_tenants_over_3']} tenants over 3)"
    )
    if trips["emulator_tenants_over_3"]:
        print(f"  tenants over 3, all their round trips: {trips['emulator_tenants_over_3_detail']}")
    print("  the run's own requests at the partner tenant (absolute):")
    for r in table["partner_tenant_requests"]:
        print(
            f"  {r['service']:<15}{r['endpoint']:<{width}}  {r['pipeline']:>8}{r['emulator']:>9}"
            f"  {r['pipeline_batch_items']:>8}{r['emulator_batch_items']:>9}"
        )


# -- CPU and memory per part ------------------------------------------------------------------------------
def _tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds of a process, its live descendants and the children they reaped (None: not visible here)."""
    if pid is None:
        return None
    try:
        root = psutil.Process(pid)
        total = 0.0
        for process in (root, *root.children(recursive=True)):
            try:
                times = process.cpu_times()
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue  # ended between the listing and the read: its time is now its parent's
            total += times.user + times.system + times.children_user + times.children_system
        return total
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def postgres_pid(url: str) -> int | None:
    """The postmaster's pid when the server runs on this machine (the parent of our own backend), else None."""
    # Looked up while the connection is open: once it closes, its backend exits.
    with psycopg.connect(url) as conn:
        backend = conn.execute("select pg_backend_pid()").fetchone()
        try:
            process = psutil.Process(backend[0]) if backend else None
            parent = process.parent() if process is not None else None
            # A remote server's backend pid means nothing here: accept it only if it is a local postgres.
            if parent is None or "postgres" not in parent.name() or "postgres" not in process.name():
                return None
            return parent.pid
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None


def _own_cpu_seconds() -> float:
    """This process and its reaped children (the shard processes): the pipeline's CPU."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_sample(emulator_pid: int, pg_pid: int | None) -> dict[str, float | None]:
    """Cumulative CPU seconds by part, now; subtract two samples with `cpu_delta`."""
    return {
        "emulator": _tree_cpu_seconds(emulator_pid),
        "postgres": _tree_cpu_seconds(pg_pid),
        "pipeline": _own_cpu_seconds(),
        "wall": time.perf_counter(),
    }


def cpu_delta(before: dict[str, float | None], after: dict[str, float | None]) -> dict[str, float | None]:
    """CPU seconds by part between two samples (None where a part is not measured)."""
    spent: dict[str, float | None] = {}
    for part, start in before.items():
        end = after[part]
        spent[part] = None if start is None or end is None else end - start
    return spent


def cpu_report(label: str, spent: dict[str, float | None], peak_rss_mb: int | None = None) -> dict[str, Any]:
    """CPU seconds per part, the emulator's share of the CPU spent, and how busy it kept one core."""
    wall = spent["wall"] or 0.0
    parts = {part: spent[part] for part in ("emulator", "postgres", "pipeline")}
    measured = sum(v for v in parts.values() if v is not None)
    emulator = parts["emulator"]
    return {
        "run": label,
        "wall_s": round(wall, 1),
        **{f"{part}_cpu_s": None if v is None else round(v, 1) for part, v in parts.items()},
        "emulator_cpu_share": round(emulator / measured, 3) if emulator is not None and measured else None,
        # 1.0: the emulator kept one core busy for the whole run, which makes it the bottleneck on two.
        "emulator_busy": round(emulator / wall, 3) if emulator is not None and wall else None,
        "pipeline_peak_rss_mb": peak_rss_mb,
    }


def print_cpu_report(report: dict[str, Any]) -> None:
    def seconds(value: float | None) -> str:
        return "n/a (not on this machine)" if value is None else f"{value:.1f} s"

    share, busy = report["emulator_cpu_share"], report["emulator_busy"]
    print(
        f"\n{report['run']}: CPU over {report['wall_s']:.1f} s wall — emulator {seconds(report['emulator_cpu_s'])}, "
        f"PostgreSQL {seconds(report['postgres_cpu_s'])}, pipeline {seconds(report['pipeline_cpu_s'])}"
    )
    if share is not None:
        print(f"  emulator: {100 * share:.0f}% of the CPU spent, one core {100 * busy:.0f}% busy")
    if report["pipeline_peak_rss_mb"] is not None:
        print(f"  pipeline peak RSS (largest process): {report['pipeline_peak_rss_mb']} MB")


def _peak_rss_mb(result: dict[str, Any]) -> int:
    """The largest extract task (shard process) of the run."""
    return round(max((s["max_rss_kb"] for s in result["shards"]), default=0) / 1024)


def warm_up_report(started: float, emulator_pid: int, pg_pid: int | None) -> dict[str, Any]:
    """The emulator's start-up and the bench's setup requests, before any measured run (reported apart)."""
    return {
        "run": "emulator warm-up",
        "wall_s": round(time.perf_counter() - started, 1),
        "emulator_cpu_s": round(_tree_cpu_seconds(emulator_pid) or 0.0, 1),
        "postgres_pid_found": pg_pid is not None,
    }


def _summarise(label: str, result: dict[str, Any], tenants: int) -> dict[str, Any]:
    shards = result["shards"]
    rows = sum(s["rows_received"] for s in shards)
    requests = sum(s["requests"] for s in shards)
    return {
        "run": label,
        "wall_s": round(result["wall_s"], 1),
        "extract_s": round(result["extract_s"], 1),
        "rows": rows,
        "rows_per_s": round(rows / result["extract_s"]) if result["extract_s"] else None,
        # Every round trip the tenant cost, its token request included (as the emulator counts them too).
        "requests_per_tenant": round(requests / max(1, sum(s["tenants"] for s in shards)), 2),
        "token_requests": sum(s.get("token_requests", 0) for s in shards),
        "throttled": sum(s["throttled"] for s in shards),
        "peak_rss_mb": round(max(s["max_rss_kb"] for s in shards) / 1024),
        "coverage": result["coverage"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--processes", type=int, default=2)
    # A first run takes all Defender keeps (the pipeline's default); --alert-days takes less, as the setting does.
    parser.add_argument("--alert-days", type=int, default=180)
    parser.add_argument("--skip-floor", action="store_true")
    # The emulator's default is `realistic` (baked AADSTS failures, unlicensed tenants); `none` by default
    # here, so throughput compares like with like from one run to the next.
    parser.add_argument("--fault-profile", choices=("none", "realistic"), default="none")
    args = parser.parse_args()
    state = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    server = _server_url(state)
    url = _database(server, "bench_extract")
    with psycopg.connect(url) as conn:
        migrate(conn)
    as_of = datetime.fromisoformat(NOW)
    pg_pid = postgres_pid(url)
    warm_up_started = time.perf_counter()
    with start_emulator(
        tenants=args.tenants,
        seed=args.seed,
        now=NOW,
        state_dir=state / "emulator",
        fault_profile=args.fault_profile,
        log_file=state / "emulator.log",
    ) as emulator:
        env = _env(emulator.endpoints, url, state, args)
        warm_up = warm_up_report(warm_up_started, emulator.process.pid, pg_pid)
        print(json.dumps({"warm_up": warm_up}))
        print(
            f"\nemulator warm-up (not in any run): {warm_up['wall_s']:.1f} s wall, {warm_up['emulator_cpu_s']:.1f} s CPU"
        )
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = emulator.endpoints["ca_bundle"]
        admin = emulator.endpoints["admin"]
        partner = emulator.endpoints["partner_tenant_id"]

        def measured(label: str, run_id: str, when: datetime) -> dict[str, Any]:
            session.delete(f"{admin}/stats", timeout=30)
            cpu_before = cpu_sample(emulator.process.pid, pg_pid)
            result = run_pipeline(env, run_id, when, args.processes)
            cpu = cpu_report(
                label, cpu_delta(cpu_before, cpu_sample(emulator.process.pid, pg_pid)), _peak_rss_mb(result)
            )
            print(json.dumps({"cpu": cpu}))
            print_cpu_report(cpu)
            table = request_table(label, result, session.get(f"{admin}/stats", timeout=60).json(), partner)
            print(json.dumps({"requests": table}))
            print_request_table(table)
            return result

        first = _summarise("first run", measured("first run", "bench-1", as_of), args.tenants)
        print(json.dumps(first))
        floor_result = None
        if not args.skip_floor:
            floor_result = asyncio.run(
                floor(
                    emulator.endpoints,
                    env,
                    url,
                    "bench-1",
                    args.alert_days,
                    args.concurrency * args.processes,
                    as_of,
                )
            )
            floor_result["rows_per_s"] = round(floor_result["rows"] / floor_result["wall_s"])
            floor_result["mb_per_s"] = round(floor_result["bytes"] / floor_result["wall_s"] / 1e6, 1)
            print(json.dumps({"run": "floor", **floor_result}))
            print(
                json.dumps(
                    {"pipeline_extract_over_floor": round(first["extract_s"] / floor_result["wall_s"], 2)}
                )
            )
            # Graph's limits are per tenant per minute: let the floor's requests leave the window, or the
            # daily run would be throttled for what the floor did.
            time.sleep(61)
        session.post(f"{admin}/clock/advance", json={"days": 1}, timeout=30)
        daily = _summarise(
            "daily incremental",
            measured("daily incremental", "bench-2", as_of + timedelta(days=1)),
            args.tenants,
        )
        print(json.dumps(daily))
    print(
        json.dumps(
            {
                "self_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "finished": datetime.now(UTC).isoformat(),
            }
        )
    )


if __name__ == "__main__":
    main()
