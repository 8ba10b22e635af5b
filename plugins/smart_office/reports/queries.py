"""The customer report's queries: each reads the marts only, through the dashboard's read-only reader.

The portfolio's median is the dashboard's own query (`portfolio_trend`), so the report and the dashboard draw the
same line; so are the customer list and the customer's score trend (`smart_office.dashboard.queries.customer`),
whose marts this module names from there. Rules live in the marts: what is open (`is_open`), what is an opportunity and an accepted risk
(`rpt_opportunities`), when a control is implemented (`fct_control_scores.is_implemented`), who is in a segment
(the bridge `dim_customer_segments`, as the dashboard's segment filter reads it).
"""

from __future__ import annotations

from datetime import date

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Segment
from smart_office.dashboard.queries.customer import (
    ALERTS,
    CONTROL_SCORES,
    CONTROLS,
    CUSTOMERS,
    INCIDENTS,
    OPPORTUNITIES,
    customer_options,
)
from smart_office.dashboard.queries.marts import Reader
from smart_office.dashboard.queries.portfolio import portfolio_trend
from smart_office.dashboard.queries.segments import SEGMENTS

SEVERITY_ORDER = ("high", "medium", "low", "informational")


def find_customer(reader: Reader, customer: str) -> pd.Series | None:
    """The customer by tenant id or default domain (case-insensitive); None when the marts do not know it."""
    wanted = customer.strip().lower()
    customers = customer_options(reader)
    found = customers[
        (customers["tenant_id"] == wanted) | (customers["default_domain"].str.lower() == wanted)
    ].sort_values(["is_departed", "tenant_id"], kind="stable")
    return None if found.empty else found.iloc[0]


def current_customers(reader: Reader) -> pd.DataFrame:
    """Every current (not departed) customer, by name: whom a scheduled run reports on."""
    customers = customer_options(reader)  # current ones first, by name
    current = customers[~customers["is_departed"].astype(bool)]
    return current[["tenant_id", "company_name", "default_domain"]].reset_index(drop=True)


def segment_trend(
    reader: Reader, tenant_id: str, key: str, start: date, end: date
) -> tuple[str | None, pd.DataFrame]:
    """The customer's segment for `key` (`seat_band=11-50`) and, per day, the median Secure Score of the current
    customers in it, by the portfolio median's rule (`portfolio_trend`: complete history only); no segment (None)
    when the customer has no value for `key` or no current peer shares it."""
    found = reader.frame(
        sql.SQL(
            """
            select
                mine.segment,
                mine.segment_value,
                count(peers.tenant_id) as peers
            from {segments} as mine
            left join {segments} as peers
                on
                    peers.segment_key = mine.segment_key
                    and peers.segment_value = mine.segment_value
                    and peers.tenant_id <> mine.tenant_id
                    and peers.tenant_id in (select tenant_id from {customers} where not is_departed)
            where mine.tenant_id = %(tenant)s::uuid and mine.segment_key = %(key)s
            group by mine.segment, mine.segment_value
            """
        ).format(segments=SEGMENTS, customers=CUSTOMERS),
        {"tenant": tenant_id, "key": key},
    )
    if found.empty or int(found.iloc[0]["peers"]) == 0:
        return None, pd.DataFrame(columns=["score_date", "customers", "median"])
    # The dashboard's own query, filtered as its segment filter does: the report and the dashboard draw one line.
    segment = Segment(key, str(found.iloc[0]["segment_value"]))
    trend = portfolio_trend(reader, start, end, segment)
    return str(found.iloc[0]["segment"]), trend[["score_date", "customers", "median"]]


