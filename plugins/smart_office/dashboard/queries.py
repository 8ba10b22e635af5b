"""Every query the dashboard runs, against schema `marts` only, composed with psycopg.sql.

Queries aggregate in PostgreSQL and return a few hundred rows at most: the fact tables are never pulled into
pandas. Date filters hit the marts' indexes (`fct_secure_scores (score_date)`, `fct_alerts (created_date)`,
`(tenant_id, created_date)`, `(resolved_date)`, `fct_alert_volume_daily (activity_date)`, …). These
functions know nothing of Streamlit, so the static export and the benchmark run them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Filters

# A tenant whose dataset was loaded longer ago than this before the latest run was not loaded by that run
# (runs take minutes to an hour, and are daily); it is shown as behind.
STALE_AFTER_HOURS = 12.0
# Access states the pipeline extracts; the others are partner to-dos, shown in coverage, not as stale data.
EXTRACTABLE_ACCESS = ("gdap", "dap")
BACKLOG_AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("< 1 day", 1),
    ("1-7 days", 7),
    ("7-30 days", 30),
    ("30-90 days", 90),
    ("> 90 days", 1_000_000),
)


class Reader(Protocol):
    def frame(self, query: sql.Composable, params: dict[str, Any] | None = None) -> pd.DataFrame: ...

    def copy_csv(self, query: sql.Composable, params: dict[str, Any] | None = None) -> bytes: ...


def _t(name: str) -> sql.Identifier:
    return sql.Identifier("marts", name)


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    as_of: datetime | None
    started_at: datetime | None
    status: str
    attempted: int
    loaded: int


@dataclass(frozen=True, slots=True)
class WarehouseStatus:
    """What the marts hold at all: whether they exist, the latest runs, and how recent the data is."""

    has_marts: bool
    customers: int = 0
    customers_scored: int = 0
    latest_score_date: date | None = None
    first_score_date: date | None = None
    latest_run: RunInfo | None = None
    last_finished_run: RunInfo | None = None

    @property
    def has_data(self) -> bool:
        return self.latest_score_date is not None

    @property
    def as_of(self) -> datetime | None:
        """The warehouse's "now": the latest run's point in time (not the database clock)."""
        run = self.latest_run
        return (run.as_of or run.started_at) if run else None

    @property
    def coverage_run(self) -> RunInfo | None:
        """The run whose coverage to show: the last finished one, else the one in progress."""
        return self.last_finished_run or self.latest_run


def warehouse_status(reader: Reader) -> WarehouseStatus:
    exists = reader.frame(sql.SQL("select to_regclass('marts.rpt_customer_posture') is not null as ok"))
    # The marts exist once dbt has built them; before that everything else would fail.
    if not bool(exists.iloc[0]["ok"]) or not _has_all_marts(reader):
        return WarehouseStatus(has_marts=False)
    counts = reader.frame(
        sql.SQL(
            """
            select
                (select count(*) from {posture} where not is_departed) as customers,
                (select count(*) from {posture} where not is_departed and secure_score_pct is not null)
                    as customers_scored,
                (select max(score_date) from {scores}) as latest_score_date,
                (select min(score_date) from {scores}) as first_score_date
            """
        ).format(posture=_t("rpt_customer_posture"), scores=_t("fct_secure_scores"))
    ).iloc[0]
    runs = reader.frame(
        sql.SQL(
            """
            select
                run_id,
                run_as_of,
                run_started_at,
                run_status,
                coalesce(max(customers_attempted), 0)::bigint as attempted,
                coalesce(max(customers_loaded), 0)::bigint as loaded
            from {coverage}
            group by run_id, run_as_of, run_started_at, run_status
            order by run_started_at desc, run_id desc
            limit 10
            """
        ).format(coverage=_t("fct_ingestion_coverage"))
    )
    infos = [
        RunInfo(
            run_id=row.run_id,
            as_of=_ts(row.run_as_of),
            started_at=_ts(row.run_started_at),
            status=row.run_status,
            attempted=int(row.attempted),
            loaded=int(row.loaded),
        )
        for row in runs.itertuples()
    ]
    finished = [run for run in infos if run.status != "running"]
    return WarehouseStatus(
        has_marts=True,
        customers=int(counts["customers"]),
        customers_scored=int(counts["customers_scored"]),
        latest_score_date=_day(counts["latest_score_date"]),
        first_score_date=_day(counts["first_score_date"]),
        latest_run=infos[0] if infos else None,
        last_finished_run=finished[0] if finished else None,
    )


_REQUIRED_MARTS = (
    "dim_customers",
    "dim_controls",
    "fct_secure_scores",
    "fct_control_scores",
    "fct_control_adoption",
    "fct_alerts",
    "fct_alert_volume_daily",
    "fct_incidents",
    "fct_ingestion_coverage",
    "fct_tenant_freshness",
    "fct_tenant_history",
    "fct_data_issues",
    "rpt_customer_posture",
    "rpt_opportunities",
)


def _has_all_marts(reader: Reader) -> bool:
    found = reader.frame(
        sql.SQL(
            "select count(*) as n from unnest({names}::text[]) as name "
            "where to_regclass('marts.' || quote_ident(name)) is not null"
        ).format(names=sql.Literal(list(_REQUIRED_MARTS)))
    )
    return int(found.iloc[0]["n"]) == len(_REQUIRED_MARTS)


# ---------------------------------------------------------------------------------------------- portfolio


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
        ).format(coverage=_t("fct_ingestion_coverage")),
        {"run_id": run_id},
    )


def freshness_summary(reader: Reader) -> pd.DataFrame:
    """Per dataset, among customers the pipeline should load: up to date, behind, never loaded."""
    return reader.frame(
        sql.SQL(
            """
            select
                freshness.dataset,
                count(*) as customers,
                count(*) filter (where freshness.hours_behind_latest_run <= %(stale)s) as up_to_date,
                count(*) filter (where freshness.hours_behind_latest_run > %(stale)s) as behind,
                count(*) filter (where freshness.last_loaded_at is null) as never_loaded,
                max(freshness.hours_behind_latest_run) as max_hours_behind,
                max(freshness.last_loaded_at) as last_loaded_at
            from {freshness} as freshness
            inner join {customers} as customers on freshness.tenant_id = customers.tenant_id
            where customers.access_state = any(%(extractable)s) and not customers.is_excluded
            group by freshness.dataset
            order by freshness.dataset
            """
        ).format(freshness=_t("fct_tenant_freshness"), customers=_t("dim_customers")),
        {"stale": STALE_AFTER_HOURS, "extractable": list(EXTRACTABLE_ACCESS)},
    )


def stale_customers(reader: Reader, limit: int = 200) -> pd.DataFrame:
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
            where
                customers.access_state = any(%(extractable)s)
                and not customers.is_excluded
                and (freshness.last_loaded_at is null or freshness.hours_behind_latest_run > %(stale)s)
            order by freshness.hours_behind_latest_run desc nulls first, customers.company_name, freshness.dataset
            limit %(limit)s
            """
        ).format(freshness=_t("fct_tenant_freshness"), customers=_t("dim_customers")),
        {"stale": STALE_AFTER_HOURS, "extractable": list(EXTRACTABLE_ACCESS), "limit": limit},
    )


