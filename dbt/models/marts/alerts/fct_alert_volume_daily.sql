{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['tenant_id', 'activity_date'],
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['alert_volume_id'], 'unique': true},
            {'columns': ['tenant_id', 'activity_date']},
            {'columns': ['activity_date']},
            {'columns': ['extracted_at']},
        ],
    )
}}

-- Tenant x day x severity x service source: alerts created, alerts resolved, and the open backlog at the
-- end of the day. Days without activity still carry the backlog, so trends never dip to zero falsely.
--
-- Incremental: the backlog of a day depends on every alert open then, so a changed alert changes every
-- later day of its tenant. A build recomputes, per tenant, only the days from the earliest date a newly
-- landed alert version can have touched (its creation; Graph never moves createdDateTime and resolves
-- after creation, so an alert's older versions counted nothing earlier) plus the days since the last
-- build; all of a tenant's rows on those days are replaced (delete+insert on tenant x day), so a group an
-- alert left (its severity changed) is rewritten too. The backlog carried into the first recomputed day
-- is counted from fct_alerts, not read from the previous build.
with

service_sources as (

    select
        service_source,
        service_source_name
    from {{ ref('service_sources') }}

),

alerts as (

    select
        tenant_id,
        severity,
        service_source,
        created_date,
        resolved_date,
        -- When the alert leaves the backlog: resolution, but no earlier than creation, so the backlog is
        -- never negative (greatest() ignores nulls, hence the case: unresolved alerts never close).
        case when resolved_date is not null then greatest(resolved_date, created_date) end as closed_date,
        extracted_at
    from {{ ref('fct_alerts') }}

),

as_of as (

    select ({{ as_of_timestamp() }} at time zone 'utc')::date as last_date

),

touched as (

    -- least() ignores nulls: an unresolved alert touches its creation day onwards.
    select
        tenant_id,
        least(created_date, resolved_date) as from_date
    from alerts
    {{ incremental_window() }}

    {% if is_incremental() -%}
    -- noqa: disable=LT02
    union all

    -- Every tenant gains the days since the last build, with its backlog carried into them.
    select distinct
        tenant_id,
        (select max(built.activity_date) from {{ this }} as built) + 1 as from_date
    from alerts
    -- noqa: enable=LT02
    {%- endif %}

),

recompute as (

    select
        tenant_id,
        min(from_date) as from_date
    from touched
    group by tenant_id

),

groups as (

    select
        alerts.tenant_id,
        alerts.severity,
        alerts.service_source,
        recompute.from_date,
        min(alerts.created_date) as first_date,
        count(*) filter (where alerts.created_date < recompute.from_date) as created_before,
        count(*) filter (where alerts.closed_date < recompute.from_date) as closed_before
    from alerts
    inner join recompute on alerts.tenant_id = recompute.tenant_id
    group by alerts.tenant_id, alerts.severity, alerts.service_source, recompute.from_date

),

spine as (

    select
        groups.tenant_id,
        groups.severity,
        groups.service_source,
        series.day::date as activity_date,
        groups.created_before - groups.closed_before as carried_backlog
    from groups
    cross join as_of
    cross join lateral generate_series(
        greatest(groups.first_date, groups.from_date), as_of.last_date, interval '1 day'
    ) as series (day)

),

recent_alerts as (

    select
        alerts.tenant_id,
        alerts.severity,
        alerts.service_source,
        alerts.created_date,
        alerts.resolved_date,
        alerts.closed_date
    from alerts
    inner join recompute on alerts.tenant_id = recompute.tenant_id
    where
        alerts.created_date >= recompute.from_date
        or alerts.resolved_date >= recompute.from_date

),

events as (

    -- One stream of spine days and dated events, summed per day: one aggregation instead of three joins.
    select
        tenant_id,
        severity,
        service_source,
        activity_date,
        carried_backlog,
        true as on_spine,
        0 as created,
        0 as resolved,
        0 as closed
    from spine

    union all

    select
        tenant_id,
        severity,
        service_source,
        created_date as activity_date,
        null as carried_backlog,
        false as on_spine,
        1 as created,
        0 as resolved,
        0 as closed
    from recent_alerts

    union all

    select
        tenant_id,
        severity,
        service_source,
        resolved_date as activity_date,
        null as carried_backlog,
        false as on_spine,
        0 as created,
        1 as resolved,
        0 as closed
    from recent_alerts
    where resolved_date is not null

    union all

    select
        tenant_id,
        severity,
        service_source,
        closed_date as activity_date,
        null as carried_backlog,
        false as on_spine,
        0 as created,
        0 as resolved,
        1 as closed
    from recent_alerts
    where closed_date is not null

),

daily as (

    select
        tenant_id,
        severity,
        service_source,
        activity_date,
        max(carried_backlog) as carried_backlog,
        sum(created) as alerts_created,
        sum(resolved) as alerts_resolved,
        sum(closed) as alerts_closed
    from events
    group by tenant_id, severity, service_source, activity_date
    -- Events outside the spine (before the recomputed days, after the last run) are not rows.
    having bool_or(on_spine)

),

final as (

    select
        {{ surrogate_key(['daily.tenant_id', 'daily.activity_date', 'daily.severity', 'daily.service_source']) }}
            as alert_volume_id,
        daily.tenant_id,
        daily.activity_date,
        daily.severity,
        daily.service_source,
        service_sources.service_source_name,
        daily.alerts_created,
        daily.alerts_resolved,
        daily.carried_backlog + sum(daily.alerts_created - daily.alerts_closed) over (
            partition by daily.tenant_id, daily.severity, daily.service_source
            order by daily.activity_date
            rows between unbounded preceding and current row
        ) as open_backlog,
        (select max(newest.extracted_at) from alerts as newest) as extracted_at
    from daily
    left join service_sources on daily.service_source = service_sources.service_source

)

select * from final
