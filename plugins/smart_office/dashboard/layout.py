"""What every page shares: the data-status banner, empty states, and the filters kept in the URL.

The URL is the source of truth for filters. On each run the page reads `st.query_params`; when they differ
from what the widgets last showed (a link was opened, another page was chosen) the widgets are set from the
URL, and when the user changes a widget the URL is rewritten — so the address bar always shares the view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.connection import DashboardConfigError, MartsUnavailableError
from smart_office.dashboard.data import load
from smart_office.dashboard.filters import SEVERITIES, Filters, Segment, query_keys
from smart_office.dashboard.queries import segments as segment_queries
from smart_office.dashboard.queries import status as status_queries
from smart_office.dashboard.queries.status import WarehouseStatus

_APPLIED = "_filters_from_url"
CUSTOMER_KEY, DATES_KEY, SEVERITY_KEY, SOURCES_KEY = "f_customer", "f_dates", "f_severity", "f_sources"
SEGMENT_KEY = "f_segment"


@dataclass(frozen=True, slots=True)
class FilterSet:
    """Which filters a page offers."""

    customer: bool = False
    dates: bool = False
    severity: bool = False
    sources: bool = False


def warehouse_status() -> WarehouseStatus | None:
    """The warehouse's status, or None after explaining on the page why it cannot be read."""
    try:
        return load(status_queries.warehouse_status)
    except DashboardConfigError as exc:
        st.error(f"The dashboard is not configured: {exc}.")
    except MartsUnavailableError as exc:
        st.error(f"The warehouse cannot be read: {exc}.")
    return None


def explain_missing_data(status: WarehouseStatus) -> bool:
    """Say why there is nothing to show (and return True), so an empty page is never read as good news."""
    if not status.has_marts:
        st.info(
            "**No data yet: the marts have not been built.** Run the pipeline (`smart-office run`, or the "
            "Airflow DAG) and then `smart-office dbt build`; this page fills in as soon as the marts exist.",
            icon="⏳",
        )
        return True
    if status.latest_run is None and not status.has_data:
        st.info(
            "**No data yet: the first run has not finished.** No pipeline run has recorded any customer, "
            "so there is nothing to show — this is missing data, not a clean bill of health.",
            icon="⏳",
        )
        return True
    return False


def data_banner(status: WarehouseStatus) -> None:
    """One line saying how recent and how complete the data is, on every page."""
    run = status.coverage_run
    parts = []
    if status.latest_score_date:
        parts.append(f"Secure Scores up to **{status.latest_score_date:%d %b %Y}**")
    if run is not None:
        loaded = f"{fmt.count(run.loaded)} of {fmt.count(run.attempted)} customers loaded"
        parts.append(f"last run {fmt.timestamp(run.as_of or run.started_at)} ({run.status}): {loaded}")
    if (
        status.latest_run is not None
        and status.latest_run.status == "running"
        and run is not status.latest_run
    ):
        parts.append("a newer run is still in progress")
    st.caption(" · ".join(parts) if parts else "No run recorded yet.")
    if run is not None and run.loaded < run.attempted:
        missing = run.attempted - run.loaded
        st.warning(
            f"{fmt.count(missing)} of {fmt.count(run.attempted)} customers were not fully loaded by the last "
            "run; their figures are from an earlier run or missing. See *Coverage* on the Portfolio page.",
            icon="⚠️",
        )


def _widget_values(filters: Filters, latest: date) -> dict[str, object]:
    return {
        CUSTOMER_KEY: filters.customer,
        DATES_KEY: filters.date_range(latest),
        SEVERITY_KEY: list(filters.severities),
        SOURCES_KEY: list(filters.sources),
        SEGMENT_KEY: str(filters.segment) if filters.segment else None,
    }


def in_segment_only(customers: pd.DataFrame, segment: Segment) -> pd.DataFrame:
    """The rows of `customers` (a frame with tenant_id) that belong to `segment`."""
    members = set(load(segment_queries.segment_members, segment))
    return customers[customers["tenant_id"].isin(members)]


