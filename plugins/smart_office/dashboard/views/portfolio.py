"""Portfolio: how safe the customer base is, how complete the data is, and which customers need attention."""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from smart_office.dashboard import charts
from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.data import load
from smart_office.dashboard.filters import Segment
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
from smart_office.dashboard.queries import history as history_queries
from smart_office.dashboard.queries import portfolio as queries
from smart_office.dashboard.queries.status import WarehouseStatus

_OUTCOME_LABELS = {"loaded": "Loaded", "failed": "Failed", "not_extractable": "Not extractable"}


def _coverage(status: WarehouseStatus) -> None:
    st.subheader("Coverage of the last run")
    run = status.coverage_run
    if run is None:
        empty_state("No run has recorded any customer yet, so coverage is unknown.")
        return
    frame = load(queries.coverage, run.run_id)
    failed = frame[frame["outcome"] == "failed"]
    not_extractable = frame[frame["outcome"] == "not_extractable"]
    loaded_share = run.loaded / run.attempted if run.attempted else None
    cols = st.columns(4)
    cols[0].metric("Loaded", f"{fmt.count(run.loaded)} of {fmt.count(run.attempted)}", border=True)
    cols[1].metric("Loaded share", fmt.share(loaded_share), border=True)
    cols[2].metric("Failed", fmt.count(int(failed["customers"].sum())), border=True)
    cols[3].metric("Not extractable", fmt.count(int(not_extractable["customers"].sum())), border=True)
    st.caption(
        f"Run `{run.run_id}` for {fmt.timestamp(run.as_of or run.started_at)} ({run.status}). *Failed*: tried and "
        "not fully loaded. *Not extractable*: no delegated access with a security role, excluded or departed "
        "— partner to-dos, not pipeline errors."
    )
    if failed.empty and not_extractable.empty:
        return
    reasons = frame[frame["outcome"] != "loaded"].assign(
        outcome=lambda f: f["outcome"].map(_OUTCOME_LABELS), reason=lambda f: f["reason"].map(fmt.reason)
    )
    table(
        reasons,
        hide_index=True,
        column_config={
            "outcome": st.column_config.TextColumn("Outcome"),
            "reason": st.column_config.TextColumn("Reason"),
            "customers": st.column_config.NumberColumn("Customers", format="%d"),
        },
        key="coverage_reasons",
    )


def _freshness(segment: Segment | None) -> None:
    st.subheader("Data freshness")
    summary = load(queries.freshness_summary, segment)
    if summary.empty:
        empty_state("No dataset has been loaded for any customer yet.")
        return
    table(
        summary.assign(dataset=summary["dataset"].map(fmt.dataset)),
        hide_index=True,
        column_config={
            "dataset": st.column_config.TextColumn("Dataset"),
            "customers": st.column_config.NumberColumn("Customers", format="%d"),
            "up_to_date": st.column_config.NumberColumn("Loaded by the last run", format="%d"),
            "behind": st.column_config.NumberColumn("Behind", format="%d"),
            "never_loaded": st.column_config.NumberColumn("Never loaded", format="%d"),
            "max_hours_behind": st.column_config.NumberColumn("Most behind (h)", format="%.0f"),
            "last_loaded_at": st.column_config.DatetimeColumn("Last load", format="YYYY-MM-DD HH:mm"),
        },
        key="freshness_summary",
    )
    stale = load(queries.stale_customers, segment)
    if not stale.empty:
        with st.expander(
            f"{fmt.count(stale['tenant_id'].nunique())} customers with data behind the last run"
        ):
            table(
                stale.drop(columns=["tenant_id"]).assign(
                    dataset=lambda f: f["dataset"].map(fmt.dataset),
                    last_state=lambda f: f["last_state"].map(fmt.reason),
                ),
                hide_index=True,
                column_config={
                    "company_name": "Customer",
                    "dataset": "Dataset",
                    "last_loaded_at": st.column_config.DatetimeColumn("Last load", format="YYYY-MM-DD HH:mm"),
                    "hours_behind_latest_run": st.column_config.NumberColumn("Hours behind", format="%.0f"),
                    "last_outcome": "Last attempt",
                    "last_state": "Why",
                },
                key="stale_customers",
            )