def portfolio_kpis(reader: Reader) -> pd.Series:
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
            where not is_departed
            """
        ).format(posture=_t("rpt_customer_posture"))
    ).iloc[0]


def score_distribution(reader: Reader, bucket: int = 5) -> pd.DataFrame:
    """Current customers by latest Secure Score %, in buckets of `bucket` points (0-5, 5-10, …)."""
    return reader.frame(
        sql.SQL(
            """
            select
                least(floor(secure_score_pct / %(bucket)s) * %(bucket)s, 100 - %(bucket)s)::int as bucket_start,
                count(*) as customers
            from {posture}
            where not is_departed and secure_score_pct is not null
            group by 1
            order by 1
            """
        ).format(posture=_t("rpt_customer_posture")),
        {"bucket": bucket},
    )


def portfolio_trend(reader: Reader, start: date, end: date) -> pd.DataFrame:
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
            group by scores.score_date
            order by scores.score_date
            """
        ).format(
            scores=_t("fct_secure_scores"),
            customers=_t("dim_customers"),
            complete=_complete_on("secure_scores", "scores", "score_date"),
        ),
        {"start": start, "end": end},
    )


def ranked_customers(reader: Reader) -> pd.DataFrame:
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
            where not posture.is_departed and posture.secure_score_pct is not null
            order by posture.secure_score_pct asc, posture.company_name asc
            """
        ).format(posture=_t("rpt_customer_posture"), freshness=_t("fct_tenant_freshness"))
    )


def unscored_customers(reader: Reader) -> pd.DataFrame:
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
            where not posture.is_departed and posture.secure_score_pct is null
            order by posture.company_name
            """
        ).format(posture=_t("rpt_customer_posture"), freshness=_t("fct_tenant_freshness"))
    )


