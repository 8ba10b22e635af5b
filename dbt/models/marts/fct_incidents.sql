-- One row per incident at its latest version, with its alerts counted.
with

incidents as (

    select * from {{ ref('int_incidents_deduplicated') }}

),

alerts as (

    select * from {{ ref('fct_alerts') }}

),

alert_counts as (

    select
        tenant_id,
        incident_id,
        count(*) as alert_count,
        count(*) filter (where is_open) as open_alert_count
    from alerts
    where incident_id is not null
    group by tenant_id, incident_id

),

final as (

    select
        {{ surrogate_key(['incidents.tenant_id', 'incidents.incident_id']) }} as incident_key,
        incidents.incident_id,
        incidents.tenant_id,
        incidents.display_name,
        incidents.severity,
        incidents.status,
        incidents.status in ('active', 'inProgress', 'awaitingAction') as is_open,
        incidents.status = 'redirected' as is_redirected,
        incidents.redirect_incident_id,
        incidents.classification,
        incidents.determination,
        incidents.assigned_to,
        incidents.priority_score,
        incidents.custom_tags,
        incidents.created_at,
        (incidents.created_at at time zone 'utc')::date as created_date,
        incidents.last_updated_at,
        case
            when incidents.status = 'resolved'
                then (extract(epoch from incidents.last_updated_at - incidents.created_at) / 3600.0)::double precision
        end as hours_to_resolve,
        coalesce(alert_counts.alert_count, 0) as alert_count,
        coalesce(alert_counts.open_alert_count, 0) as open_alert_count,
        incidents.incident_web_url
    from incidents
    left join alert_counts
        on
            incidents.tenant_id = alert_counts.tenant_id
            and incidents.incident_id = alert_counts.incident_id

)

select * from final
