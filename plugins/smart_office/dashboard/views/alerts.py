"""Alerts: volume by day and severity, where alerts come from, the open backlog, and how fast and how real."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from smart_office.dashboard import charts
from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.data import load
from smart_office.dashboard.filters import SEVERITIES, Filters
from smart_office.dashboard.layout import (
    FilterSet,
    completeness_note,
    data_banner,
    empty_state,
    explain_missing_data,
    page_header,
    segment_note,
    sidebar_filters,
    table,
    warehouse_status,
)
from smart_office.dashboard.queries import alerts as queries
from smart_office.dashboard.queries import customer as customer_queries
from smart_office.dashboard.queries import history as history_queries
from smart_office.wording import counted


def _resolution_table(stats: pd.DataFrame) -> None:
    """One row per severity, then all severities: how many resolved, how fast, how many were real."""
    order = {s: i for i, s in enumerate([*SEVERITIES, "all"])}
    view = stats.assign(
        order=stats["severity"].map(lambda s: order.get(s, len(order))),
        severity=stats["severity"].map(lambda s: "All severities" if s == "all" else s.capitalize()),
    ).sort_values("order")
    table(
        view[
            [
                "severity",
                "resolved",
                "median_hours",
                "p90_hours",
                "true_positive_rate",
                "true_positive",
                "false_positive",
                "benign",
            ]
        ],
        hide_index=True,
        column_config={
            "severity": "Severity",
            "resolved": st.column_config.NumberColumn("Resolved", format="localized"),
            "median_hours": st.column_config.NumberColumn("Median time to resolve (h)", format="%.1f"),
            "p90_hours": st.column_config.NumberColumn("90th percentile (h)", format="%.1f"),
            "true_positive_rate": st.column_config.NumberColumn("True-positive rate", format="percent"),
            "true_positive": st.column_config.NumberColumn("True positive", format="localized"),
            "false_positive": st.column_config.NumberColumn("False positive", format="localized"),
            "benign": st.column_config.NumberColumn("Benign (expected activity)", format="localized"),
        },
        key="alert_resolution",
    )


def _all_severities(stats: pd.DataFrame) -> pd.Series | None:
    """The resolution figures over all severities, or None when the query returned no total row."""
    total = stats[stats["is_total"]]
    return total.iloc[0] if not total.empty else None


def _headline(created: int, backlog: pd.Series, overall: pd.Series | None, start: date, end: date) -> None:
    """The five figures at the top: created, open now, age of the backlog, time to resolve, accuracy."""
    cols = st.columns(5)
    cols[0].metric(
        "Alerts created", fmt.count(created), help=f"{start:%d %b %Y} to {end:%d %b %Y}", border=True
    )
    cols[1].metric(
        "Open now",
        fmt.count(backlog["open_alerts"]),
        help=f"{fmt.count(backlog['open_high'])} high",
        border=True,
    )
    cols[2].metric(
        "Median age of open alerts",
        fmt.hours(24 * backlog["median_age_days"]) if backlog["open_alerts"] else fmt.DASH,
        border=True,
    )
    cols[3].metric(
        "Median time to resolve",
        fmt.hours(overall["median_hours"]) if overall is not None and overall["resolved"] else fmt.DASH,
        border=True,
    )
    cols[4].metric(
        "True-positive rate",
        fmt.share(overall["true_positive_rate"]) if overall is not None else fmt.DASH,
        help="True positives among resolved alerts that were classified, in the date range.",
        border=True,
    )


def _volume_by_day(volume: pd.DataFrame, filters: Filters, start: date, end: date) -> date | None:
    """Alerts created per day by severity; returns the day from which every customer's history counts."""
    st.subheader("Alerts created per day, by severity")
    completeness = load(history_queries.history_completeness, "alerts_v2", start, end, filters.customer)
    from_day = completeness_note(completeness, "alert", start, end)
    st.altair_chart(
        charts.complete_from_marker(charts.severity_bars(volume, "activity_date", "created"), from_day),
        width="stretch",
    )
    return from_day


def _backlog_trend(filters: Filters, start: date, end: date, from_day: date | None) -> None:
    """Open alerts over the range, marked where every customer's history counts."""
    backlog_trend = load(queries.alert_backlog_trend, filters, start, end)
    # The query thins long ranges to every 7th day; the heading says which the chart shows.
    weekly = (
        len(backlog_trend) > 1
        and (backlog_trend["activity_date"].iloc[1] - backlog_trend["activity_date"].iloc[0]).days > 1
    )
    st.markdown(f"**Open alerts at the end of each {'week' if weekly else 'day'}**")
    st.altair_chart(
        charts.complete_from_marker(charts.backlog_line(backlog_trend), from_day), width="stretch"
    )