def data_issues_by_customer(reader: Reader, limit: int = 200) -> pd.DataFrame:
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
            group by issues.tenant_id, customers.company_name
            order by count(*) desc, company_name
            limit %(limit)s
            """
        ).format(issues=_t("fct_data_issues"), customers=_t("dim_customers")),
        {"limit": limit},
    )


# ----------------------------------------------------------------------------------------------- customer


def customer_options(reader: Reader) -> pd.DataFrame:
    """Every customer for the picker: current ones first, by name."""
    return reader.frame(
        sql.SQL(
            """
            select tenant_id::text as tenant_id, company_name, default_domain, is_departed
            from {customers}
            order by is_departed, company_name, tenant_id
            """
        ).format(customers=_t("dim_customers"))
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
            posture=_t("rpt_customer_posture"),
            customers=_t("dim_customers"),
            adoption=_t("fct_customer_control_adoption"),
            incidents=_t("fct_incidents"),
        ),
        {"tenant": tenant_id},
    )
    return None if found.empty else found.iloc[0]


def customer_freshness(reader: Reader, tenant_id: str) -> pd.DataFrame:
    return reader.frame(
        sql.SQL(
            """
            select dataset, last_loaded_at, last_attempted_at, last_outcome, last_state, hours_behind_latest_run
            from {freshness}
            where tenant_id = %(tenant)s::uuid
            order by dataset
            """
        ).format(freshness=_t("fct_tenant_freshness")),
        {"tenant": tenant_id},
    )


def customer_score_trend(reader: Reader, tenant_id: str, start: date, end: date) -> pd.DataFrame:
    """The customer's daily Secure Score % and Microsoft's comparatives for it."""
    return reader.frame(
        sql.SQL(
            """
            select score_date, secure_score_pct, comparative_all_tenants_pct, comparative_similar_size_pct
            from {scores}
            where tenant_id = %(tenant)s::uuid and score_date between %(start)s and %(end)s
            order by score_date
            """
        ).format(scores=_t("fct_secure_scores")),
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
            control_scores=_t("fct_control_scores"),
            controls=_t("dim_controls"),
            latest_day=_LATEST_DAY.format(posture=_t("rpt_customer_posture")),
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
            control_scores=_t("fct_control_scores"),
            controls=_t("dim_controls"),
            opportunities=_t("rpt_opportunities"),
            latest_day=_LATEST_DAY.format(posture=_t("rpt_customer_posture")),
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
            where tenant_id = %(tenant)s::uuid and {is_open} and severity = any(%(severities)s)
            order by created_at asc
            limit %(limit)s
            """
        ).format(alerts=_t("fct_alerts"), is_open=_IS_OPEN),
        {"tenant": tenant_id, "severities": severities, "as_of": as_of, "limit": limit},
    )


# -------------------------------------------------------------------------------------------------- alerts

# fct_alerts.is_open is `status in ('new', 'inProgress')`; spelled out so the status index serves it.
_IS_OPEN = sql.SQL("status in ('new', 'inProgress')")