def sidebar_filters(
    status: WarehouseStatus,
    offered: FilterSet,
    *,
    customers: pd.DataFrame | None = None,
    sources: Mapping[str, str | None] | None = None,
) -> Filters:
    """Render the page's filters in the sidebar, kept in sync with the URL both ways; return them.

    Every page offers the customer segment (`customers`, when given, are those of the chosen segment)."""
    from_url, problems = Filters.from_query(st.query_params.to_dict())
    segments = load(segment_queries.segment_options)
    segment_sizes = {
        str(Segment(key, value)): int(count)
        for key, value, count in segments[["segment_key", "segment_value", "customers"]].itertuples(
            index=False
        )
    }
    if from_url.segment and str(from_url.segment) not in segment_sizes:
        problems.append(f"no customer is in the segment {from_url.segment.label}")
        from_url = replace(from_url, segment=None)
    in_link = (
        customers
        if customers is None or from_url.segment is None
        else in_segment_only(customers, from_url.segment)
    )
    if in_link is not None and from_url.customer and from_url.customer not in set(in_link["tenant_id"]):
        problems.append(
            "the customer in the link is not in the chosen segment"
            if from_url.segment
            else "the customer in the link is not in the warehouse"
        )
        from_url = replace(from_url, customer=None)
    latest = status.latest_score_date or (status.as_of or datetime.now(UTC)).date()
    changed_externally = st.session_state.get(_APPLIED) != from_url
    for key, value in _widget_values(from_url, latest).items():
        # Widgets not shown on the previous page lost their state; the URL restores it.
        if changed_externally or key not in st.session_state:
            st.session_state[key] = value
    st.session_state[_APPLIED] = from_url

    sidebar = st.sidebar
    sidebar.markdown("#### Filters")
    for problem in problems:
        sidebar.warning(f"Ignored from the link: {problem}.")
    chosen = from_url
    if segment_sizes:
        picked_segment = sidebar.selectbox(
            "Segment",
            options=list(segment_sizes),
            format_func=lambda text: f"{Segment.parse(text).label} ({segment_sizes[text]:,})",
            key=SEGMENT_KEY,
            index=None,  # clearable: no segment is "all customers"
            placeholder="All customers",
        )
        chosen = replace(chosen, segment=Segment.parse(picked_segment) if picked_segment else None)
    if customers is not None and chosen.segment is not None:
        customers = in_segment_only(customers, chosen.segment)
        if st.session_state.get(CUSTOMER_KEY) not in set(customers["tenant_id"]):
            st.session_state[CUSTOMER_KEY] = None  # a customer of another segment: not a choice any more
            chosen = replace(chosen, customer=None)
    if offered.customer and customers is not None:
        labels = dict(zip(customers["tenant_id"], customers["company_name"], strict=True))
        departed = set(customers.loc[customers["is_departed"], "tenant_id"])
        customer = sidebar.selectbox(
            "Customer",
            options=list(customers["tenant_id"]),
            format_func=lambda t: labels.get(t, t) + (" (departed)" if t in departed else ""),
            key=CUSTOMER_KEY,
            placeholder="All customers",
        )
        chosen = replace(chosen, customer=customer)
    if offered.dates:
        picked = sidebar.date_input("Date range", key=DATES_KEY, format="YYYY-MM-DD")
        # While the user is picking, the widget holds one date; keep the previous range until both are set.
        if isinstance(picked, tuple | list) and len(picked) == 2:
            chosen = chosen.with_range(picked[0], picked[1], latest)
        sidebar.caption(f"Default: the 90 days up to {latest:%d %b %Y}.")
    if offered.severity:
        severities = sidebar.multiselect(
            "Severity",
            list(SEVERITIES),
            key=SEVERITY_KEY,
            format_func=str.capitalize,
            placeholder="All severities",
        )
        chosen = replace(chosen, severities=tuple(s for s in SEVERITIES if s in severities))
    if offered.sources:
        names = sources or {}
        options = sorted(set(names) | set(st.session_state.get(SOURCES_KEY) or []))
        picked_sources = sidebar.multiselect(
            "Service source",
            options,
            key=SOURCES_KEY,
            format_func=lambda source: fmt.source_name(source, names),
            placeholder="All products",
        )
        chosen = replace(chosen, sources=tuple(sorted(picked_sources)))
    # Rewrite the URL when a widget changed, or when the link held values that were ignored.
    current = {key: st.query_params[key] for key in query_keys() if key in st.query_params}
    if chosen != from_url or current != from_url.to_query():
        st.query_params.from_dict(chosen.to_query())
        st.session_state[_APPLIED] = chosen
    return chosen


def segment_note(filters: Filters) -> None:
    """Say that the page shows one segment, and what still counts every customer."""
    if filters.segment is not None:
        st.caption(
            f"Segment **{filters.segment.label}**: the figures below are for its customers only (the last run's "
            "coverage, in the line above, counts every customer)."
        )


def page_header(title: str, subtitle: str) -> None:
    st.title(title)
    st.caption(subtitle)


def table(data: pd.DataFrame, **options: Any) -> None:
    """`st.dataframe` with missing values shown as a dash (Streamlit draws them as the word "None")."""
    st.dataframe(data, placeholder=fmt.DASH, **options)


def empty_state(message: str) -> None:
    st.info(message, icon=":material/info:")


def completeness_note(completeness: Any, what: str, start: date, end: date) -> date | None:
    """Say which customers a portfolio series counts, and return where it is complete for all of them.

    `completeness` is `queries.history.history_completeness`: a customer counts on a day only once its history of
    the dataset is complete (its first run's reach, or its return after a lapse longer than Microsoft keeps
    data). Returns the day from which every customer counts, if that falls inside the range.
    """
    customers = int(completeness["customers"] or 0)
    partial = int(completeness["complete_part_of_range"] or 0)
    if customers == 0:
        return None
    if partial == 0:
        st.caption(f"Complete {what} history for all {customers:,} customers over the whole range.")
        return None
    whole = int(completeness["complete_whole_range"] or 0)
    from_day = completeness["complete_for_all_from"]
    gaps = int(completeness["with_gaps"] or 0)
    later = customers - whole - partial
    why = (
        f" ({gaps:,} came back after a lapse longer than Microsoft keeps {what}s)"
        if gaps
        else " (their first run reached back less far)"
    )
    after = f"; {later:,} more start after it and count on none of its days" if later else ""
    st.caption(
        f"Counts each customer from the day its {what} history is complete: {whole:,} of {customers:,} "
        f"customers are complete over the whole range, {partial:,} only from a later day{why}{after}; from "
        f"{from_day:%d %b %Y} every {'other ' if later else ''}customer counts (dashed line)."
    )
    return from_day


def customer_completeness_note(completeness: Any, what: str) -> date | None:
    """Say from which day one customer's series is complete, if that falls inside the range; return that day.

    `completeness` is `queries.history.history_completeness` for the one customer.
    """
    if int(completeness["complete_part_of_range"] or 0) == 0:
        return None
    from_day = completeness["complete_for_all_from"]
    why = (
        "it came back after a lapse longer than Microsoft keeps them"
        if int(completeness["with_gaps"] or 0)
        else "its first extraction reached back to then"
    )
    st.caption(
        f"This customer's {what} history is complete from {from_day:%d %b %Y} ({why}); days before it are "
        "left out (dashed line)."
    )
    return from_day