def _data_issues(segment: Segment | None) -> None:
    st.subheader("Data issues")
    issues = load(queries.data_issues_by_customer, segment)
    if issues.empty:
        st.caption(
            "Microsoft's data for every customer reads as documented: nothing coerced, inconsistent or quarantined."
        )
        return
    st.caption(
        "Records from Microsoft with values that could not be read as documented (*coerced*: kept, the value left "
        "out), that break Microsoft's own invariants (*inconsistent*, e.g. controls not adding up to the score), or "
        "that could not be landed (*quarantined*). Only these customers' figures are affected; every record is "
        "listed in `marts.fct_data_issues`."
    )
    table(
        issues.drop(columns=["tenant_id"]),
        hide_index=True,
        column_config={
            "company_name": "Customer",
            "records": st.column_config.NumberColumn("Records", format="%d"),
            "coerced": st.column_config.NumberColumn("Coerced", format="%d"),
            "inconsistent": st.column_config.NumberColumn("Inconsistent", format="%d"),
            "quarantined": st.column_config.NumberColumn("Quarantined", format="%d"),
            "most_common": "Most common",
            "last_seen_at": st.column_config.DatetimeColumn("Last seen", format="YYYY-MM-DD HH:mm"),
        },
        key="data_issues",
    )


def _ranking(segment: Segment | None) -> None:
    """Every scored customer, lowest Secure Score first, with a link to its page."""
    st.subheader("Customers, lowest Secure Score first")
    ranked = load(queries.ranked_customers, segment)
    if ranked.empty:
        empty_state("No customer has a Secure Score yet.")
    else:
        view = ranked.assign(link="customer?customer=" + ranked["tenant_id"])
        table(
            view[
                [
                    "company_name",
                    "secure_score_pct",
                    "score_change_30d_pct",
                    "gap_to_similar_size_pct",
                    "open_high_severity_alerts",
                    "points_available",
                    "latest_score_date",
                    "hours_behind_latest_run",
                    "link",
                ]
            ],
            hide_index=True,
            # Widths that add up to the page's width at 1400 px, so no column is cut off behind a scroll bar;
            # short headers, the full meaning in their help.
            column_config={
                "company_name": st.column_config.TextColumn("Customer", pinned=True, width=190),
                "secure_score_pct": st.column_config.ProgressColumn(
                    "Secure Score", min_value=0, max_value=100, format="%.1f%%", width=125
                ),
                "score_change_30d_pct": st.column_config.NumberColumn(
                    "30-day (pp)", format="%+.1f", width=80, help="Change over 30 days, percentage points"
                ),
                "gap_to_similar_size_pct": st.column_config.NumberColumn(
                    "vs similar (pp)",
                    format="%+.1f",
                    width=100,
                    help="Against Microsoft's average for tenants of similar size, percentage points",
                ),
                "open_high_severity_alerts": st.column_config.NumberColumn(
                    "Open high", format="%d", width=75, help="Open high-severity alerts"
                ),
                "points_available": st.column_config.NumberColumn(
                    "Points available", format="%.1f", width=105
                ),
                "latest_score_date": st.column_config.DateColumn("Score of", format="YYYY-MM-DD", width=85),
                "hours_behind_latest_run": st.column_config.NumberColumn(
                    "Hours behind",
                    format="%.0f",
                    width=90,
                    help="Hours the Secure Score is behind the last run",
                ),
                "link": st.column_config.LinkColumn("Details", display_text="Open", width=60),
            },
            key="ranked_customers",
        )


def _unscored(segment: Segment | None) -> None:
    """The current customers with no Secure Score at all, and why, since the ranking cannot show them."""
    unscored = load(queries.unscored_customers, segment)
    if not unscored.empty:
        st.warning(
            f"{fmt.count(len(unscored))} current customers have no Secure Score at all and are not in the "
            "ranking or the figures above.",
            icon="⚠️",
        )
        table(
            unscored.drop(columns=["tenant_id"]).assign(
                access_state=lambda f: f["access_state"].map(fmt.reason),
                last_state=lambda f: f["last_state"].map(fmt.reason),
            ),
            hide_index=True,
            column_config={
                "company_name": "Customer",
                "access_state": "Access",
                "last_outcome": "Last attempt",
                "last_state": "Why",
                "last_attempted_at": st.column_config.DatetimeColumn(
                    "Last attempt at", format="YYYY-MM-DD HH:mm"
                ),
            },
            key="unscored_customers",
        )


