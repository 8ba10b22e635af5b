-- The new-incident rules' conditions (int_posture_rules_scoped): open, not redirected incidents of the rule's
-- severities, one row per rule, customer and incident; only one created within the rule's hours may start an
-- event (`is_raisable`), and an event lasts while its incident is open.
with

scoped as (

    select * from {{ ref('int_posture_rules_scoped') }}

),

incidents as (

    select * from {{ ref('fct_incidents') }}

),

conditions as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        incidents.incident_id as subject_id,
        incidents.severity || ' incident: ' || coalesce(incidents.display_name, incidents.incident_id) as subject_label,
        null::numeric as observed_value,
        incidents.created_at >= scoped.evaluated_at - scoped.threshold * interval '1 hour' as is_raisable
    from scoped
    inner join incidents on scoped.tenant_id = incidents.tenant_id
    where
        scoped.rule_type = 'new_incident'
        and incidents.is_open
        and not incidents.is_redirected
        and incidents.severity = any(scoped.alert_severities)

),

final as (

    select
        conditions.*,
        scoped.rule_type,
        scoped.severity,
        scoped.threshold,
        scoped.evaluated_at
    from conditions
    inner join scoped
        on conditions.rule_id = scoped.rule_id and conditions.tenant_id = scoped.tenant_id

)

select * from final