def _alert_conditions(filters: Filters) -> tuple[sql.Composable, dict[str, Any]]:
    parts: list[sql.Composable] = []
    params: dict[str, Any] = {}
    if filters.customer:
        parts.append(sql.SQL("tenant_id = %(tenant)s::uuid"))
        params["tenant"] = filters.customer
    if filters.severities:
        parts.append(sql.SQL("severity = any(%(severities)s)"))
        params["severities"] = list(filters.severities)
    if filters.sources:
        parts.append(sql.SQL("service_source = any(%(sources)s)"))
        params["sources"] = list(filters.sources)
    return sql.SQL("").join(sql.SQL(" and ") + part for part in parts), params


def alert_source_options(reader: Reader) -> list[str]:
    """Service sources seen so far (the volume mart carries every combination to its last day)."""
    found = reader.frame(
        sql.SQL(
            """
            select distinct service_source
            from {volume}
            where activity_date = (select max(activity_date) from {volume}) and service_source is not null
            order by service_source
            """
        ).format(volume=_t("fct_alert_volume_daily"))
    )
    return [str(value) for value in found["service_source"]]


def _complete_on(dataset: str, table: str, day: str) -> sql.Composable:
    """`table.day` falls in the customer's complete history of `dataset` (fct_tenant_history's rule).

    A customer without a history row (data landed before history spans were recorded) counts as complete.
    """
    return sql.SQL(
        "not exists (select 1 from {history} as history where history.tenant_id = {table}.tenant_id "
        "and history.dataset = {dataset} and {table}.{day} < history.complete_from_date)"
    ).format(
        history=_t("fct_tenant_history"),
        table=sql.Identifier(table),
        day=sql.Identifier(day),
        dataset=sql.Literal(dataset),
    )


