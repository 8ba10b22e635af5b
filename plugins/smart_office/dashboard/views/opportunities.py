"""Opportunities: the controls most customers have not implemented, the points they would add, and who."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.data import load, reader
from smart_office.dashboard.filters import Segment
from smart_office.dashboard.layout import (
    FilterSet,
    data_banner,
    empty_state,
    explain_missing_data,
    page_header,
    segment_note,
    sidebar_filters,
    table,
    warehouse_status,
)
from smart_office.dashboard.queries import customer as customer_queries
from smart_office.dashboard.queries import opportunities as queries


def _headline(totals: pd.Series) -> None:
    """The four figures at the top: opportunities, controls, customers and the points they would add."""
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


def _csv_download(tenant_id: str | None, segment: Segment | None) -> None:
    """A button that downloads every control x customer opportunity as CSV."""
    tenant_suffix = f"-{tenant_id[:8]}" if tenant_id else ""
    st.download_button(
        "Download all opportunities (CSV)",
        # Built only when clicked: the full control x customer list is an export, not part of the page.
        data=lambda: queries.opportunities_csv(reader(), tenant_id, segment),
        file_name=f"smart-office-opportunities{tenant_suffix}.csv",
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key="opportunities_csv",
    )


def _by_control(
    by_control: pd.DataFrame, totals: pd.Series, tenant_id: str | None, segment: Segment | None
) -> None:
    """The controls left unimplemented, ranked, with what the ranking leaves out and the CSV download."""
    st.caption(fmt.risk_accepted_note(int(totals["risk_accepted"]), int(totals["risk_accepted_controls"])))
    _csv_download(tenant_id, segment)
    table(
        by_control.assign(
            user_impact=by_control["user_impact"].map(lambda v: fmt.rating(v, "none")),
            implementation_cost=by_control["implementation_cost"].map(lambda v: fmt.rating(v, "none")),
        )[
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
        # Widths that add up to the page's width at 1400 px, so no column is cut off behind a scroll bar.
        column_config={
            "title": st.column_config.TextColumn("Control", pinned=True, width=270),
            "category": st.column_config.TextColumn("Category", width=75),
            "customers": st.column_config.NumberColumn(
                "Without it", format="localized", width=95, help="Customers without the control"
            ),
            "adoption_rate": st.column_config.NumberColumn("Adopted by", format="percent", width=75),
            "points": st.column_config.NumberColumn(
                "Points to add", format="%.1f", width=95, help="Points it would add across these customers"
            ),
            "avg_gain_pct": st.column_config.NumberColumn(
                "Avg gain (pp)", format="%.2f", width=95, help="Average Secure Score gain per customer"
            ),
            "user_impact": st.column_config.TextColumn("User impact", width=80),
            "implementation_cost": st.column_config.TextColumn("Cost", width=70),
            "tier": st.column_config.TextColumn("Tier", width=75),
        },
        key="opportunities_by_control",
    )


def _which_customers(by_control: pd.DataFrame, tenant_id: str | None, segment: Segment | None) -> None:
    """The customers without the control picked in the list, and the points it would add for each."""
    st.subheader("Which customers")
    titles = dict(zip(by_control["control_id"], by_control["title"], strict=True))
    counts = dict(zip(by_control["control_id"], by_control["customers"], strict=True))
    control_id = st.selectbox(
        "Control",
        list(by_control["control_id"]),
        format_func=lambda c: f"{titles[c]} ({fmt.count(counts[c])} customers)",
        key="opportunity_control",
    )
    who = load(queries.opportunity_customers, control_id, tenant_id, segment)
    table(
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


def render() -> None:
    """The page's outline: headline figures, the controls to offer, and which customers lack each."""
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
    segment_note(filters)
    if not status.has_data:
        empty_state("No Secure Score has been loaded yet, so there are no controls to compare.")
        return
    totals = load(queries.opportunity_totals, filters.customer, filters.segment)
    by_control = load(queries.opportunities_by_control, filters.customer, filters.segment)
    _headline(totals)
    if by_control.empty:
        empty_state("Every applicable control is implemented (or its risk accepted). Nothing to offer here.")
        return
    _by_control(by_control, totals, filters.customer, filters.segment)
    _which_customers(by_control, filters.customer, filters.segment)


render()
