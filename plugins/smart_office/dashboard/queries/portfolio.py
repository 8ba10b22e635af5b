"""The portfolio page's queries: coverage and freshness of the last run, data issues, and the customers' scores."""

from __future__ import annotations

from datetime import date

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Segment
from smart_office.dashboard.queries.history import complete_on
from smart_office.dashboard.queries.marts import Reader, mart
from smart_office.dashboard.queries.segments import in_segment

COVERAGE = mart("fct_ingestion_coverage")
CUSTOMERS = mart("dim_customers")
DATA_ISSUES = mart("fct_data_issues")
FRESHNESS = mart("fct_tenant_freshness")
POSTURE = mart("rpt_customer_posture")
SECURE_SCORES = mart("fct_secure_scores")


def coverage(reader: Reader, run_id: str) -> pd.DataFrame:
    """Customers by outcome (loaded, failed, not_extractable) and reason for one run."""
    return reader.frame(
        sql.SQL(
            """
            select outcome, reason, customers::bigint as customers
            from {coverage}
            where run_id = %(run_id)s
            order by
                case outcome when 'loaded' then 0 when 'failed' then 1 else 2 end,
                customers desc,
                reason asc
            """
        ).format(coverage=COVERAGE),
        {"run_id": run_id},
    )


def freshness_summary(reader: Reader, segment: Segment | None = None) -> pd.DataFrame:
    """Per dataset, among customers the pipeline should load: up to date, behind, never loaded."""
    return reader.frame(
        sql.SQL(
            """
            select
                dataset,
                count(*) as customers,
                count(*) filter (where not is_stale) as up_to_date,
                count(*) filter (where is_stale and last_loaded_at is not null) as behind,
                count(*) filter (where last_loaded_at is null) as never_loaded,
                max(hours_behind_latest_run) as max_hours_behind,
                max(last_loaded_at) as last_loaded_at
            from {freshness}
            where is_extractable and {in_segment}
            group by dataset
            order by dataset
            """
        ).format(freshness=FRESHNESS, in_segment=in_segment(segment, sql.SQL("tenant_id")))
    )


def stale_customers(reader: Reader, segment: Segment | None = None, limit: int = 200) -> pd.DataFrame:
    """Customers with a dataset behind the latest run or never loaded, most behind first."""
    return reader.frame(
        sql.SQL(
            """
            select
                customers.company_name,
                freshness.tenant_id::text as tenant_id,
                freshness.dataset,
                freshness.last_loaded_at,
                freshness.hours_behind_latest_run,
                freshness.last_outcome,
                freshness.last_state
            from {freshness} as freshness
            inner join {customers} as customers on freshness.tenant_id = customers.tenant_id
            where freshness.is_extractable and freshness.is_stale and {in_segment}
            order by freshness.hours_behind_latest_run desc nulls first, customers.company_name, freshness.dataset
            limit %(limit)s
            """
        ).format(
            freshness=FRESHNESS,
            customers=CUSTOMERS,
            in_segment=in_segment(segment, sql.SQL("freshness.tenant_id")),
        ),
        {"limit": limit},
    )


