"""A customer's report for a quarterly business review, as one self-contained HTML document.

Built with the dashboard export's means (its stylesheet, tiles, tables and inline-SVG charts): no script, font or
image is fetched, so the page reads the same in a mail client, offline, or printed — and the PDF is Chromium's
print of this very HTML (`smart_office.reports.pdf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from html import escape

import pandas as pd

from smart_office.dashboard import export, svg
from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.queries import customer as customer_queries
from smart_office.dashboard.queries import portfolio as portfolio_queries
from smart_office.dashboard.queries.marts import Reader
from smart_office.reports import queries
from smart_office.reports.period import ReportPeriod

OPPORTUNITY_ROWS = 10
# Printed on A4 with the charts kept whole; the screen layout is the export's.
_PRINT_CSS = """
@page{size:A4;margin:14mm 12mm}
@media print{body{margin:0;max-width:none}}
h2{break-after:avoid}table,svg,.kpis{break-inside:avoid}td.num{white-space:nowrap}
.muted{color:#607d8b;font-size:12px}
"""


class ReportError(Exception):
    """No report can be made; the message says why (an unknown customer, a period without data)."""


class UnknownCustomerError(ReportError):
    pass


class NoDataError(ReportError):
    pass


@dataclass(frozen=True)
class CustomerReport:
    """Everything one report shows, read from the marts."""

    tenant_id: str
    company_name: str
    default_domain: str | None
    period: ReportPeriod
    generated_at: datetime
    trend: pd.DataFrame
    portfolio: pd.DataFrame
    segment: str | None
    segment_trend: pd.DataFrame | None
    control_changes: pd.DataFrame
    opportunities: pd.DataFrame
    opportunity_totals: pd.Series
    alerts: pd.DataFrame
    incidents: pd.DataFrame

    @property
    def first(self) -> pd.Series:
        """The period's first day with a Secure Score."""
        return self.trend.iloc[0]

    @property
    def last(self) -> pd.Series:
        """The period's last day with a Secure Score."""
        return self.trend.iloc[-1]

    @property
    def gained(self) -> pd.DataFrame:
        return self.control_changes[self.control_changes["is_gained"].astype(bool)]

    @property
    def lost(self) -> pd.DataFrame:
        return self.control_changes[~self.control_changes["is_gained"].astype(bool)]


def build_report(
    reader: Reader,
    customer: str,
    period: ReportPeriod,
    generated_at: datetime,
    segment_key: str | None = None,
) -> CustomerReport:
    """Read one customer's report for `period`; UnknownCustomerError / NoDataError when there is none to make.

    :param segment_key: compare the customer with the median of its segment for this key (`seat_band`, the
        setting SMART_OFFICE_REPORT_SEGMENT_BY); None: no segment comparison.
    """
    found = queries.find_customer(reader, customer)
    if found is None:
        raise UnknownCustomerError(f"customer {customer!r} is not in the warehouse (dim_customers)")
    tenant_id = str(found["tenant_id"])
    trend = customer_queries.customer_score_trend(reader, tenant_id, period.start, period.end)
    scored = trend[trend["secure_score_pct"].notna()]
    if scored.empty:
        raise NoDataError(
            f"{found['company_name']} has no Secure Score from {period.start} to {period.end} in the warehouse"
        )
    segment, segment_trend = (None, None)
    if segment_key is not None:
        segment, segment_trend = queries.segment_trend(
            reader, tenant_id, segment_key, period.start, period.end
        )
    return CustomerReport(
        tenant_id=tenant_id,
        company_name=str(found["company_name"] or found["default_domain"] or tenant_id),
        default_domain=None if pd.isna(found["default_domain"]) else str(found["default_domain"]),
        period=period,
        generated_at=generated_at,
        trend=scored.reset_index(drop=True),
        portfolio=portfolio_queries.portfolio_trend(reader, period.start, period.end),
        segment=segment,
        segment_trend=segment_trend,
        control_changes=queries.control_changes(reader, tenant_id, period.start, period.end),
        opportunities=queries.top_opportunities(reader, tenant_id, OPPORTUNITY_ROWS),
        opportunity_totals=queries.opportunity_totals(reader, tenant_id),
        alerts=queries.alert_summary(reader, tenant_id, period.start, period.end),
        incidents=queries.incident_summary(reader, tenant_id, period.start, period.end),
    )


def _e(value: object) -> str:
    return export._e(value)


def _value(value: object) -> float | None:
    return None if value is None or pd.isna(value) else float(value)  # type: ignore[arg-type]


def _day(value: object) -> str:
    return f"{pd.Timestamp(value).date():%d %b %Y}"  # type: ignore[arg-type]


def _median_on(frame: pd.DataFrame | None, day: date) -> float | None:
    if frame is None or frame.empty:
        return None
    match = frame[frame["score_date"] == day]
    return None if match.empty else _value(match.iloc[0]["median"])


def _summary_html(report: CustomerReport) -> str:
    first, last = report.first, report.last
    change = last["secure_score_pct"] - first["secure_score_pct"]
    tiles = [
        ("Secure Score at the end", fmt.pct(last["secure_score_pct"]), f"{fmt.pp(change)} over the period"),
        ("At the start", fmt.pct(first["secure_score_pct"]), None),
        ("Points", f"{fmt.points(last['current_score'])} of {fmt.points(last['max_score'])}", None),
        ("Microsoft: all tenants", fmt.pct(last["comparative_all_tenants_pct"]), None),
        ("Microsoft: similar size", fmt.pct(last["comparative_similar_size_pct"]), None),
        ("Portfolio median", fmt.pct(_median_on(report.portfolio, last["score_date"])), None),
    ]
    if report.segment is not None:
        tiles.append(
            (
                f"Segment median ({report.segment})",
                fmt.pct(_median_on(report.segment_trend, last["score_date"])),
                None,
            )
        )
    tiles += [
        ("Controls gained", fmt.count(len(report.gained)), None),
        ("Controls lost", fmt.count(len(report.lost)), None),
    ]
    days = f"{_day(first['score_date'])} to {_day(last['score_date'])}"
    return "<h2>Summary</h2>" + export._kpis(tiles) + f'<div class="muted">Secure Score days: {days}.</div>'


def _trend_html(report: CustomerReport) -> str:
    days = list(report.trend["score_date"])
    portfolio = report.portfolio.set_index("score_date")["median"] if not report.portfolio.empty else {}
    series: dict[str, tuple[list[float | None], str, bool]] = {
        "This customer": ([_value(v) for v in report.trend["secure_score_pct"]], "#1565c0", False),
        "Portfolio median": ([_value(portfolio.get(d)) for d in days], "#6a1b9a", True),
    }
    if report.segment is not None and report.segment_trend is not None and not report.segment_trend.empty:
        segment = report.segment_trend.set_index("score_date")["median"]
        series[f"Segment median ({report.segment})"] = (
            [_value(segment.get(d)) for d in days],
            "#ef6c00",
            True,
        )
    series["Microsoft: all tenants"] = (
        [_value(v) for v in report.trend["comparative_all_tenants_pct"]],
        "#9e9e9e",
        True,
    )
    series["Microsoft: similar size"] = (
        [_value(v) for v in report.trend["comparative_similar_size_pct"]],
        "#2e7d32",
        True,
    )
    return "<h2>Secure Score against Microsoft's comparatives and the portfolio</h2>" + svg.line_chart(
        days, series, "Secure Score trend"
    )


def _changes_table(frame: pd.DataFrame) -> str:
    return export._table(
        ["Control", "Category", "Points change", "Points possible"],
        [
            [
                _e(r.title),
                _e(fmt.category(r.category)),
                fmt.points(r.points_change, 2),
                fmt.points(r.max_score, 2),
            ]
            for r in frame.itertuples()
        ],
        {2, 3},
    )


def _controls_html(report: CustomerReport) -> str:
    parts = [f"<h2>Controls gained ({len(report.gained)})</h2>"]
    parts.append(
        _changes_table(report.gained)
        if not report.gained.empty
        else '<div class="info">No control became implemented in the period.</div>'
    )
    parts.append(f"<h2>Controls lost ({len(report.lost)})</h2>")
    parts.append(
        _changes_table(report.lost)
        if not report.lost.empty
        else '<div class="info">No implemented control regressed in the period.</div>'
    )
    parts.append(
        '<div class="muted">Implemented on the period\'s last Secure Score day and not on its first (gained), '
        "or the reverse (lost).</div>"
    )
    return "".join(parts)


def _opportunities_html(report: CustomerReport) -> str:
    totals = report.opportunity_totals
    heading = f"<h2>Top opportunities ({min(len(report.opportunities), OPPORTUNITY_ROWS)} of {fmt.count(totals['opportunities'])})</h2>"
    if report.opportunities.empty:
        return (
            heading + '<div class="info">No open opportunity: every applicable control is implemented.</div>'
        )
    as_of = _day(report.opportunities.iloc[0]["score_date"])
    return (
        heading
        + export._table(
            ["Control", "Category", "Points", "Score gain", "User impact", "Cost"],
            [
                [
                    _e(r.control_title),
                    _e(fmt.category(r.control_category)),
                    fmt.points(r.score_gain_points, 2),
                    fmt.pp(r.score_gain_pct, 2),
                    _e(fmt.rating(r.user_impact, "none")),
                    _e(fmt.rating(r.implementation_cost, "none")),
                ]
                for r in report.opportunities.itertuples()
            ],
            {2, 3},
        )
        + f'<div class="muted">As of {as_of}; all open opportunities together would add '
        f"{fmt.points(totals['points'])} points.</div>"
    )


def _events_table(frame: pd.DataFrame, noun: str) -> str:
    if frame.empty or int(frame["created"].sum()) == 0:
        return f'<div class="info">No {noun} was created in the period.</div>'
    return export._table(
        ["Severity", "Created", "Resolved", "Median time to resolve", "Still open"],
        [
            [
                "All" if r.severity is None or pd.isna(r.severity) else _e(fmt.label(r.severity)),
                fmt.count(r.created),
                fmt.count(r.resolved),
                fmt.hours(r.median_hours_to_resolve),
                fmt.count(r.still_open),
            ]
            for r in frame.itertuples()
        ],
        {1, 2, 3, 4},
    )


def _events_html(report: CustomerReport) -> str:
    return (
        "<h2>Alerts created in the period</h2>"
        + _events_table(report.alerts, "alert")
        + "<h2>Incidents created in the period</h2>"
        + _events_table(report.incidents, "incident")
        + '<div class="muted">Still open: open at the latest data; merged incidents are left out.</div>'
    )


def report_html(report: CustomerReport) -> str:
    """The report as one self-contained HTML document."""
    title = f"{report.company_name} — Security review, {report.period.title}"
    subtitle = " · ".join(
        part
        for part in (
            report.default_domain,
            f"{report.period.start:%d %b %Y} to {report.period.end:%d %b %Y}",
            f"segment {report.segment}" if report.segment else None,
        )
        if part
    )
    body = [
        _summary_html(report),
        _trend_html(report),
        _controls_html(report),
        _opportunities_html(report),
        _events_html(report),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{export._CSS}{_PRINT_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><div class="sub">{escape(subtitle)}</div>'
        + "".join(body)
        + f'<div class="foot">Partner Smart Office · generated {report.generated_at:%Y-%m-%d %H:%M} UTC '
        f"from the warehouse's marts</div></body></html>"
    )
