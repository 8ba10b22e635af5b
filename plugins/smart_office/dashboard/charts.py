"""Altair charts for the dashboard: one idea per chart, fixed colours for severities, labelled axes."""

from __future__ import annotations

from datetime import date

import altair as alt
import pandas as pd

from smart_office.dashboard.filters import SEVERITIES

# Severity colours are the same on every chart, so "red" always means high.
SEVERITY_COLORS = {"high": "#c62828", "medium": "#ef6c00", "low": "#f9a825", "informational": "#90a4ae"}
SEVERITY_ORDER = list(SEVERITIES)
SERIES_COLORS = {
    "This customer": "#1565c0",
    "Portfolio median": "#6a1b9a",
    "Microsoft: all tenants": "#9e9e9e",
    "Microsoft: similar size": "#2e7d32",
}
HEIGHT = 260


def _severity_color(present: list[str]) -> alt.Color:
    domain = [s for s in SEVERITY_ORDER if s in present] + sorted(
        s for s in present if s not in SEVERITY_ORDER
    )
    return alt.Color(
        "severity:N",
        title="Severity",
        scale=alt.Scale(domain=domain, range=[SEVERITY_COLORS.get(s, "#607d8b") for s in domain]),
        sort=domain,
    )


def score_distribution(frame: pd.DataFrame, bucket: int = 5) -> alt.Chart:
    """Histogram of customers by latest Secure Score %."""
    data = frame.assign(
        bucket_end=frame["bucket_start"] + bucket,
        label=[f"{start}-{start + bucket}%" for start in frame["bucket_start"]],
    )
    return (
        alt.Chart(data, height=HEIGHT)
        .mark_bar(color="#1565c0")
        .encode(
            x=alt.X("bucket_start:Q", bin="binned", title="Secure Score %", scale=alt.Scale(domain=[0, 100])),
            x2="bucket_end:Q",
            y=alt.Y("customers:Q", title="Customers", axis=alt.Axis(tickMinStep=1, format=",d")),
            tooltip=[
                alt.Tooltip("label:N", title="Score"),
                alt.Tooltip("customers:Q", title="Customers", format=","),
            ],
        )
    )


def portfolio_trend(frame: pd.DataFrame) -> alt.LayerChart:
    """Median Secure Score % over time with the 10th-90th percentile band."""
    base = alt.Chart(frame, height=HEIGHT).encode(
        x=alt.X("score_date:T", title=None, axis=alt.Axis(format="%d %b")),
    )
    band = base.mark_area(opacity=0.25, color="#1565c0").encode(
        y=alt.Y("p10:Q", title="Secure Score %", scale=alt.Scale(zero=False)),
        y2="p90:Q",
        tooltip=[
            alt.Tooltip("score_date:T", title="Day", format="%Y-%m-%d"),
            alt.Tooltip("p10:Q", title="10th percentile", format=".1f"),
            alt.Tooltip("median:Q", title="Median", format=".1f"),
            alt.Tooltip("p90:Q", title="90th percentile", format=".1f"),
            alt.Tooltip("customers:Q", title="Customers", format=","),
        ],
    )
    line = base.mark_line(color="#0d47a1", strokeWidth=2.5).encode(y="median:Q")
    return alt.layer(band, line)