def _where_alerts_come_from(filters: Filters, start: date, end: date, names: dict[str, str | None]) -> None:
    """Product and category side by side, then the top MITRE techniques across the page (their names are long)."""
    left, right = st.columns(2)
    breakdowns = load(queries.alert_breakdowns, filters, start, end)
    with left:
        _by_product(breakdowns, names)
    with right:
        _by_category(breakdowns)
    _top_techniques(filters, start, end)


def _by_product(breakdowns: pd.DataFrame, names: dict[str, str | None]) -> None:
    """Alerts ranked by the Defender product that raised them (names from fct_alert_volume_daily)."""
    st.subheader("By product")
    by_source = breakdowns[breakdowns["dimension"] == "service_source"]
    by_source = by_source.assign(value=by_source["value"].map(lambda source: fmt.source_name(source, names)))
    st.altair_chart(charts.ranked_bars(by_source, "value", "alerts", "Alerts"), width="stretch")


def _by_category(breakdowns: pd.DataFrame) -> None:
    """Alerts ranked by category."""
    st.subheader("By category")
    by_category = breakdowns[breakdowns["dimension"] == "category"]
    by_category = by_category.assign(value=by_category["value"].map(fmt.category))
    st.altair_chart(charts.ranked_bars(by_category, "value", "alerts", "Alerts", "#6a1b9a"), width="stretch")


def _top_techniques(filters: Filters, start: date, end: date) -> None:
    """The MITRE ATT&CK techniques seen most often on the alerts."""
    st.subheader("Top MITRE techniques")
    techniques = load(queries.mitre_techniques, filters, start, end)
    if techniques.empty:
        empty_state("No MITRE ATT&CK techniques on these alerts.")
    else:
        named = techniques.assign(
            technique=[
                fmt.technique(t, n)
                for t, n in zip(techniques["technique"], techniques["technique_name"], strict=True)
            ]
        )
        st.altair_chart(
            charts.ranked_bars(named, "technique", "alerts", "Alerts", "#00838f"), width="stretch"
        )


def _backlog_by_age(backlog: pd.Series, filters: Filters, as_of: datetime | None) -> None:
    """The alerts open at the last run, by age band and severity."""
    st.subheader("Open backlog by age")
    if not backlog["open_alerts"]:
        st.success("No open alerts for these filters.")
        return
    by_age = load(queries.open_backlog, filters, as_of)
    st.altair_chart(charts.severity_bars(by_age, "age_band", "alerts", "Age"), width="stretch")
    st.caption(
        f"{counted(int(backlog['open_alerts']), 'open alert')} ({fmt.count(backlog['open_high'])} high); the oldest "
        f"is {fmt.hours(24 * backlog['max_age_days'])} old. Age is measured at the last run, whatever the "
        "date range."
    )


def _time_to_resolve(stats: pd.DataFrame, overall: pd.Series | None, start: date, end: date) -> None:
    """Time to resolve and true-positive rate, per severity and overall, for alerts resolved in the range."""
    st.subheader("Time to resolve and true-positive rate")
    if overall is None or not overall["resolved"]:
        empty_state(f"No alert was resolved between {start:%d %b %Y} and {end:%d %b %Y} for these filters.")
        return
    _resolution_table(stats)
    st.caption("Alerts resolved in the date range. Benign: classified as expected (informational) activity.")


def render() -> None:
    """The page's outline: headline figures, volume and where alerts come from, the backlog, resolution."""
    page_header(
        "Alerts", "Defender alerts across the portfolio: volume, sources, backlog, speed and accuracy."
    )
    status = warehouse_status()
    if status is None or explain_missing_data(status):
        return
    customers = load(customer_queries.customer_options)
    sources = load(queries.alert_source_options)
    filters = sidebar_filters(
        status,
        FilterSet(customer=True, dates=True, severity=True, sources=True),
        customers=customers,
        sources=sources,
    )
    data_banner(status)
    segment_note(filters)
    if not sources:
        empty_state(
            "No alerts have been loaded yet: either no customer raised one, or alerts could not be read "
            "(see coverage on the Portfolio page)."
        )
        return
    start, end = filters.date_range(status.latest_score_date)
    volume = load(queries.alerts_created_daily, filters, start, end)
    backlog = load(queries.backlog_summary, filters, status.as_of)
    stats = load(queries.resolution_stats, filters, start, end)
    overall = _all_severities(stats)
    created = int(volume["created"].sum()) if not volume.empty else 0
    _headline(created, backlog, overall, start, end)
    if created == 0:
        empty_state(f"No alerts in this range ({start:%d %b %Y} to {end:%d %b %Y}) for these filters.")
    else:
        from_day = _volume_by_day(volume, filters, start, end)
        _backlog_trend(filters, start, end, from_day)
        _where_alerts_come_from(filters, start, end, sources)
    _backlog_by_age(backlog, filters, status.as_of)
    _time_to_resolve(stats, overall, start, end)


render()
