"""Customer: one tenant's posture for a meeting — trend against Microsoft's comparatives, what to fix, alerts."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import streamlit as st

from smart_office.dashboard import charts
from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.data import load
from smart_office.dashboard.filters import Filters, Segment
from smart_office.dashboard.freshness import stale_dataset_message
from smart_office.dashboard.layout import (
    FilterSet,
    customer_completeness_note,
    data_banner,
    empty_state,
    explain_missing_data,
    page_header,
    segment_note,
    sidebar_filters,
    table,
    warehouse_status,
)
from smart_office.dashboard.queries import alerts as alerts_queries
from smart_office.dashboard.queries import customer as queries
from smart_office.dashboard.queries import history as history_queries
from smart_office.dashboard.queries import portfolio as portfolio_queries


def _trend_frame(trend: pd.DataFrame, portfolio: pd.DataFrame) -> pd.DataFrame:
    series = {
        "secure_score_pct": "This customer",
        "comparative_all_tenants_pct": "Microsoft: all tenants",
        "comparative_similar_size_pct": "Microsoft: similar size",
    }
    long = trend.melt(id_vars=["score_date"], value_vars=list(series), var_name="series", value_name="value")
    long["series"] = long["series"].map(series)
    median = (
        portfolio[["score_date", "median"]]
        .rename(columns={"median": "value"})
        .assign(series="Portfolio median")
    )
    combined = pd.concat([long, median], ignore_index=True).dropna(subset=["value"])
    combined["score_date"] = pd.to_datetime(combined["score_date"])
    return combined


def _freshness_warnings(tenant_id: str, token_state: str | None) -> None:
    freshness = load(queries.customer_freshness, tenant_id)
    for row in freshness.itertuples():
        message = stale_dataset_message(row, token_state)
        if message:
            st.warning(message, icon="⚠️")


def _pick_prompt(customers: pd.DataFrame, segment: Segment | None) -> None:
    empty_state("Pick a customer in the sidebar. The customers with the lowest Secure Score:")
    ranked = load(portfolio_queries.ranked_customers, segment)
    for row in ranked.head(5).itertuples():
        st.page_link(
            "views/customer.py",
            label=f"{row.company_name} — {fmt.pct(row.secure_score_pct)}",
            query_params={**st.query_params.to_dict(), "customer": row.tenant_id},
        )


def _controls(tenant_id: str) -> None:
    st.subheader("Controls by points still available")
    controls = load(queries.customer_controls, tenant_id)
    if controls.empty:
        empty_state("No control scores for this customer's latest day.")
        return
    show_all = st.toggle("Include implemented controls", value=False, key="customer_show_implemented")
    view = controls if show_all else controls[~controls["is_implemented"]]
    st.caption(
        f"{fmt.count((~controls['is_implemented']).sum())} of {fmt.count(len(controls))} applicable controls are "
        f"not fully implemented, worth {fmt.points(controls['points_gap'].sum())} points."
    )
    table(
        view.assign(
            control_state=view["control_state"].map(fmt.label),
            user_impact=view["user_impact"].map(lambda v: fmt.rating(v, "none")),
            implementation_cost=view["implementation_cost"].map(lambda v: fmt.rating(v, "none")),
        )[
            [
                "title",
                "category",
                "points_gap",
                "score",
                "max_score",
                "score_impact_pct",
                "user_impact",
                "implementation_cost",
                "tier",
                "control_state",
                "action_url",
            ]
        ],
        hide_index=True,
        # Widths that add up to the page's width at 1400 px, so no column is cut off behind a scroll bar.
        column_config={
            "title": st.column_config.TextColumn("Control", pinned=True, width=220),
            "category": st.column_config.TextColumn("Category", width=75),
            "points_gap": st.column_config.NumberColumn("Points gap", format="%.2f", width=75),
            "score": st.column_config.NumberColumn("Points", format="%.2f", width=60),
            "max_score": st.column_config.NumberColumn("Max", format="%.0f", width=45),
            "score_impact_pct": st.column_config.NumberColumn("Score gain (pp)", format="%.1f", width=90),
            "user_impact": st.column_config.TextColumn("User impact", width=80),
            "implementation_cost": st.column_config.TextColumn("Cost", width=70),
            "tier": st.column_config.TextColumn("Tier", width=80),
            "control_state": st.column_config.TextColumn("State", width=80),
            "action_url": st.column_config.LinkColumn("Action", display_text="Open", width=55),
        },
        key="customer_controls",
    )


def _alerts_by_day(tenant_id: str, filters: Filters, start: date, end: date) -> None:
    """The customer's alerts created per day, by severity (the severity filter applies)."""
    st.subheader("Alerts")
    volume = load(
        alerts_queries.alerts_created_daily,
        Filters(customer=tenant_id, severities=filters.severities),
        start,
        end,
    )
    completeness = load(history_queries.history_completeness, "alerts_v2", start, end, tenant_id)
    if volume.empty or int(volume["created"].sum()) == 0:
        empty_state(f"No alerts for this customer between {start:%d %b %Y} and {end:%d %b %Y}.")
        customer_completeness_note(completeness, "alert")
    else:
        from_day = customer_completeness_note(completeness, "alert")
        chart = charts.severity_bars(volume, "activity_date", "created")
        st.altair_chart(charts.complete_from_marker(chart, from_day), width="stretch")
        st.caption(f"{fmt.count(volume['created'].sum())} alerts created, by day and severity.")


