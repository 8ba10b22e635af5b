"""Throughput of the emulator's data generator (emulator/data): run `python bench/emulator_data.py`.

Prints: customers generated per second; Secure Score records per second (cold and from the byte cache);
alert skeletons per second; alerts materialised per second and MB/s with the cache off; the time to assemble a
1,000-alert page fresh and from the cache; an incidents page with $expand=alerts; and, in a clean child
process, the resident memory of a 10,000-tenant portfolio after an extraction-like sweep.
A benchmark script, not a test: numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime

from emulator.data import clear_caches
from emulator.data.alerts import alert_json, alert_page, alerts_as_of, configure_alert_cache
from emulator.data.incidents import incident_page
from emulator.data.portfolio import Customer, Portfolio
from emulator.data.profiles import control_profiles_json
from emulator.data.securescore import secure_scores_json
from emulator.data.summary import summary

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def _timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _report(label: str, value: str) -> None:
    print(f"  {label:<52} {value}", flush=True)


def _customers(args: argparse.Namespace) -> list[Customer]:
    portfolio = Portfolio(args.seed, args.tenants, NOW)
    seconds, customers = _timed(lambda: list(portfolio))
    _report(f"customers generated ({args.tenants})", f"{args.tenants / seconds:,.0f} /s")
    seconds, _ = _timed(lambda: summary(portfolio, NOW))
    _report("portfolio summary", f"{seconds * 1000:,.0f} ms")
    tracemalloc.start()
    measured = list(Portfolio(args.seed + 1, args.tenants, NOW))
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    _report(f"Python memory for {len(measured)} customers", f"{held / 1e6:,.1f} MB")
    return customers  # type: ignore[return-value]


def _secure_scores(customers: list[Customer], tenants: int) -> None:
    sample = customers[:tenants]
    clear_caches()
    seconds, payloads = _timed(lambda: [secure_scores_json(c, NOW) for c in sample])
    records = sum(p.count(b'"azureTenantId"') for p in payloads)  # type: ignore[union-attr]
    size = sum(len(p) for p in payloads)  # type: ignore[union-attr]
    _report("secure-score records, cold (incl. tenant model)", f"{records / seconds:,.0f} /s")
    _report("secure-score record mean size", f"{size / records / 1000:,.1f} KB")
    few = sample[:12]  # about 1,000 records fit the record cache
    _timed(lambda: [secure_scores_json(c, NOW) for c in few])
    seconds, payloads = _timed(lambda: [secure_scores_json(c, NOW) for c in few])
    cached = sum(p.count(b'"azureTenantId"') for p in payloads)  # type: ignore[union-attr]
    _report("secure-score records, cached bytes", f"{cached / seconds:,.0f} /s")


def _alerts(customers: list[Customer]) -> Customer:
    busy = sorted(customers[:2000], key=lambda c: c.alert_rate, reverse=True)[:20]
    clear_caches()
    seconds, states = _timed(lambda: [(c, s) for c in busy for s in alerts_as_of(c, NOW)])
    _report(f"alert skeletons over 180 days ({len(states):,})", f"{len(states) / seconds:,.0f} /s")  # type: ignore[arg-type]
    few, listed = [], 0
    for customer in busy:  # as many tenants as the skeleton cache (bounded by alerts held) keeps
        count = sum(1 for _ in alerts_as_of(customer, NOW))
        if listed + count > 30_000:
            break
        few.append(customer)
        listed += count
    seconds, _ = _timed(lambda: [s for c in few for s in alerts_as_of(c, NOW)])
    _report("alert listing from cached skeletons", f"{listed / seconds:,.0f} /s")

    configure_alert_cache(0)
    batch = states[:10_000]  # type: ignore[index]
    for customer, state in batch[:200]:  # warm the per-tenant entity worlds
        alert_json(customer, state)
    seconds, size = _timed(lambda: sum(len(alert_json(c, s)) for c, s in batch))
    _report(
        "alerts materialised (cache off)", f"{len(batch) / seconds:,.0f} /s, {size / seconds / 1e6:,.1f} MB/s"
    )  # type: ignore[operator]
    _report("alert mean size", f"{size / len(batch) / 1000:,.2f} KB")  # type: ignore[operator]
    configure_alert_cache(48_000_000)
    return busy[0]


def _pages(customer: Customer) -> None:
    fresh, page = _timed(lambda: alert_page(customer, NOW, top=1000))
    runs = []
    for _ in range(20):
        seconds, again = _timed(lambda: alert_page(customer, NOW, top=1000))
        runs.append(seconds)
        assert again.body == page.body  # type: ignore[union-attr]
    _report(f"1,000-alert page, fresh ({len(page.body) / 1e6:.1f} MB)", f"{fresh * 1000:,.1f} ms")  # type: ignore[union-attr]
    _report("1,000-alert page, cached (median of 20)", f"{statistics.median(runs) * 1000:,.2f} ms")
    fresh, _ = _timed(lambda: incident_page(customer, NOW, top=50, expand_alerts=True))
    cached, _ = _timed(lambda: incident_page(customer, NOW, top=50, expand_alerts=True))
    _report("50-incident page with $expand=alerts, fresh", f"{fresh * 1000:,.1f} ms")
    _report("50-incident page with $expand=alerts, cached", f"{cached * 1000:,.2f} ms")


def _sweep(args: argparse.Namespace) -> None:
    """Child process: what one extraction run asks of a fresh emulator, then resident memory."""
    portfolio = Portfolio(args.seed, args.tenants, NOW)
    summary(portfolio, NOW)
    sweep = [portfolio.customer(i) for i in range(min(args.sweep, args.tenants))]
    start = time.perf_counter()
    alerts = sum(len(alert_page(c, NOW, top=1000).items) for c in sweep)
    scores = sum(len(secure_scores_json(c, NOW)) for c in sweep)
    profiles = sum(len(control_profiles_json(c, NOW)) for c in sweep)
    seconds = time.perf_counter() - start
    gc.collect()
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * resource.getpagesize()
    _report(
        f"sweep of {len(sweep)} tenants (alerts page, 90 scores, profiles)",
        f"{seconds:,.1f} s ({alerts:,} alerts, {(scores + profiles) / 1e6:,.0f} MB of posture JSON)",
    )
    _report(f"resident memory: {args.tenants} customers + caches", f"{resident / 1e6:,.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000, help="portfolio size")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--score-tenants", type=int, default=100, help="tenants whose 90-day history is rendered"
    )
    parser.add_argument("--sweep", type=int, default=300, help="tenants swept in the memory measurement")
    parser.add_argument("--sweep-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    gc.freeze()
    if args.sweep_only:
        _sweep(args)
        return
    print(f"emulator data generator benchmark (seed {args.seed}, now {NOW.isoformat()})", flush=True)
    customers = _customers(args)
    _secure_scores(customers, args.score_tenants)
    _pages(_alerts(customers))
    command = [sys.executable, __file__, "--sweep-only", f"--tenants={args.tenants}", f"--seed={args.seed}"]
    subprocess.run([*command, f"--sweep={args.sweep}"], check=True)


if __name__ == "__main__":
    main()