def history_completeness(
    reader: Reader, dataset: str, start: date, end: date, tenant_id: str | None = None
) -> pd.Series:
    """How many customers' history of `dataset` is complete over the whole range, and from when the others'."""
    condition = sql.SQL(" and tenant_id = %(tenant)s::uuid") if tenant_id else sql.SQL("")
    params: dict[str, Any] = {"tenant": tenant_id} if tenant_id else {}
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) as customers,
                count(*) filter (where complete_from_date <= %(start)s) as complete_whole_range,
                count(*) filter (where complete_from_date > %(start)s and complete_from_date <= %(end)s)
                    as complete_part_of_range,
                max(complete_from_date) filter (where complete_from_date <= %(end)s) as complete_for_all_from,
                count(*) filter (where history_gaps > 0) as with_gaps
            from {history}
            where dataset = %(dataset)s{condition}
            """
        ).format(history=_t("fct_tenant_history"), condition=condition),
        {**params, "dataset": dataset, "start": start, "end": end},
    ).iloc[0]


def alerts_created_daily(reader: Reader, filters: Filters, start: date, end: date) -> pd.DataFrame:
    """Per day and severity: alerts created (from fct_alerts by created_date: only the range's alerts), counting
    a customer only on the days its alert history is complete."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            select created_date as activity_date, severity, count(*) as created
            from {alerts} as alerts
            where created_date between %(start)s and %(end)s{conditions} and {complete}
            group by created_date, severity
            order by created_date, severity
            """
        ).format(
            alerts=_t("fct_alerts"),
            conditions=conditions,
            complete=_complete_on("alerts_v2", "alerts", "created_date"),
        ),
        {**params, "start": start, "end": end},
    )


# Above this many days the backlog trend is sampled weekly: the volume mart has a row per tenant, severity,
# source and day, and a weekly point reads a seventh of them for the same picture.
BACKLOG_DAILY_MAX_DAYS = 45


def alert_backlog_trend(reader: Reader, filters: Filters, start: date, end: date) -> pd.DataFrame:
    """Open alerts at the end of each day (each 7th day, counting back from `end`, for long ranges)."""
    conditions, params = _alert_conditions(filters)
    step = 1 if (end - start).days < BACKLOG_DAILY_MAX_DAYS else 7
    return reader.frame(
        sql.SQL(
            """
            select activity_date, sum(open_backlog)::bigint as backlog
            from {volume} as volume
            where
                activity_date = any(
                    array(select generate_series(%(end)s::date, %(start)s::date, -%(step)s * interval '1 day')::date)
                ){conditions}
                and {complete}
            group by activity_date
            order by activity_date
            """
        ).format(
            volume=_t("fct_alert_volume_daily"),
            conditions=conditions,
            complete=_complete_on("alerts_v2", "volume", "activity_date"),
        ),
        {**params, "start": start, "end": end, "step": step},
    )


_BREAKDOWNS = {"service_source", "category", "detection_source", "product_name"}


def alert_breakdowns(
    reader: Reader, filters: Filters, start: date, end: date, limit: int = 20
) -> pd.DataFrame:
    """Alerts created in the range by service source and by category, in one pass over the range's alerts.

    Columns: dimension ('service_source' or 'category'), value, alerts, high, open; most alerts first.
    """
    conditions, params = _alert_conditions(filters)
    found = reader.frame(
        sql.SQL(
            """
            select
                case when grouping(service_source) = 0 then 'service_source' else 'category' end as dimension,
                coalesce(case when grouping(service_source) = 0 then service_source else category end, 'unknown')
                    as value,
                count(*) as alerts,
                count(*) filter (where severity = 'high') as high,
                count(*) filter (where {is_open}) as open
            from {alerts}
            where created_date between %(start)s and %(end)s{conditions}
            group by grouping sets ((service_source), (category))
            order by dimension, alerts desc, value
            """
        ).format(is_open=_IS_OPEN, alerts=_t("fct_alerts"), conditions=conditions),
        {**params, "start": start, "end": end},
    )
    return found.groupby("dimension", group_keys=False).head(limit).reset_index(drop=True)


def mitre_techniques(
    reader: Reader, filters: Filters, start: date, end: date, limit: int = 15
) -> pd.DataFrame:
    """MITRE ATT&CK techniques of the alerts created in the range, most frequent first."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            select technique, count(*) as alerts
            from {alerts} cross join lateral unnest(mitre_techniques) as technique
            where created_date between %(start)s and %(end)s{conditions}
            group by technique
            order by alerts desc, technique
            limit %(limit)s
            """
        ).format(alerts=_t("fct_alerts"), conditions=conditions),
        {**params, "start": start, "end": end, "limit": limit},
    )


def open_backlog(reader: Reader, filters: Filters, as_of: datetime) -> pd.DataFrame:
    """Open alerts now, by severity and age band (age measured at the latest run, not the wall clock)."""
    conditions, params = _alert_conditions(filters)
    band = sql.SQL(" ").join(
        sql.SQL("when age_days < {limit} then {index}").format(
            limit=sql.Literal(limit), index=sql.Literal(index)
        )
        for index, (_, limit) in enumerate(BACKLOG_AGE_BANDS)
    )
    found = reader.frame(
        sql.SQL(
            """
            with open_alerts as (
                select severity, (extract(epoch from %(as_of)s::timestamptz - created_at) / 86400.0)::double precision as age_days
                from {alerts}
                where {is_open}{conditions}
            )
            select severity, case {band} end as band, count(*) as alerts
            from open_alerts
            group by 1, 2
            order by 2, 1
            """
        ).format(alerts=_t("fct_alerts"), is_open=_IS_OPEN, conditions=conditions, band=band),
        {**params, "as_of": as_of},
    )
    found["age_band"] = [BACKLOG_AGE_BANDS[int(index)][0] for index in found["band"]]
    return found


def backlog_summary(reader: Reader, filters: Filters, as_of: datetime) -> pd.Series:
    """Open alerts now: how many, how many high, median and oldest age in days."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) as open_alerts,
                count(*) filter (where severity = 'high') as open_high,
                percentile_cont(0.5) within group (
                    order by (extract(epoch from %(as_of)s::timestamptz - created_at) / 86400.0)::double precision
                ) as median_age_days,
                max((extract(epoch from %(as_of)s::timestamptz - created_at) / 86400.0)::double precision) as max_age_days
            from {alerts}
            where {is_open}{conditions}
            """
        ).format(alerts=_t("fct_alerts"), is_open=_IS_OPEN, conditions=conditions),
        {**params, "as_of": as_of},
    ).iloc[0]


def resolution_stats(reader: Reader, filters: Filters, start: date, end: date) -> pd.DataFrame:
    """For alerts resolved in the range, per severity and overall (severity 'all'): time to resolve
    (median, p90) and the classification mix, with the true-positive rate among classified alerts."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            with resolved as (
                select severity, hours_to_resolve, classification
                from {alerts}
                where resolved_date between %(start)s and %(end)s and status = 'resolved'{conditions}
            )
            select
                coalesce(severity, 'all') as severity,
                grouping(severity) = 1 as is_total,
                count(*) as resolved,
                percentile_cont(0.5) within group (order by hours_to_resolve) as median_hours,
                percentile_cont(0.9) within group (order by hours_to_resolve) as p90_hours,
                count(*) filter (where classification = 'truePositive') as true_positive,
                count(*) filter (where classification = 'falsePositive') as false_positive,
                count(*) filter (where classification = 'informationalExpectedActivity') as benign,
                count(*) filter (
                    where classification in ('truePositive', 'falsePositive', 'informationalExpectedActivity')
                ) as classified
            from resolved
            group by grouping sets ((severity), ())
            order by is_total, severity
            """
        ).format(alerts=_t("fct_alerts"), conditions=conditions),
        {**params, "start": start, "end": end},
    )


# ------------------------------------------------------------------------------------------ opportunities


def _tenant_condition(tenant_id: str | None) -> tuple[sql.Composable, dict[str, Any]]:
    if not tenant_id:
        return sql.SQL(""), {}
    return sql.SQL(" and opportunities.tenant_id = %(tenant)s::uuid"), {"tenant": tenant_id}


def opportunities_by_control(reader: Reader, tenant_id: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Controls left unimplemented (risk not accepted), by how many customers and how many points."""
    condition, params = _tenant_condition(tenant_id)
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
            opportunities=_t("rpt_opportunities"),
            controls=_t("dim_controls"),
            adoption=_t("fct_control_adoption"),
            condition=condition,
        ),
        {**params, "limit": limit},
    )