def _open_high_alerts(tenant_id: str, as_of: datetime | None) -> None:
    """The customer's high-severity alerts still open at the last run, with links to Defender."""
    st.markdown("**Open high-severity alerts**")
    open_high = load(queries.open_alerts, tenant_id, ["high"], as_of)
    if open_high.empty:
        st.success("No open high-severity alerts.")
        return
    names = load(alerts_queries.alert_source_options)
    table(
        open_high.assign(
            service_source=open_high["service_source"].map(lambda source: fmt.source_name(source, names)),
            status=open_high["status"].map(fmt.label),
            category=open_high["category"].map(fmt.category),
        )[
            [
                "title",
                "created_at",
                "age_days",
                "status",
                "service_source",
                "category",
                "assigned_to",
                "alert_web_url",
            ]
        ],
        hide_index=True,
        # Widths that add up to the page's width at 1400 px, so no column is cut off behind a scroll bar.
        column_config={
            "title": st.column_config.TextColumn("Alert", width=230),
            "created_at": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm", width=120),
            "age_days": st.column_config.NumberColumn("Age (days)", format="%.1f", width=70),
            "status": st.column_config.TextColumn("Status", width=80),
            "service_source": st.column_config.TextColumn("Product", width=145),
            "category": st.column_config.TextColumn("Category", width=115),
            "assigned_to": st.column_config.TextColumn("Assigned to", width=115),
            "alert_web_url": st.column_config.LinkColumn("Defender", display_text="Open", width=60),
        },
        key="customer_open_high",
    )


def _identity(profile: pd.Series, tenant_id: str) -> None:
    """The customer's name, domain, tenant, access and last load, and a warning when it cannot be read."""
    st.header(profile["company_name"])
    st.caption(
        f"{profile['default_domain']} · tenant {tenant_id} · access: {fmt.reason(profile['access_state'])}"
        + (f" (GDAP {fmt.label(profile['gdap_status'])})" if profile["gdap_status"] else "")
        + f" · last loaded {fmt.timestamp(profile['last_loaded_at'])}"
        + (" · **departed**" if profile["is_departed"] else "")
    )
    if not profile["is_extractable"]:
        st.warning(
            f"The pipeline cannot read this tenant (access: {fmt.reason(profile['access_state'])}); figures, if "
            "any, are from when it could."
            # What the partner does about it (dim_customers.access_remedy), when the access state says.
            + (f" {profile['access_remedy']}" if isinstance(profile.get("access_remedy"), str) else ""),
            icon="⚠️",
        )