def customer_trend(frame: pd.DataFrame) -> alt.Chart:
    """The customer's Secure Score % against Microsoft's comparatives and the portfolio median.

    :param frame: long format with columns score_date, series, value.
    """
    domain = [s for s in SERIES_COLORS if s in set(frame["series"])]
    return (
        alt.Chart(frame, height=HEIGHT)
        .mark_line(point=False, strokeWidth=2)
        .encode(
            x=alt.X("score_date:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("value:Q", title="Secure Score %", scale=alt.Scale(zero=False)),
            color=alt.Color(
                "series:N",
                title=None,
                scale=alt.Scale(domain=domain, range=[SERIES_COLORS[s] for s in domain]),
                legend=alt.Legend(orient="bottom", columns=2, labelLimit=220),
            ),
            strokeDash=alt.condition(
                alt.datum.series == "This customer", alt.value([1, 0]), alt.value([5, 3])
            ),
            tooltip=[
                alt.Tooltip("score_date:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("value:Q", title="Secure Score %", format=".1f"),
            ],
        )
    )


def categories(frame: pd.DataFrame) -> alt.LayerChart:
    """Per control category: share of achievable points achieved, labelled with the points."""
    data = frame.assign(
        label=[f"{a:,.1f} / {p:,.1f} pts" for a, p in zip(frame["achieved"], frame["possible"], strict=True)]
    )
    base = alt.Chart(data).encode(
        y=alt.Y("category:N", title=None, sort="-x", axis=alt.Axis(labelOverlap=False)),
        x=alt.X("score_pct:Q", title="Points achieved, % of achievable", scale=alt.Scale(domain=[0, 100])),
    )
    bars = base.mark_bar(color="#1565c0").encode(
        tooltip=[
            alt.Tooltip("category:N", title="Category"),
            alt.Tooltip("score_pct:Q", title="Achieved %", format=".1f"),
            alt.Tooltip("achieved:Q", title="Points achieved", format=",.1f"),
            alt.Tooltip("possible:Q", title="Points achievable", format=",.1f"),
            alt.Tooltip("implemented:Q", title="Controls implemented"),
            alt.Tooltip("controls:Q", title="Controls applicable"),
        ]
    )
    text = base.mark_text(align="left", dx=4, color="#37474f").encode(text="label:N")
    return alt.layer(bars, text).properties(height=max(90, 40 * len(data)))


def complete_from_marker(chart: alt.Chart | alt.LayerChart, day: date | None) -> alt.Chart | alt.LayerChart:
    """A dashed rule where every customer's history is complete (days before it count fewer customers)."""
    if day is None:
        return chart
    marker = pd.DataFrame({"day": [pd.Timestamp(day)], "label": ["complete for all customers from here"]})
    rule = alt.Chart(marker).mark_rule(color="#546e7a", strokeDash=[4, 3]).encode(x="day:T")
    text = (
        alt.Chart(marker)
        .mark_text(align="left", baseline="top", dx=4, dy=2, color="#546e7a", fontSize=11)
        .encode(x="day:T", y=alt.value(0), text="label:N")
    )
    return alt.layer(chart, rule, text)


def severity_bars(
    frame: pd.DataFrame, x: str, y: str, x_title: str | None = None, y_title: str = "Alerts"
) -> alt.Chart:
    """Stacked bars by severity over days (or any discrete/temporal x)."""
    temporal = pd.api.types.is_datetime64_any_dtype(frame[x]) or x.endswith("date")
    x_encoding = (
        alt.X(f"{x}:T", title=x_title, axis=alt.Axis(format="%d %b"))
        if temporal
        # Level labels: Vega-Lite turns band labels on a nominal axis 90° by default, unreadable for "1-7 days".
        else alt.X(f"{x}:N", title=x_title, sort=None, axis=alt.Axis(labelAngle=0))
    )
    return (
        alt.Chart(frame, height=HEIGHT)
        .mark_bar()
        .encode(
            x=x_encoding,
            y=alt.Y(f"sum({y}):Q", title=y_title, axis=alt.Axis(format=",d", tickMinStep=1)),
            color=_severity_color(sorted(set(frame["severity"]))),
            order=alt.Order("severity_rank:Q", sort="ascending"),
            tooltip=[
                alt.Tooltip(f"{x}:{'T' if temporal else 'N'}", title=x_title or "Day"),
                alt.Tooltip("severity:N", title="Severity"),
                alt.Tooltip(f"{y}:Q", title=y_title, format=","),
            ],
        )
        .transform_calculate(severity_rank=f"indexof({SEVERITY_ORDER!r}, datum.severity)".replace("'", '"'))
    )


def backlog_line(frame: pd.DataFrame) -> alt.Chart:
    """Open alerts at the end of each sampled day (all severities in the filter)."""
    return (
        alt.Chart(frame, height=180)
        .mark_area(color="#ef6c00", opacity=0.35, line={"color": "#e65100"}, point=len(frame) < 20)
        .encode(
            x=alt.X("activity_date:T", title=None, axis=alt.Axis(format="%d %b")),
            y=alt.Y("backlog:Q", title="Open alerts", axis=alt.Axis(format=",d")),
            tooltip=[
                alt.Tooltip("activity_date:T", title="Day", format="%Y-%m-%d"),
                alt.Tooltip("backlog:Q", title="Open at day end", format=","),
            ],
        )
    )


def ranked_bars(frame: pd.DataFrame, label: str, value: str, title: str, color: str = "#1565c0") -> alt.Chart:
    """Horizontal bars, biggest first, with the value printed at the end of each bar."""
    base = alt.Chart(frame).encode(
        y=alt.Y(f"{label}:N", title=None, sort="-x", axis=alt.Axis(labelLimit=420, labelOverlap=False)),
        x=alt.X(f"{value}:Q", title=title, axis=alt.Axis(format=",d")),
    )
    bars = base.mark_bar(color=color).encode(
        tooltip=[alt.Tooltip(f"{label}:N", title="Name"), alt.Tooltip(f"{value}:Q", title=title, format=",")]
    )
    text = base.mark_text(align="left", dx=3, color="#37474f").encode(text=alt.Text(f"{value}:Q", format=","))
    return alt.layer(bars, text).properties(height=max(90, 24 * len(frame)))