def portfolio_kpis(reader: Reader, segment: Segment | None = None) -> pd.Series:
    """Headline numbers over current customers, from their latest Secure Score."""
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) as customers,
                count(secure_score_pct) as customers_scored,
                percentile_cont(0.5) within group (order by secure_score_pct) as median_pct,
                percentile_cont(0.5) within group (order by score_change_30d_pct) as median_change_30d,
                count(*) filter (where secure_score_pct < comparative_all_tenants_pct) as below_all_tenants,
                count(*) filter (where secure_score_pct < comparative_similar_size_pct) as below_similar_size,
                count(*) filter (where score_change_30d_pct < 0) as declining_30d,
                coalesce(sum(open_high_severity_alerts), 0)::bigint as open_high_alerts,
                coalesce(sum(points_available), 0)::double precision as points_available
            from {posture}
            where not is_departed and {in_segment}
            """
        ).format(posture=POSTURE, in_segment=in_segment(segment, sql.SQL("tenant_id")))
    ).iloc[0]


def score_distribution(reader: Reader, segment: Segment | None = None, bucket: int = 5) -> pd.DataFrame:
    """Current customers by latest Secure Score %, in buckets of `bucket` points (0-5, 5-10, …)."""
    return reader.frame(
        sql.SQL(
            """
            select
                least(floor(secure_score_pct / %(bucket)s) * %(bucket)s, 100 - %(bucket)s)::int as bucket_start,
                count(*) as customers
            from {posture}
            where not is_departed and secure_score_pct is not null and {in_segment}
            group by 1
            order by 1
            """
        ).format(posture=POSTURE, in_segment=in_segment(segment, sql.SQL("tenant_id"))),
        {"bucket": bucket},
    )


def portfolio_trend(reader: Reader, start: date, end: date, segment: Segment | None = None) -> pd.DataFrame:
    """Per day: customers with a score, and the 10th, 50th and 90th percentile of their Secure Score %."""
    return reader.frame(
        sql.SQL(
            """
            select
                scores.score_date,
                count(*) as customers,
                percentile_cont(0.1) within group (order by scores.secure_score_pct) as p10,
                percentile_cont(0.5) within group (order by scores.secure_score_pct) as median,
                percentile_cont(0.9) within group (order by scores.secure_score_pct) as p90
            from {scores} as scores
            inner join {customers} as customers on scores.tenant_id = customers.tenant_id
            where
                scores.score_date between %(start)s and %(end)s
                and scores.secure_score_pct is not null
                and not customers.is_departed
                and {complete}
                and {in_segment}
            group by scores.score_date
            order by scores.score_date
            """
        ).format(
            scores=SECURE_SCORES,
            customers=CUSTOMERS,
            complete=complete_on("secure_scores", "scores", "score_date"),
            in_segment=in_segment(segment, sql.SQL("scores.tenant_id")),
        ),
        {"start": start, "end": end},
    )


def ranked_customers(reader: Reader, segment: Segment | None = None) -> pd.DataFrame:
    """Current customers with a score, worst first, with their 30-day change and what to look at."""
    return reader.frame(
        sql.SQL(
            """
            select
                posture.tenant_id::text as tenant_id,
                posture.company_name,
                posture.default_domain,
                posture.secure_score_pct,
                posture.score_change_30d_pct,
                posture.comparative_similar_size_pct,
                posture.gap_to_similar_size_pct,
                posture.open_high_severity_alerts,
                posture.open_alerts,
                posture.points_available,
                posture.latest_score_date,
                posture.last_loaded_at,
                freshness.hours_behind_latest_run
            from {posture} as posture
            left join {freshness} as freshness
                on posture.tenant_id = freshness.tenant_id and freshness.dataset = 'secure_scores'
            where not posture.is_departed and posture.secure_score_pct is not null and {in_segment}
            order by posture.secure_score_pct asc, posture.company_name asc
            """
        ).format(
            posture=POSTURE, freshness=FRESHNESS, in_segment=in_segment(segment, sql.SQL("posture.tenant_id"))
        )
    )


def unscored_customers(reader: Reader, segment: Segment | None = None) -> pd.DataFrame:
    """Current customers without any Secure Score, and why (no access, never loaded, failing)."""
    return reader.frame(
        sql.SQL(
            """
            select
                posture.tenant_id::text as tenant_id,
                posture.company_name,
                posture.access_state,
                freshness.last_outcome,
                freshness.last_state,
                freshness.last_attempted_at
            from {posture} as posture
            left join {freshness} as freshness
                on posture.tenant_id = freshness.tenant_id and freshness.dataset = 'secure_scores'
            where not posture.is_departed and posture.secure_score_pct is null and {in_segment}
            order by posture.company_name
            """
        ).format(
            posture=POSTURE, freshness=FRESHNESS, in_segment=in_segment(segment, sql.SQL("posture.tenant_id"))
        )
    )


def data_issues_by_customer(reader: Reader, segment: Segment | None = None, limit: int = 200) -> pd.DataFrame:
    """Customers with records from Microsoft that staging coerced, that break Microsoft's own invariants, or
    that the loader could not land — most issues first."""
    return reader.frame(
        sql.SQL(
            """
            select
                issues.tenant_id::text as tenant_id,
                coalesce(customers.company_name, issues.tenant_id::text, 'unknown tenant') as company_name,
                count(distinct (issues.entity, issues.entity_id, issues.version_id)) as records,
                count(*) filter (where issues.detected_by = 'staging') as coerced,
                count(*) filter (where issues.detected_by = 'consistency_check') as inconsistent,
                count(*) filter (where issues.detected_by = 'loader') as quarantined,
                mode() within group (order by issues.field || ': ' || issues.issue) as most_common,
                max(issues.extracted_at) as last_seen_at
            from {issues} as issues
            left join {customers} as customers on issues.tenant_id = customers.tenant_id
            where {in_segment}
            group by issues.tenant_id, customers.company_name
            order by count(*) desc, company_name
            limit %(limit)s
            """
        ).format(
            issues=DATA_ISSUES,
            customers=CUSTOMERS,
            in_segment=in_segment(segment, sql.SQL("issues.tenant_id")),
        ),
        {"limit": limit},
    )
