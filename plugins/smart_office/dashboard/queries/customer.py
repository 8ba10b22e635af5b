"""The customer page's queries (and the customer picker every filtered page shows)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from psycopg import sql

from smart_office.dashboard.queries.marts import Reader, mart

ALERTS = mart("fct_alerts")
CONTROLS = mart("dim_controls")
CONTROL_SCORES = mart("fct_control_scores")
CUSTOMERS = mart("dim_customers")
CUSTOMER_CONTROL_ADOPTION = mart("fct_customer_control_adoption")
FRESHNESS = mart("fct_tenant_freshness")
INCIDENTS = mart("fct_incidents")
OPPORTUNITIES = mart("rpt_opportunities")
POSTURE = mart("rpt_customer_posture")
SECURE_SCORES = mart("fct_secure_scores")


def customer_options(reader: Reader) -> pd.DataFrame:
    """Every customer for the picker: current ones first, by name."""
    return reader.frame(
        sql.SQL(
            """
            select tenant_id::text as tenant_id, company_name, default_domain, is_departed
            from {customers}
            order by is_departed, company_name, tenant_id
            """
        ).format(customers=CUSTOMERS)
    )


def customer_profile(reader: Reader, tenant_id: str) -> pd.Series | None:
    """One customer's posture row with access details and control adoption; None if unknown."""
    found = reader.frame(
        sql.SQL(
            """
            select
                posture.tenant_id::text as tenant_id,
                posture.company_name,
                posture.default_domain,
                posture.access_state,
                posture.is_departed,
                posture.latest_score_date,
                posture.current_score,
                posture.max_score,
                posture.secure_score_pct,
                posture.score_change_7d_pct,
                posture.score_change_30d_pct,
                posture.score_change_90d_pct,
                posture.portfolio_rank,
                posture.portfolio_size,
                posture.comparative_all_tenants_pct,
                posture.comparative_similar_size_pct,
                posture.gap_to_all_tenants_pct,
                posture.gap_to_similar_size_pct,
                posture.open_high_severity_alerts,
                posture.open_alerts,
                posture.median_hours_to_resolve_90d,
                posture.points_available,
                posture.last_loaded_at,
                customers.is_extractable,
                customers.access_remedy,
                customers.gdap_status,
                customers.gdap_end_at,
                customers.last_token_state,
                adoption.controls_applicable,
                adoption.controls_implemented,
                adoption.implemented_share,
                (
                    select count(*) from {incidents} as incidents
                    where incidents.tenant_id = posture.tenant_id and incidents.is_open and not incidents.is_redirected
                ) as open_incidents
            from {posture} as posture
            inner join {customers} as customers on posture.tenant_id = customers.tenant_id
            left join {adoption} as adoption on posture.tenant_id = adoption.tenant_id
            where posture.tenant_id = %(tenant)s::uuid
            """
        ).format(
            posture=POSTURE,
            customers=CUSTOMERS,
            adoption=CUSTOMER_CONTROL_ADOPTION,
            incidents=INCIDENTS,
        ),
        {"tenant": tenant_id},
    )
    return None if found.empty else found.iloc[0]


def customer_freshness(reader: Reader, tenant_id: str) -> pd.DataFrame:
    return reader.frame(
        sql.SQL(
            """
            select
                dataset, last_loaded_at, last_attempted_at, last_outcome, last_state, hours_behind_latest_run, is_stale
            from {freshness}
            where tenant_id = %(tenant)s::uuid
            order by dataset
            """
        ).format(freshness=FRESHNESS),
        {"tenant": tenant_id},
    )


def customer_score_trend(reader: Reader, tenant_id: str, start: date, end: date) -> pd.DataFrame:
    """The customer's daily Secure Score (points and %) and Microsoft's comparatives for it; the customer report's
    trend too."""
    return reader.frame(
        sql.SQL(
            """
            select
                score_date,
                current_score,
                max_score,
                secure_score_pct,
                comparative_all_tenants_pct,
                comparative_similar_size_pct,
                comparative_industry_pct
            from {scores}
            where tenant_id = %(tenant)s::uuid and score_date between %(start)s and %(end)s
            order by score_date
            """
        ).format(scores=SECURE_SCORES),
        {"tenant": tenant_id, "start": start, "end": end},
    )


_LATEST_DAY = sql.SQL("(select latest_score_date from {posture} where tenant_id = %(tenant)s::uuid)")


def customer_categories(reader: Reader, tenant_id: str) -> pd.DataFrame:
    """Points achieved and possible per control category on the customer's latest day."""
    return reader.frame(
        sql.SQL(
            """
            select
                controls.control_category as category,
                count(*) as controls,
                count(*) filter (where scores.is_implemented) as implemented,
                sum(scores.score) as achieved,
                sum(scores.max_score) as possible,
                sum(scores.points_gap) as gap,
                100 * sum(scores.score) / nullif(sum(scores.max_score), 0) as score_pct
            from {control_scores} as scores
            inner join {controls} as controls on scores.control_id = controls.control_id
            where
                scores.tenant_id = %(tenant)s::uuid
                and scores.score_date = {latest_day}
                and scores.is_applicable
                and not controls.is_deprecated
            group by controls.control_category
            order by possible desc, category
            """
        ).format(
            control_scores=CONTROL_SCORES,
            controls=CONTROLS,
            latest_day=_LATEST_DAY.format(posture=POSTURE),
        ),
        {"tenant": tenant_id},
    )


def customer_controls(reader: Reader, tenant_id: str) -> pd.DataFrame:
    """The customer's applicable controls on its latest day, biggest points gap first."""
    return reader.frame(
        sql.SQL(
            """
            select
                controls.title,
                scores.control_id,
                controls.control_category as category,
                scores.points_gap,
                scores.score,
                scores.max_score,
                scores.score_impact_pct,
                scores.is_implemented,
                scores.control_state,
                controls.user_impact,
                controls.implementation_cost,
                controls.tier,
                coalesce(opportunities.action_url, controls.action_url) as action_url
            from {control_scores} as scores
            inner join {controls} as controls on scores.control_id = controls.control_id
            left join {opportunities} as opportunities
                on scores.tenant_id = opportunities.tenant_id and scores.control_id = opportunities.control_id
            where
                scores.tenant_id = %(tenant)s::uuid
                and scores.score_date = {latest_day}
                and scores.is_applicable
                and not controls.is_deprecated
            order by scores.points_gap desc, controls.rank asc nulls last, controls.title asc
            """
        ).format(
            control_scores=CONTROL_SCORES,
            controls=CONTROLS,
            opportunities=OPPORTUNITIES,
            latest_day=_LATEST_DAY.format(posture=POSTURE),
        ),
        {"tenant": tenant_id},
    )


def open_alerts(
    reader: Reader, tenant_id: str, severities: list[str], as_of: datetime, limit: int = 100
) -> pd.DataFrame:
    """The customer's open alerts of the given severities, oldest first."""
    return reader.frame(
        sql.SQL(
            """
            select
                title,
                severity,
                status,
                service_source,
                category,
                created_at,
                (extract(epoch from %(as_of)s::timestamptz - created_at) / 86400.0)::double precision as age_days,
                assigned_to,
                alert_web_url
            from {alerts}
            where tenant_id = %(tenant)s::uuid and is_open and severity = any(%(severities)s)
            order by created_at asc
            limit %(limit)s
            """
        ).format(alerts=ALERTS),
        {"tenant": tenant_id, "severities": severities, "as_of": as_of, "limit": limit},
    )
