"""Time every dashboard page on a warehouse: each page's queries, then the whole page rendered by Streamlit.

    .venv/bin/python bench/dashboard_render.py --url postgresql://…/warehouse [--repeat 3] [--customer TENANT]

The URL may be SMART_OFFICE_DASHBOARD_URL (a BI reader login) or, as here, a warehouse URL read through
`SET ROLE smart_office_bi_reader`; it defaults to the environment like the dashboard does. A render is one run
of the page's script (queries, pandas, Altair specs, Streamlit's element protocol) through Streamlit's AppTest,
so it excludes the browser's drawing; "cold" clears Streamlit's caches first (the first visitor after the
one-minute TTL), "warm" hits them.
The target is every page under 2 s cold on a 1,000-tenant, 1-year warehouse.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "plugins" / "smart_office" / "dashboard" / "app.py"
TARGET_SECONDS = 2.0


def _page_queries(
    reader: Any, status: Any, tenant: str | None
) -> dict[str, list[tuple[str, Callable[[], Any]]]]:
    from smart_office.dashboard.filters import Filters
    from smart_office.dashboard.queries import alerts as alerts_queries
    from smart_office.dashboard.queries import customer as customer_queries
    from smart_office.dashboard.queries import opportunities as opportunities_queries
    from smart_office.dashboard.queries import portfolio as portfolio_queries
    from smart_office.dashboard.queries import status as status_queries

    start, end = Filters().date_range(status.latest_score_date)
    every = Filters()
    run_id = status.coverage_run.run_id if status.coverage_run else ""
    pages: dict[str, list[tuple[str, Callable[[], Any]]]] = {
        "portfolio": [
            ("warehouse_status", lambda: status_queries.warehouse_status(reader)),
            ("portfolio_kpis", lambda: portfolio_queries.portfolio_kpis(reader)),
            ("ranked_customers", lambda: portfolio_queries.ranked_customers(reader)),
            ("coverage", lambda: portfolio_queries.coverage(reader, run_id)),
            ("freshness_summary", lambda: portfolio_queries.freshness_summary(reader)),
            ("stale_customers", lambda: portfolio_queries.stale_customers(reader)),
            ("score_distribution", lambda: portfolio_queries.score_distribution(reader)),
            ("portfolio_trend", lambda: portfolio_queries.portfolio_trend(reader, start, end)),
            ("unscored_customers", lambda: portfolio_queries.unscored_customers(reader)),
        ],
        "alerts": [
            ("customer_options", lambda: customer_queries.customer_options(reader)),
            ("alert_source_options", lambda: alerts_queries.alert_source_options(reader)),
            ("alerts_created_daily", lambda: alerts_queries.alerts_created_daily(reader, every, start, end)),
            ("alert_backlog_trend", lambda: alerts_queries.alert_backlog_trend(reader, every, start, end)),
            ("backlog_summary", lambda: alerts_queries.backlog_summary(reader, every, status.as_of)),
            ("resolution_stats", lambda: alerts_queries.resolution_stats(reader, every, start, end)),
            ("alert_breakdowns", lambda: alerts_queries.alert_breakdowns(reader, every, start, end)),
            ("mitre_techniques", lambda: alerts_queries.mitre_techniques(reader, every, start, end)),
            ("open_backlog", lambda: alerts_queries.open_backlog(reader, every, status.as_of)),
        ],
        "opportunities": [
            ("opportunity_totals", lambda: opportunities_queries.opportunity_totals(reader)),
            ("opportunities_by_control", lambda: opportunities_queries.opportunities_by_control(reader)),
        ],
    }
    if tenant:
        one = Filters(customer=tenant)
        pages["customer"] = [
            ("customer_profile", lambda: customer_queries.customer_profile(reader, tenant)),
            ("customer_freshness", lambda: customer_queries.customer_freshness(reader, tenant)),
            (
                "customer_score_trend",
                lambda: customer_queries.customer_score_trend(reader, tenant, start, end),
            ),
            ("portfolio_trend", lambda: portfolio_queries.portfolio_trend(reader, start, end)),
            ("customer_categories", lambda: customer_queries.customer_categories(reader, tenant)),
            ("customer_controls", lambda: customer_queries.customer_controls(reader, tenant)),
            (
                "alerts_created_daily (customer)",
                lambda: alerts_queries.alerts_created_daily(reader, one, start, end),
            ),
            ("open_alerts", lambda: customer_queries.open_alerts(reader, tenant, ["high"], status.as_of)),
        ]
    return pages


def _timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _renders(page: str, query: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median seconds of a page's script run with cleared caches (cold) and with warm caches."""
    import logging

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    app = AppTest.from_file(str(APP), default_timeout=120)
    app.query_params.update(query)
    app.switch_page(f"views/{page}.py")
    app.run()  # untimed: imports, component discovery and AppTest's own set-up happen once per process
    cold, warm = [], []
    for _ in range(repeat):
        st.cache_data.clear()
        for sink in (cold, warm):
            started = time.perf_counter()
            app.run()
            sink.append(time.perf_counter() - started)
            if app.exception:
                raise RuntimeError(f"{page}: {app.exception[0].value}")
    return statistics.median(cold), statistics.median(warm)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="warehouse URL (default: the dashboard's environment variables)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is printed")
    parser.add_argument("--customer", help="tenant id for the customer page (default: the lowest score)")
    args = parser.parse_args(argv)
    if args.url:
        os.environ.pop("SMART_OFFICE_DASHBOARD_URL", None)
        os.environ["SMART_OFFICE_WAREHOUSE_URL"] = args.url

    from psycopg import sql

    from smart_office.dashboard.connection import MartsReader, marts_source_from_env
    from smart_office.dashboard.queries import portfolio as portfolio_queries
    from smart_office.dashboard.queries import status as status_queries

    source = marts_source_from_env()
    reader = MartsReader(source)
    status = status_queries.warehouse_status(reader)
    if not status.has_data:
        print(f"{source.display}: no Secure Score in the marts; nothing to measure", file=sys.stderr)
        return 1
    tenant = args.customer
    if tenant is None:
        ranked = portfolio_queries.ranked_customers(reader)
        tenant = str(ranked.iloc[0]["tenant_id"]) if not ranked.empty else None
    counts = reader.frame(
        sql.SQL(
            "select (select count(*) from marts.dim_customers) as customers, "
            "(select count(*) from marts.fct_secure_scores) as scores, "
            "(select count(*) from marts.fct_control_scores) as control_scores, "
            "(select count(*) from marts.fct_alerts) as alerts, "
            "(select count(*) from marts.fct_alert_volume_daily) as volume_rows"
        )
    ).iloc[0]
    print(f"warehouse: {source.display}")
    print(
        "size: "
        + ", ".join(f"{name} {int(value):,}" for name, value in counts.items())
        + f"; scores {status.first_score_date} to {status.latest_score_date}"
    )
    print()
    print(f"{'query':<34}{'median ms':>10}{'max ms':>9}")
    totals: dict[str, float] = {}
    for page, calls in _page_queries(reader, status, tenant).items():
        print(f"[{page}]")
        total = 0.0
        for name, call in calls:
            times = [_timed(call) for _ in range(args.repeat)]
            total += statistics.median(times)
            print(f"  {name:<32}{1000 * statistics.median(times):>10.0f}{1000 * max(times):>9.0f}")
        totals[page] = total
    reader.close()

    print()
    print(
        f"{'page':<16}{'queries ms':>11}{'cold render ms':>16}{'warm render ms':>16}  under {TARGET_SECONDS:g} s"
    )
    worst = 0.0
    for page in ("portfolio", "customer", "alerts", "opportunities"):
        query = {"customer": tenant} if page == "customer" and tenant else {}
        if page == "customer" and not tenant:
            continue
        cold, warm = _renders(page, query, args.repeat)
        worst = max(worst, cold)
        verdict = "yes" if cold < TARGET_SECONDS else "NO"
        print(f"{page:<16}{1000 * totals[page]:>11.0f}{1000 * cold:>16.0f}{1000 * warm:>16.0f}  {verdict}")
    return 0 if worst < TARGET_SECONDS else 2


if __name__ == "__main__":
    sys.exit(main())