def control_changes(reader: Reader, tenant_id: str, start: date, end: date) -> pd.DataFrame:
    """Controls implemented on the period's last scored day and not on its first (gained), or the reverse (lost).

    Only controls scored and applicable on both days count: a control Microsoft added or retired in between is
    neither gained nor lost.
    """
    return reader.frame(
        sql.SQL(
            """
            with

            days as (
                select min(score_date) as first_day, max(score_date) as last_day
                from {control_scores}
                where tenant_id = %(tenant)s::uuid and score_date between %(start)s and %(end)s
            ),

            first_day as (
                select scores.control_id, scores.is_implemented, scores.score
                from {control_scores} as scores
                inner join days on scores.score_date = days.first_day
                where scores.tenant_id = %(tenant)s::uuid and scores.is_applicable
            ),

            last_day as (
                select scores.control_id, scores.is_implemented, scores.score, scores.max_score
                from {control_scores} as scores
                inner join days on scores.score_date = days.last_day
                where scores.tenant_id = %(tenant)s::uuid and scores.is_applicable
            )

            select
                last_day.control_id,
                coalesce(controls.title, last_day.control_id) as title,
                controls.control_category as category,
                last_day.is_implemented as is_gained,
                last_day.score - first_day.score as points_change,
                last_day.max_score
            from first_day
            inner join last_day on first_day.control_id = last_day.control_id
            left join {controls} as controls on last_day.control_id = controls.control_id
            where first_day.is_implemented is distinct from last_day.is_implemented
            order by is_gained desc, abs(last_day.score - first_day.score) desc, title
            """
        ).format(control_scores=CONTROL_SCORES, controls=CONTROLS),
        {"tenant": tenant_id, "start": start, "end": end},
    )


def top_opportunities(reader: Reader, tenant_id: str, limit: int = 10) -> pd.DataFrame:
    """The customer's open opportunities (accepted risks left out), most points first."""
    return reader.frame(
        sql.SQL(
            """
            select
                control_title,
                control_category,
                score_gain_points,
                score_gain_pct,
                user_impact,
                implementation_cost,
                score_date
            from {opportunities}
            where tenant_id = %(tenant)s::uuid and not is_risk_accepted
            order by score_gain_points desc, control_rank asc nulls last, control_title asc
            limit %(limit)s
            """
        ).format(opportunities=OPPORTUNITIES),
        {"tenant": tenant_id, "limit": limit},
    )


def opportunity_totals(reader: Reader, tenant_id: str) -> pd.Series:
    """How many open opportunities the customer has, and the points they would add together."""
    return reader.frame(
        sql.SQL(
            """
            select count(*) as opportunities, coalesce(sum(score_gain_points), 0) as points
            from {opportunities}
            where tenant_id = %(tenant)s::uuid and not is_risk_accepted
            """
        ).format(opportunities=OPPORTUNITIES),
        {"tenant": tenant_id},
    ).iloc[0]


_SEVERITY_RANK = sql.SQL("coalesce(array_position({order}, severity), 99)").format(
    order=sql.Literal(list(SEVERITY_ORDER))
)


def _severity_summary(
    reader: Reader, table: sql.Composable, tenant_id: str, start: date, end: date, condition: sql.Composable
) -> pd.DataFrame:
    """Per severity, then all together (severity null): what `table` has created in the period and that meets
    `condition`, how many are resolved and how fast (median hours), how many are still open."""
    return reader.frame(
        sql.SQL(
            """
            select
                severity,
                count(*) as created,
                count(*) filter (where hours_to_resolve is not null) as resolved,
                percentile_cont(0.5) within group (order by hours_to_resolve) as median_hours_to_resolve,
                count(*) filter (where is_open) as still_open
            from {table}
            where tenant_id = %(tenant)s::uuid and created_date between %(start)s and %(end)s and {condition}
            group by rollup (severity)
            order by severity is null, {rank}, severity
            """
        ).format(table=table, condition=condition, rank=_SEVERITY_RANK),
        {"tenant": tenant_id, "start": start, "end": end},
    )


def alert_summary(reader: Reader, tenant_id: str, start: date, end: date) -> pd.DataFrame:
    """The alerts created in the period, per severity and all together (`_severity_summary`)."""
    return _severity_summary(reader, ALERTS, tenant_id, start, end, sql.SQL("true"))


def incident_summary(reader: Reader, tenant_id: str, start: date, end: date) -> pd.DataFrame:
    """The same for incidents (merged ones left out, as fct_incidents.is_redirected says)."""
    return _severity_summary(reader, INCIDENTS, tenant_id, start, end, sql.SQL("not is_redirected"))
