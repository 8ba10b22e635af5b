"""The alerts page's queries: volume, sources, the open backlog, time to resolve and the true-positive rate."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Filters
from smart_office.dashboard.queries.history import complete_on
from smart_office.dashboard.queries.marts import Reader, mart
from smart_office.dashboard.queries.segments import in_segment

ALERTS = mart("fct_alerts")
ALERT_VOLUME = mart("fct_alert_volume_daily")
TECHNIQUES = mart("dim_mitre_techniques")


BACKLOG_AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("< 1 day", 1),
    ("1-7 days", 7),
    ("7-30 days", 30),
    ("30-90 days", 90),
    ("> 90 days", 1_000_000),
)
# An open alert whose creation time Microsoft sent unreadable (staging made it null, fct_data_issues says why).
AGE_UNKNOWN = "age unknown"


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
    if filters.segment:
        parts.append(in_segment(filters.segment, sql.SQL("tenant_id")))
    return sql.SQL("").join(sql.SQL(" and ") + part for part in parts), params


def alert_source_options(reader: Reader) -> dict[str, str | None]:
    """Service sources seen so far and their product names (service_source_name; None where the mart has none),
    from the volume mart, which carries every combination to its last day."""
    found = reader.frame(
        sql.SQL(
            """
            select service_source, max(service_source_name) as service_source_name
            from {volume}
            where activity_date = (select max(activity_date) from {volume}) and service_source is not null
            group by service_source
            order by service_source
            """
        ).format(volume=ALERT_VOLUME)
    )
    return {
        str(source): None if pd.isna(name) else str(name)
        for source, name in zip(found["service_source"], found["service_source_name"], strict=True)
    }


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
            alerts=ALERTS,
            conditions=conditions,
            complete=complete_on("alerts_v2", "alerts", "created_date"),
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
            volume=ALERT_VOLUME,
            conditions=conditions,
            complete=complete_on("alerts_v2", "volume", "activity_date"),
        ),
        {**params, "start": start, "end": end, "step": step},
    )


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
                count(*) filter (where is_open) as open
            from {alerts}
            where created_date between %(start)s and %(end)s{conditions}
            group by grouping sets ((service_source), (category))
            order by dimension, alerts desc, value
            """
        ).format(alerts=ALERTS, conditions=conditions),
        {**params, "start": start, "end": end},
    )
    return found.groupby("dimension", group_keys=False).head(limit).reset_index(drop=True)


def mitre_techniques(
    reader: Reader, filters: Filters, start: date, end: date, limit: int = 15
) -> pd.DataFrame:
    """MITRE ATT&CK techniques of the alerts created in the range, most frequent first, with ATT&CK's name
    (technique_name; null for an id dim_mitre_techniques does not list)."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            with counted as (
                select technique, count(*) as alerts
                from {alerts} cross join lateral unnest(mitre_techniques) as technique
                where created_date between %(start)s and %(end)s{conditions}
                group by technique
                order by alerts desc, technique
                limit %(limit)s
            )
            select counted.technique, techniques.technique_name, counted.alerts
            from counted
            left join {techniques} as techniques on counted.technique = techniques.technique_id
            order by counted.alerts desc, counted.technique
            """
        ).format(alerts=ALERTS, techniques=TECHNIQUES, conditions=conditions),
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
                where is_open{conditions}
            )
            select severity, case {band} end as band, count(*) as alerts
            from open_alerts
            group by 1, 2
            order by 2, 1
            """
        ).format(alerts=ALERTS, conditions=conditions, band=band),
        {**params, "as_of": as_of},
    )
    found["age_band"] = [
        AGE_UNKNOWN if pd.isna(index) else BACKLOG_AGE_BANDS[int(index)][0] for index in found["band"]
    ]
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
            where is_open{conditions}
            """
        ).format(alerts=ALERTS, conditions=conditions),
        {**params, "as_of": as_of},
    ).iloc[0]


def resolution_stats(reader: Reader, filters: Filters, start: date, end: date) -> pd.DataFrame:
    """For alerts resolved in the range, per severity and overall (severity 'all'): time to resolve
    (median, p90), the classification mix, and the true-positive rate among classified alerts
    (fct_alerts.is_true_positive)."""
    conditions, params = _alert_conditions(filters)
    return reader.frame(
        sql.SQL(
            """
            with resolved as (
                select severity, hours_to_resolve, classification, is_true_positive
                from {alerts}
                where resolved_date between %(start)s and %(end)s and status = 'resolved'{conditions}
            )
            select
                coalesce(severity, 'all') as severity,
                grouping(severity) = 1 as is_total,
                count(*) as resolved,
                percentile_cont(0.5) within group (order by hours_to_resolve) as median_hours,
                percentile_cont(0.9) within group (order by hours_to_resolve) as p90_hours,
                count(*) filter (where is_true_positive) as true_positive,
                count(*) filter (where classification = 'falsePositive') as false_positive,
                count(*) filter (where classification = 'informationalExpectedActivity') as benign,
                count(is_true_positive) as classified,
                avg(is_true_positive::integer)::double precision as true_positive_rate
            from resolved
            group by grouping sets ((severity), ())
            order by is_total, severity
            """
        ).format(alerts=ALERTS, conditions=conditions),
        {**params, "start": start, "end": end},
    )
