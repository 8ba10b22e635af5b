"""Static, self-contained HTML of the portfolio page and of one customer page, for e-mail.

One file each, with its CSS inline and its charts as inline SVG: no script, no font, no image is fetched,
so the page reads the same in a mail client, offline, or printed. The numbers come from the same queries
as the live dashboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from pathlib import Path

import pandas as pd

from smart_office.dashboard import formatting as fmt
from smart_office.dashboard import svg
from smart_office.dashboard.filters import Filters
from smart_office.dashboard.freshness import stale_dataset_message
from smart_office.dashboard.queries import alerts as alerts_queries
from smart_office.dashboard.queries import customer as customer_queries
from smart_office.dashboard.queries import portfolio as portfolio_queries
from smart_office.dashboard.queries import status as status_queries
from smart_office.dashboard.queries.marts import Reader
from smart_office.dashboard.queries.status import WarehouseStatus

_CSS = """
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;color:#263238;margin:24px;max-width:1100px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #eceff1;padding-bottom:4px}
.sub{color:#607d8b;font-size:13px;margin-bottom:12px}
.kpis{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.kpi{border:1px solid #cfd8dc;border-radius:8px;padding:8px 14px;min-width:150px}
.kpi .label{font-size:12px;color:#607d8b}.kpi .value{font-size:22px;font-weight:600}.kpi .delta{font-size:12px}
.warn{background:#fff8e1;border-left:4px solid #f9a825;padding:8px 12px;margin:10px 0;font-size:13px}
.info{background:#e3f2fd;border-left:4px solid #1565c0;padding:8px 12px;margin:10px 0;font-size:13px}
table{border-collapse:collapse;font-size:12.5px;margin:6px 0}
th{text-align:left;background:#eceff1;padding:5px 8px}td{padding:4px 8px;border-bottom:1px solid #eceff1}
td.num,th.num{text-align:right}.neg{color:#c62828}.pos{color:#2e7d32}
.foot{color:#90a4ae;font-size:11px;margin-top:28px}
"""
RANKED_ROWS = 25
CONTROL_ROWS = 15
_NO_DATA_YET = (
    '<div class="info"><b>No data yet: the first run has not finished.</b> Nothing is known about the '
    "customers yet — this is missing data, not a clean bill of health.</div>"
)


class ExportError(RuntimeError):
    """Nothing to export (e.g. no customer has a Secure Score yet)."""


@dataclass(frozen=True, slots=True)
class ExportedPages:
    portfolio: Path
    customer: Path | None


def _page(title: str, body: list[str], status: WarehouseStatus) -> str:
    run = status.coverage_run
    stamp = f"Data up to {status.latest_score_date:%d %b %Y}" if status.latest_score_date else "No data yet"
    if run is not None:
        stamp += f" · last run {fmt.timestamp(run.as_of or run.started_at)}: {run.loaded:,} of {run.attempted:,} customers loaded"
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><div class="sub">{escape(stamp)}</div>'
        + "".join(body)
        + f'<div class="foot">Partner Smart Office · exported {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}</div>'
        "</body></html>"
    )


def _kpis(items: list[tuple[str, str, str | None]]) -> str:
    tiles = []
    for label, value, delta in items:
        delta_html = ""
        if delta:
            css = "neg" if delta.startswith("-") else "pos" if delta.startswith("+") else ""
            delta_html = f'<div class="delta {css}">{escape(delta)}</div>'
        tiles.append(
            f'<div class="kpi"><div class="label">{escape(label)}</div>'
            f'<div class="value">{escape(value)}</div>{delta_html}</div>'
        )
    return f'<div class="kpis">{"".join(tiles)}</div>'


def _table(headers: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(
        f'<th class="num">{escape(h)}</th>' if i in numeric else f"<th>{escape(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _e(value: object) -> str:
    return escape("" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value))


def _coverage_html(reader: Reader, status: WarehouseStatus) -> list[str]:
    run = status.coverage_run
    if run is None:
        return [
            '<h2>Coverage of the last run</h2><div class="info">No run has recorded any customer yet.</div>'
        ]
    frame = portfolio_queries.coverage(reader, run.run_id)
    rows = [
        [_e(fmt.label(r.outcome)), _e(fmt.reason(r.reason)), fmt.count(r.customers)]
        for r in frame.itertuples()
    ]
    parts = [
        "<h2>Coverage of the last run</h2>",
        _kpis(
            [
                ("Customers loaded", f"{run.loaded:,} of {run.attempted:,}", None),
                ("Loaded share", fmt.share(run.loaded / run.attempted) if run.attempted else fmt.DASH, None),
            ]
        ),
        _table(["Outcome", "Reason", "Customers"], rows, {2}),
    ]
    return parts + _freshness_html(reader)


def _freshness_html(reader: Reader) -> list[str]:
    """Per dataset, how many customers the last run brought up to date ([] when nothing was ever loaded)."""
    freshness = portfolio_queries.freshness_summary(reader)
    if freshness.empty:
        return []
    return [
        "<h2>Data freshness</h2>",
        _table(
            ["Dataset", "Customers", "Loaded by the last run", "Behind", "Never loaded"],
            [
                [
                    _e(fmt.dataset(r.dataset)),
                    fmt.count(r.customers),
                    fmt.count(r.up_to_date),
                    fmt.count(r.behind),
                    fmt.count(r.never_loaded),
                ]
                for r in freshness.itertuples()
            ],
            {1, 2, 3, 4},
        ),
    ]


def _not_fully_loaded_html(status: WarehouseStatus) -> str:
    """A warning when the last run did not load every customer ("" when it did)."""
    run = status.coverage_run
    if run is None or run.loaded >= run.attempted:
        return ""
    return (
        f'<div class="warn">{run.attempted - run.loaded:,} of {run.attempted:,} customers were not fully loaded by '
        "the last run; their figures are from an earlier run or missing.</div>"
    )


def _portfolio_kpis_html(kpis: pd.Series, ranked: pd.DataFrame) -> str:
    """The portfolio's headline figures."""
    return _kpis(
        [
            (
                "Median Secure Score",
                fmt.pct(kpis["median_pct"]),
                f"{fmt.pp(kpis['median_change_30d'])} in 30 days",
            ),
            (
                "Customers with a score",
                f"{fmt.count(kpis['customers_scored'])} of {fmt.count(kpis['customers'])}",
                None,
            ),
            ("Lowest Secure Score", fmt.pct(ranked.iloc[0]["secure_score_pct"]), None),
            ("Below Microsoft's average", fmt.count(kpis["below_all_tenants"]), None),
            ("Open high-severity alerts", fmt.count(kpis["open_high_alerts"]), None),
        ]
    )


def _portfolio_trend_html(reader: Reader, start: date, end: date) -> str:
    """The portfolio's median Secure Score per day, with the 10th-90th percentile band."""
    trend = portfolio_queries.portfolio_trend(reader, start, end)
    return "<h2>Secure Score trend (median, 10th-90th percentile)</h2>" + svg.line_chart(
        list(trend["score_date"]),
        {"Median": (list(trend["median"]), "#0d47a1", False)},
        "Portfolio Secure Score trend",
        band=(list(trend["p10"]), list(trend["p90"]), "#1565c0"),
    )


def _distribution_html(reader: Reader) -> str:
    """Current customers by their latest Secure Score, in 5-point buckets."""
    distribution = portfolio_queries.score_distribution(reader)
    return "<h2>Distribution of Secure Score</h2>" + svg.histogram(
        [(r.bucket_start, r.bucket_start + 5, int(r.customers)) for r in distribution.itertuples()],
        "Customers by Secure Score",
    )


def _ranked_customers_html(ranked: pd.DataFrame) -> str:
    """The RANKED_ROWS lowest-scoring customers."""
    heading = f"<h2>Customers, lowest Secure Score first (worst {min(RANKED_ROWS, len(ranked))} of {len(ranked):,})</h2>"
    return heading + _table(
        [
            "Customer",
            "Secure Score",
            "30-day change",
            "vs similar size",
            "Open high alerts",
            "Points available",
        ],
        [
            [
                _e(r.company_name),
                fmt.pct(r.secure_score_pct),
                fmt.pp(r.score_change_30d_pct),
                fmt.pp(r.gap_to_similar_size_pct),
                fmt.count(r.open_high_severity_alerts),
                fmt.points(r.points_available),
            ]
            for r in ranked.head(RANKED_ROWS).itertuples()
        ],
        {1, 2, 3, 4, 5},
    )


def _unscored_html(reader: Reader) -> str:
    """A warning naming the current customers the ranking leaves out for want of a score ("" when none)."""
    unscored = portfolio_queries.unscored_customers(reader)
    if unscored.empty:
        return ""
    return (
        f'<div class="warn">{len(unscored):,} current customers have no Secure Score and are not ranked: '
        + ", ".join(_e(name) for name in unscored["company_name"].head(20))
        + ("…" if len(unscored) > 20 else "")
        + "</div>"
    )


def portfolio_html(reader: Reader) -> str:
    """The portfolio page as one HTML document."""
    status = status_queries.warehouse_status(reader)
    title = "Partner Smart Office — Portfolio"
    if not status.has_marts or (status.latest_run is None and not status.has_data):
        return _page(title, [_NO_DATA_YET], status)
    body = [_not_fully_loaded_html(status)]
    if not status.has_data:
        body.append('<div class="warn">No Secure Score has been loaded yet.</div>')
        return _page(title, body + _coverage_html(reader, status), status)
    kpis = portfolio_queries.portfolio_kpis(reader)
    ranked = portfolio_queries.ranked_customers(reader)
    body.append(_portfolio_kpis_html(kpis, ranked))
    body += _coverage_html(reader, status)
    start, end = Filters().date_range(status.latest_score_date)
    body.append(_portfolio_trend_html(reader, start, end))
    body.append(_distribution_html(reader))
    body.append(_ranked_customers_html(ranked))
    body.append(_unscored_html(reader))
    return _page(title, body, status)


def customer_html(reader: Reader, tenant_id: str) -> str:
    """One customer's page as one HTML document."""
    return _customer_document(reader, tenant_id)[1]


def _customer_subtitle_html(profile: pd.Series) -> str:
    """The customer's domain and access."""
    return f'<div class="sub">{_e(profile["default_domain"])} · access: {_e(fmt.reason(profile["access_state"]))}</div>'


def _stale_data_html(reader: Reader, tenant_id: str, token_state: str | None) -> str:
    """A warning per dataset the last run did not bring up to date for this customer."""
    warnings = []
    for r in customer_queries.customer_freshness(reader, tenant_id).itertuples():
        message = stale_dataset_message(r, token_state)
        if message:
            warnings.append(f'<div class="warn">{_e(message)}</div>')
    return "".join(warnings)


def _customer_kpis_html(profile: pd.Series) -> str:
    """The customer's headline figures."""
    return _kpis(
        [
            (
                "Secure Score",
                fmt.pct(profile["secure_score_pct"]),
                f"{fmt.pp(profile['score_change_30d_pct'])} in 30 days",
            ),
            (
                "Portfolio rank",
                f"{int(profile['portfolio_rank'])} of {int(profile['portfolio_size'])}",
                None,
            ),
            ("vs all tenants", fmt.pp(profile["gap_to_all_tenants_pct"]), None),
            ("vs similar size", fmt.pp(profile["gap_to_similar_size_pct"]), None),
            ("Open high-severity alerts", fmt.count(profile["open_high_severity_alerts"]), None),
        ]
    )


def _customer_trend_html(reader: Reader, tenant_id: str, start: date, end: date) -> str:
    """The customer's Secure Score against the portfolio median and Microsoft's comparatives."""
    trend = customer_queries.customer_score_trend(reader, tenant_id, start, end)
    portfolio = portfolio_queries.portfolio_trend(reader, start, end).set_index("score_date")["median"]
    days = list(trend["score_date"])
    return "<h2>Secure Score against Microsoft's comparatives</h2>" + svg.line_chart(
        days,
        {
            "This customer": (_values(trend["secure_score_pct"]), "#1565c0", False),
            "Portfolio median": ([_value(portfolio.get(d)) for d in days], "#6a1b9a", True),
            "Microsoft: all tenants": (_values(trend["comparative_all_tenants_pct"]), "#9e9e9e", True),
            "Microsoft: similar size": (_values(trend["comparative_similar_size_pct"]), "#2e7d32", True),
        },
        "Secure Score trend",
    )


def _categories_html(reader: Reader, tenant_id: str) -> str:
    """Points achieved by category ("" when the customer has no control scores)."""
    categories = customer_queries.customer_categories(reader, tenant_id)
    if categories.empty:
        return ""
    return "<h2>By category</h2>" + svg.bar_rows(
        [
            (
                r.category,
                float(r.score_pct or 0),
                f"{fmt.pct(r.score_pct)} ({fmt.points(r.achieved)} / {fmt.points(r.possible)} pts)",
            )
            for r in categories.itertuples()
        ],
        "Points achieved by category",
        maximum=100,
    )


def _controls_html(reader: Reader, tenant_id: str) -> str:
    """The CONTROL_ROWS unimplemented controls with the most points still available."""
    controls = customer_queries.customer_controls(reader, tenant_id)
    todo = controls[~controls["is_implemented"]].head(CONTROL_ROWS)
    return f"<h2>Top {len(todo)} controls by points still available</h2>" + _table(
        ["Control", "Points gap", "User impact", "Cost", "Action"],
        [
            [
                _e(r.title),
                fmt.points(r.points_gap, 2),
                _e(fmt.rating(r.user_impact, "none")),
                _e(fmt.rating(r.implementation_cost, "none")),
                f'<a href="{_e(r.action_url)}">open</a>' if _safe_link(r.action_url) else "",
            ]
            for r in todo.itertuples()
        ],
        {1},
    )


def _open_high_alerts_html(reader: Reader, tenant_id: str, as_of: datetime | None) -> str:
    """The customer's high-severity alerts open at the last run."""
    open_high = customer_queries.open_alerts(reader, tenant_id, ["high"], as_of)
    heading = "<h2>Open high-severity alerts</h2>"
    if open_high.empty:
        return heading + '<div class="info">No open high-severity alerts.</div>'
    names = alerts_queries.alert_source_options(reader)
    return heading + _table(
        ["Alert", "Created", "Age", "Product", "Status"],
        [
            [
                _e(r.title),
                _e(fmt.timestamp(r.created_at)),
                fmt.hours(24 * r.age_days),
                _e(fmt.source_name(r.service_source, names)),
                _e(fmt.label(r.status)),
            ]
            for r in open_high.itertuples()
        ],
    )


def _customer_document(reader: Reader, tenant_id: str) -> tuple[str, str]:
    """(company name, HTML) of one customer's page."""
    status = status_queries.warehouse_status(reader)
    profile = customer_queries.customer_profile(reader, tenant_id) if status.has_marts else None
    if profile is None:
        raise ExportError(f"customer {tenant_id} is not in the warehouse")
    title = f"{profile['company_name']} — Secure Score"
    body = [
        _customer_subtitle_html(profile),
        _stale_data_html(reader, tenant_id, profile["last_token_state"]),
    ]
    if pd.isna(profile["secure_score_pct"]):
        body.append('<div class="info">No Secure Score has been loaded for this customer yet.</div>')
        return str(profile["company_name"]), _page(title, body, status)
    start, end = Filters().date_range(status.latest_score_date)
    body += [
        _customer_kpis_html(profile),
        _customer_trend_html(reader, tenant_id, start, end),
        _categories_html(reader, tenant_id),
        _controls_html(reader, tenant_id),
        _open_high_alerts_html(reader, tenant_id, status.as_of),
    ]
    return str(profile["company_name"]), _page(title, body, status)


def _values(series: pd.Series) -> list[float | None]:
    return [_value(v) for v in series]


def _value(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _safe_link(url: object) -> bool:
    return isinstance(url, str) and url.startswith("https://")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "customer"


def export_pages(reader: Reader, out_dir: Path, customer: str | None = None) -> ExportedPages:
    """Write portfolio.html and customer-<name>.html (the given customer, else the lowest-scoring one)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    portfolio = out_dir / "portfolio.html"
    portfolio.write_text(portfolio_html(reader), encoding="utf-8")
    if customer is None:
        status = status_queries.warehouse_status(reader)
        ranked = portfolio_queries.ranked_customers(reader) if status.has_marts else pd.DataFrame()
        if ranked.empty:
            return ExportedPages(portfolio, None)
        customer = str(ranked.iloc[0]["tenant_id"])
    company, html = _customer_document(reader, customer)
    path = out_dir / f"customer-{_slug(company)}.html"
    path.write_text(html, encoding="utf-8")
    return ExportedPages(portfolio, path)
