{{
    config(
        materialized='incremental',
        unique_key='alert_key',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['alert_key'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['tenant_id', 'created_date']},
            {'columns': ['created_date']},
            {'columns': ['status']},
            {'columns': ['is_open']},
            {'columns': ['resolved_date']},
        ],
    )
}}

-- One row per alert at its latest version. Incremental: only alerts with a newly landed version are
-- re-selected, and a late-landing older version never overwrites a newer one.
with

new_versions as (

    select * from {{ ref('stg_graph__alerts') }}
    {{ incremental_window() }}

),

latest as (

    select distinct on (tenant_id, alert_id) *
    from new_versions
    order by tenant_id asc, alert_id asc, last_updated_at desc nulls last, extracted_at desc, version_id asc

),

existing as (

    -- noqa: disable=LT02,LT09,RF04
    select
        alert_key,
        last_updated_at
    {% if is_incremental() -%}
    from {{ this }}
    {%- else -%}
    from (select null::text as alert_key, null::timestamptz as last_updated_at) as nothing
    where false
    {%- endif %}
    -- noqa: enable=all

),

final as (

    select
        {{ surrogate_key(['latest.tenant_id', 'latest.alert_id']) }} as alert_key,
        latest.alert_id,
        latest.tenant_id,
        latest.provider_alert_id,
        latest.incident_id,
        latest.title,
        latest.severity,
        latest.status,
        latest.status in ('new', 'inProgress') as is_open,
        latest.classification,
        -- True or false positive once an analyst classified it (expected activity is a false alarm too); null
        -- while unclassified, so avg(is_true_positive::int) is the true-positive rate among classified alerts.
        case
            when latest.classification = 'truePositive' then true
            when latest.classification in ('falsePositive', 'informationalExpectedActivity') then false
        end as is_true_positive,
        latest.determination,
        latest.service_source,
        latest.detection_source,
        latest.product_name,
        latest.category,
        latest.mitre_techniques,
        latest.assigned_to,
        latest.created_at,
        (latest.created_at at time zone 'utc')::date as created_date,
        latest.resolved_at,
        (latest.resolved_at at time zone 'utc')::date as resolved_date,
        latest.last_updated_at,
        case
            when latest.status = 'resolved' and latest.resolved_at >= latest.created_at
                then (extract(epoch from latest.resolved_at - latest.created_at) / 3600.0)::double precision
        end as hours_to_resolve,
        latest.evidence_count,
        latest.alert_web_url,
        latest.extracted_at
    from latest
    left join existing
        on {{ surrogate_key(['latest.tenant_id', 'latest.alert_id']) }} = existing.alert_key
    -- A late-landing older version never replaces a newer one; one with a valid lastUpdateDateTime replaces
    -- one without.
    where
        existing.alert_key is null
        or existing.last_updated_at is null
        or latest.last_updated_at >= existing.last_updated_at

)

select * from final
