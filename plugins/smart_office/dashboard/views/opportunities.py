"""Opportunities: the controls most customers have not implemented, the points they would add, and who."""

from __future__ import annotations

import streamlit as st

from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.data import load, reader
from smart_office.dashboard.layout import (
    FilterSet,
    data_banner,
    empty_state,
    explain_missing_data,
    page_header,
    sidebar_filters,
    warehouse_status,
)
from smart_office.dashboard.queries import customer as customer_queries
from smart_office.dashboard.queries import opportunities as queries


def render() -> None:
    page_header(
        "Opportunities",
        "Targeted offers: controls left unimplemented across the portfolio, ranked by how many customers "
        "they concern and the points they would add.",
    )
    status = warehouse_status()
    if status is None or explain_missing_data(status):
        return
    customers = load(customer_queries.customer_options)
    filters = sidebar_filters(status, FilterSet(customer=True), customers=customers)
    data_banner(status)
    if not status.has_data:
        empty_state("No Secure Score has been loaded yet, so there are no controls to compare.")
        return
    totals = load(queries.opportunity_totals, filters.customer)
    by_control = load(queries.opportunities_by_control, filters.customer)
    cols = st.columns(4)
    cols[0].metric(
        "Open opportunities",
        fmt.count(totals["opportunities"]),
        help="Control x customer pairs.",
        border=True,
    )
    cols[1].metric("Controls", fmt.count(totals["controls"]), border=True)
    cols[2].metric("Customers", fmt.count(totals["customers"]), border=True)
    cols[3].metric("Points available", fmt.points(totals["points"]), border=True)
    if by_control.empty:
        empty_state("Every applicable control is implemented (or its risk accepted). Nothing to offer here.")
        return
    st.caption(
        f"Excludes {fmt.count(totals['risk_accepted'])} controls whose risk the customer accepted, deprecated "
        "controls and controls that do not apply to the customer's licences."
    )
    tenant_suffix = f"-{filters.customer[:8]}" if filters.customer else ""
    st.download_button(
        "Download all opportunities (CSV)",
        # Built only when clicked: the full control x customer list is an export, not part of the page.
        data=lambda: queries.opportunities_csv(reader(), filters.customer),
        file_name=f"smart-office-opportunities{tenant_suffix}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="opportunities_csv",
    )
    st.dataframe(
        by_control[
            [
                "title",
                "category",
                "customers",
                "adoption_rate",
                "points",
                "avg_gain_pct",
                "user_impact",
                "implementation_cost",
                "tier",
            ]
        ],
        hide_index=True,
        column_config={
            "title": st.column_config.TextColumn("Control", pinned=True, width="large"),
            "category": "Category",
            "customers": st.column_config.NumberColumn("Customers without it", format="localized"),
            "adoption_rate": st.column_config.NumberColumn("Adopted by", format="percent"),
            "points": st.column_config.NumberColumn("Points it would add", format="%.1f"),
            "avg_gain_pct": st.column_config.NumberColumn("Avg score gain (pp)", format="%.2f"),
            "user_impact": "User impact",
            "implementation_cost": "Cost",
            "tier": "Tier",
        },
        key="opportunities_by_control",
    )
    st.subheader("Which customers")
    titles = dict(zip(by_control["control_id"], by_control["title"], strict=True))
    counts = dict(zip(by_control["control_id"], by_control["customers"], strict=True))
    control_id = st.selectbox(
        "Control",
        list(by_control["control_id"]),
        format_func=lambda c: f"{titles[c]} ({fmt.count(counts[c])} customers)",
        key="opportunity_control",
    )
    who = load(queries.opportunity_customers, control_id, filters.customer)
    st.dataframe(
        who.assign(control_state=who["control_state"].map(fmt.label)).drop(columns=["tenant_id"]),
        hide_index=True,
        column_config={
            "company_name": st.column_config.TextColumn("Customer", pinned=True),
            "score_gain_points": st.column_config.NumberColumn("Points it would add", format="%.2f"),
            "score_gain_pct": st.column_config.NumberColumn("Score gain (pp)", format="%.2f"),
            "current_points": st.column_config.NumberColumn("Points now", format="%.2f"),
            "max_score": st.column_config.NumberColumn("Max", format="%.0f"),
            "control_state": "State",
            "action_url": st.column_config.LinkColumn("Action", display_text="Open in Microsoft 365"),
        },
        key="opportunity_customers",
    )


render()