def _headline(profile: pd.Series) -> None:
    """The six figures at the top: score, rank, gaps to Microsoft's averages, controls, open high alerts."""
    cols = [*st.columns(3), *st.columns(3)]
    cols[0].metric(
        "Secure Score",
        fmt.pct(profile["secure_score_pct"]),
        delta=fmt.pp(profile["score_change_30d_pct"]) if pd.notna(profile["score_change_30d_pct"]) else None,
        help=f"{fmt.points(profile['current_score'])} of {fmt.points(profile['max_score'])} points on "
        f"{profile['latest_score_date']:%d %b %Y}; the delta is the 30-day change.",
        border=True,
    )
    cols[1].metric(
        "Rank in portfolio",
        f"{int(profile['portfolio_rank'])} of {int(profile['portfolio_size'])}"
        if pd.notna(profile["portfolio_rank"])
        else fmt.DASH,
        help="1 = the best Secure Score among current customers.",
        border=True,
    )
    cols[2].metric(
        "vs Microsoft: all tenants",
        fmt.pp(profile["gap_to_all_tenants_pct"]),
        help=f"Microsoft's average for all tenants: {fmt.pct(profile['comparative_all_tenants_pct'])}.",
        border=True,
    )
    cols[3].metric(
        "vs Microsoft: similar size",
        fmt.pp(profile["gap_to_similar_size_pct"]),
        help=f"Microsoft's average for tenants of similar size: {fmt.pct(profile['comparative_similar_size_pct'])}.",
        border=True,
    )
    cols[4].metric(
        "Controls implemented",
        f"{fmt.count(profile['controls_implemented'])} of {fmt.count(profile['controls_applicable'])}",
        border=True,
    )
    cols[5].metric("Open high-severity alerts", fmt.count(profile["open_high_severity_alerts"]), border=True)


def _score_trend(tenant_id: str, start: date, end: date, segment: Segment | None) -> None:
    """The customer's Secure Score over the range against Microsoft's comparatives and the portfolio median."""
    st.subheader("Secure Score against Microsoft's comparatives")
    trend = load(queries.customer_score_trend, tenant_id, start, end)
    if trend.empty:
        empty_state(f"No Secure Score for this customer between {start:%d %b %Y} and {end:%d %b %Y}.")
    else:
        # The median of the chosen segment, when one is chosen: the customer's peers.
        portfolio = load(portfolio_queries.portfolio_trend, start, end, segment)
        st.altair_chart(charts.customer_trend(_trend_frame(trend, portfolio)), width="stretch")


def _categories(tenant_id: str) -> None:
    """Points achieved by category on the customer's latest day."""
    st.subheader("By category")
    categories = load(queries.customer_categories, tenant_id)
    if categories.empty:
        empty_state("No control scores for this customer's latest day.")
    else:
        st.altair_chart(charts.categories(categories), width="stretch")


def render() -> None:
    """The page's outline: who the customer is, headline figures, trend, categories, controls, alerts."""
    page_header("Customer", "One customer's posture, ready for a meeting: trend, gaps, controls and alerts.")
    status = warehouse_status()
    if status is None or explain_missing_data(status):
        return
    customers = load(queries.customer_options)
    filters = sidebar_filters(
        status, FilterSet(customer=True, dates=True, severity=True), customers=customers
    )
    data_banner(status)
    segment_note(filters)
    if not filters.customer:
        _pick_prompt(customers, filters.segment)
        return
    tenant_id = filters.customer
    profile = load(queries.customer_profile, tenant_id)
    if profile is None:
        empty_state("This customer is not in the warehouse.")
        return
    _identity(profile, tenant_id)
    _freshness_warnings(tenant_id, profile["last_token_state"])
    if profile["secure_score_pct"] is None or pd.isna(profile["secure_score_pct"]):
        empty_state("No Secure Score has been loaded for this customer yet.")
        return
    _headline(profile)
    start, end = filters.date_range(status.latest_score_date)
    left, right = st.columns([3, 2])
    with left:
        _score_trend(tenant_id, start, end, filters.segment)
    with right:
        _categories(tenant_id)
    _controls(tenant_id)
    _alerts_by_day(tenant_id, filters, start, end)
    _open_high_alerts(tenant_id, status.as_of)


render()
