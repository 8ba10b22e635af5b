-- The posture alert rules in force: what the DAG wrote from the rules file before this build (ops.posture_rules,
-- smart_office/events/rules.py validates them). Thresholds stay data: models compare against these columns.
with

source as (

    select * from {{ source('ops', 'posture_rules') }}

),

final as (

    select
        rule_id,
        rule_type,
        severity,
        threshold,
        window_days,
        alert_severities,
        tenant_ids,
        segments,
        excluded_tenant_ids,
        loaded_at
    from source

)

select * from final
