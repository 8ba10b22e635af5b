{{
    config(
        indexes=[
            {'columns': ['tenant_id', 'activity_date']},
            {'columns': ['activity_date']},
        ],
    )
}}

-- Tenant x day x severity x service source: alerts created, alerts resolved, and the open backlog at the
-- end of the day. Days without activity still carry the backlog, so trends never dip to zero falsely.
with

alerts as (

    select * from {{ ref('fct_alerts') }}

),

bounds as (

    select
        tenant_id,
        severity,
        service_source,
        min(created_date) as first_date
    from alerts
    group by tenant_id, severity, service_source

),

as_of as (

    select ({{ as_of_timestamp() }} at time zone 'utc')::date as last_date

),

spine as (

    select
        bounds.tenant_id,
        bounds.severity,
        bounds.service_source,
        series.day::date as activity_date
    from bounds
    cross join as_of
    cross join lateral generate_series(bounds.first_date, as_of.last_date, interval '1 day') as series (day)

),

created as (

    select
        tenant_id,
        severity,
        service_source,
        created_date as activity_date,
        count(*) as alerts_created
    from alerts
    group by tenant_id, severity, service_source, created_date

),

resolved as (

    select
        tenant_id,
        severity,
        service_source,
        resolved_date as activity_date,
        count(*) as alerts_resolved
    from alerts
    where resolved_date is not null
    group by tenant_id, severity, service_source, resolved_date

),

daily as (

    select
        spine.tenant_id,
        spine.severity,
        spine.service_source,
        spine.activity_date,
        coalesce(created.alerts_created, 0) as alerts_created,
        coalesce(resolved.alerts_resolved, 0) as alerts_resolved
    from spine
    left join created
        on
            spine.tenant_id = created.tenant_id
            and spine.severity = created.severity
            and spine.service_source = created.service_source
            and spine.activity_date = created.activity_date
    left join resolved
        on
            spine.tenant_id = resolved.tenant_id
            and spine.severity = resolved.severity
            and spine.service_source = resolved.service_source
            and spine.activity_date = resolved.activity_date

),

final as (

    select
        {{ surrogate_key(['tenant_id', 'activity_date', 'severity', 'service_source']) }} as alert_volume_id,
        tenant_id,
        activity_date,
        severity,
        service_source,
        alerts_created,
        alerts_resolved,
        sum(alerts_created - alerts_resolved) over (
            partition by tenant_id, severity, service_source
            order by activity_date
            rows between unbounded preceding and current row
        ) as open_backlog
    from daily

)

select * from final