def _headline(kpis: pd.Series, ranked: pd.DataFrame) -> None:
    """The five figures at the top: median score, customers scored, lowest score, below average, open alerts."""
    change = kpis["median_change_30d"]
    cols = st.columns(5)
    cols[0].metric(
        "Median score",
        fmt.pct(kpis["median_pct"]),
        delta=fmt.pp(change) if pd.notna(change) and round(change, 1) != 0 else None,
        help="Median of current customers' latest Secure Score %; the delta is the median 30-day change.",
        border=True,
    )
    cols[1].metric(
        "Customers scored",
        f"{fmt.count(kpis['customers_scored'])} of {fmt.count(kpis['customers'])}",
        border=True,
    )
    cols[2].metric(
        "Lowest score",
        fmt.pct(ranked.iloc[0]["secure_score_pct"]) if not ranked.empty else fmt.DASH,
        border=True,
    )
    cols[3].metric(
        "Below MS average",
        fmt.count(kpis["below_all_tenants"]),
        help="Customers whose score is below Microsoft's all-tenants average.",
        border=True,
    )
    cols[4].metric(
        "Open high alerts",
        fmt.count(kpis["open_high_alerts"]),
        help="Open high-severity alerts.",
        border=True,
    )


def _lowest_customer(kpis: pd.Series, ranked: pd.DataFrame) -> None:
    """One line under the figures: the lowest customer, how many declined, the points available."""
    if ranked.empty:
        return
    worst = ranked.iloc[0]
    st.markdown(
        f"Lowest: **{worst['company_name']}** at {fmt.pct(worst['secure_score_pct'])} "
        f"({fmt.pp(worst['score_change_30d_pct'])} over 30 days) · "
        f"{fmt.count(kpis['declining_30d'])} customers declined over 30 days · "
        f"{fmt.points(kpis['points_available'])} points available across the portfolio"
    )


def _distribution(segment: Segment | None) -> None:
    """A histogram of current customers by their latest Secure Score %."""
    st.subheader("Distribution of Secure Score")
    st.altair_chart(charts.score_distribution(load(queries.score_distribution, segment)), width="stretch")
    st.caption("Current customers by their latest Secure Score %.")


def _score_trend(start: date, end: date, segment: Segment | None) -> None:
    """The portfolio's median Secure Score per day over the range, with the 10th-90th percentile band."""
    st.subheader("Secure Score trend")
    trend = load(queries.portfolio_trend, start, end, segment)
    if trend.empty:
        empty_state(f"No Secure Scores between {start:%d %b %Y} and {end:%d %b %Y}.")
    else:
        completeness = load(history_queries.history_completeness, "secure_scores", start, end)
        from_day = completeness_note(completeness, "Secure Score", start, end)
        st.altair_chart(charts.complete_from_marker(charts.portfolio_trend(trend), from_day), width="stretch")
        st.caption(
            f"Median Secure Score % per day, {start:%d %b %Y} to {end:%d %b %Y}; the band spans the 10th to "
            "the 90th percentile of customers."
        )


def render() -> None:
    """The page's outline: headline figures, coverage and data health, distribution, trend, the ranking."""
    page_header("Portfolio", "How safe the customer base is, how complete the data is, and where to act.")
    status = warehouse_status()
    if status is None or explain_missing_data(status):
        return
    filters = sidebar_filters(status, FilterSet(dates=True))
    data_banner(status)
    segment_note(filters)
    if not status.has_data:
        st.warning(
            "**No Secure Score has been loaded yet.** Runs have been recorded but none loaded a score — see "
            "coverage below for why.",
            icon="⚠️",
        )
        _coverage(status)
        _freshness(filters.segment)
        _data_issues(filters.segment)
        return
    kpis = load(queries.portfolio_kpis, filters.segment)
    ranked = load(queries.ranked_customers, filters.segment)
    _headline(kpis, ranked)
    _lowest_customer(kpis, ranked)
    _coverage(status)
    _freshness(filters.segment)
    _data_issues(filters.segment)
    start, end = filters.date_range(status.latest_score_date)
    left, right = st.columns(2)
    with left:
        _distribution(filters.segment)
    with right:
        _score_trend(start, end, filters.segment)
    _ranking(filters.segment)
    _unscored(filters.segment)


render()