def opportunity_totals(reader: Reader, tenant_id: str | None = None) -> pd.Series:
    condition, params = _tenant_condition(tenant_id)
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) filter (where not is_risk_accepted) as opportunities,
                count(distinct control_id) filter (where not is_risk_accepted) as controls,
                count(distinct tenant_id) filter (where not is_risk_accepted) as customers,
                coalesce(sum(score_gain_points) filter (where not is_risk_accepted), 0)::double precision as points,
                count(*) filter (where is_risk_accepted) as risk_accepted
            from {opportunities} as opportunities
            where true{condition}
            """
        ).format(opportunities=_t("rpt_opportunities"), condition=condition),
        params,
    ).iloc[0]


def opportunity_customers(reader: Reader, control_id: str, tenant_id: str | None = None) -> pd.DataFrame:
    """The customers that have not implemented one control, biggest gain first."""
    condition, params = _tenant_condition(tenant_id)
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
        ).format(opportunities=_t("rpt_opportunities"), condition=condition),
        {**params, "control": control_id},
    )


def opportunities_csv(reader: Reader, tenant_id: str | None = None) -> bytes:
    """Every open opportunity (control x customer) as CSV, for account managers' offers."""
    condition, params = _tenant_condition(tenant_id)
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
        ).format(opportunities=_t("rpt_opportunities"), condition=condition),
        params,
    )


# ---------------------------------------------------------------------------------------------- helpers


def _ts(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _day(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return (
        value if isinstance(value, date) and not isinstance(value, datetime) else pd.Timestamp(value).date()
    )
