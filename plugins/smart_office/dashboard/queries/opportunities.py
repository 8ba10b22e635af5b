"""The opportunities page's queries: unimplemented controls by customers and points, and the offers as CSV."""

from __future__ import annotations

from typing import Any

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Segment
from smart_office.dashboard.queries.marts import Reader, mart
from smart_office.dashboard.queries.segments import in_segment

CONTROLS = mart("dim_controls")
CONTROL_ADOPTION = mart("fct_control_adoption")
OPPORTUNITIES = mart("rpt_opportunities")


def _tenant_condition(
    tenant_id: str | None, segment: Segment | None = None
) -> tuple[sql.Composable, dict[str, Any]]:
    condition = sql.SQL(" and {}").format(in_segment(segment, sql.SQL("opportunities.tenant_id")))
    if not tenant_id:
        return condition, {}
    return condition + sql.SQL(" and opportunities.tenant_id = %(tenant)s::uuid"), {"tenant": tenant_id}


def opportunities_by_control(
    reader: Reader, tenant_id: str | None = None, segment: Segment | None = None, limit: int = 200
) -> pd.DataFrame:
    """Controls left unimplemented (risk not accepted), by how many customers and how many points."""
    condition, params = _tenant_condition(tenant_id, segment)
    return reader.frame(
        sql.SQL(
            """
            select
                opportunities.control_id,
                controls.title,
                controls.control_category as category,
                controls.tier,
                controls.user_impact,
                controls.implementation_cost,
                controls.rank,
                count(*) as customers,
                sum(opportunities.score_gain_points) as points,
                avg(opportunities.score_gain_pct) as avg_gain_pct,
                adoption.customers_applicable,
                adoption.adoption_rate
            from {opportunities} as opportunities
            inner join {controls} as controls on opportunities.control_id = controls.control_id
            left join {adoption} as adoption on opportunities.control_id = adoption.control_id
            where not opportunities.is_risk_accepted{condition}
            group by
                opportunities.control_id, controls.title, controls.control_category, controls.tier,
                controls.user_impact, controls.implementation_cost, controls.rank,
                adoption.customers_applicable, adoption.adoption_rate
            order by customers desc, points desc, controls.rank asc nulls last, controls.title
            limit %(limit)s
            """
        ).format(
            opportunities=OPPORTUNITIES,
            controls=CONTROLS,
            adoption=CONTROL_ADOPTION,
            condition=condition,
        ),
        {**params, "limit": limit},
    )


def opportunity_totals(
    reader: Reader, tenant_id: str | None = None, segment: Segment | None = None
) -> pd.Series:
    """Open opportunities (control x customer pairs, risk not accepted): how many, over how many controls and
    customers, the points they would add; and the pairs left out as risk accepted, and over how many controls."""
    condition, params = _tenant_condition(tenant_id, segment)
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) filter (where not is_risk_accepted) as opportunities,
                count(distinct control_id) filter (where not is_risk_accepted) as controls,
                count(distinct tenant_id) filter (where not is_risk_accepted) as customers,
                coalesce(sum(score_gain_points) filter (where not is_risk_accepted), 0)::double precision as points,
                count(*) filter (where is_risk_accepted) as risk_accepted,
                count(distinct control_id) filter (where is_risk_accepted) as risk_accepted_controls
            from {opportunities} as opportunities
            where true{condition}
            """
        ).format(opportunities=OPPORTUNITIES, condition=condition),
        params,
    ).iloc[0]


def opportunity_customers(
    reader: Reader, control_id: str, tenant_id: str | None = None, segment: Segment | None = None
) -> pd.DataFrame:
    """The customers that have not implemented one control, biggest gain first."""
    condition, params = _tenant_condition(tenant_id, segment)
    return reader.frame(
        sql.SQL(
            """
            select
                opportunities.company_name,
                opportunities.tenant_id::text as tenant_id,
                opportunities.score_gain_points,
                opportunities.score_gain_pct,
                opportunities.current_points,
                opportunities.max_score,
                opportunities.control_state,
                opportunities.action_url
            from {opportunities} as opportunities
            where opportunities.control_id = %(control)s and not opportunities.is_risk_accepted{condition}
            order by opportunities.score_gain_points desc, opportunities.company_name
            """
        ).format(opportunities=OPPORTUNITIES, condition=condition),
        {**params, "control": control_id},
    )


def opportunities_csv(reader: Reader, tenant_id: str | None = None, segment: Segment | None = None) -> bytes:
    """Every open opportunity (control x customer) as CSV, for account managers' offers."""
    condition, params = _tenant_condition(tenant_id, segment)
    return reader.copy_csv(
        sql.SQL(
            """
            select
                opportunities.control_title,
                opportunities.control_id,
                opportunities.control_category,
                opportunities.tier,
                opportunities.user_impact,
                opportunities.implementation_cost,
                opportunities.company_name,
                opportunities.tenant_id,
                round(opportunities.score_gain_points::numeric, 2) as score_gain_points,
                round(opportunities.score_gain_pct::numeric, 2) as score_gain_pct,
                opportunities.control_state,
                opportunities.action_url,
                opportunities.score_date
            from {opportunities} as opportunities
            where not opportunities.is_risk_accepted{condition}
            order by opportunities.control_title, opportunities.score_gain_points desc, opportunities.company_name
            """
        ).format(opportunities=OPPORTUNITIES, condition=condition),
        params,
    )
