-- Each posture rule (stg_ops__posture_rules) with each current customer it applies to — listed, or in one of its
-- segments (int_customer_segments_assigned; every customer when neither is given), and not excluded — with the
-- customer facts the access rule reads, and the point in time every rule is evaluated at (the latest run's).
with

rules as (

    select * from {{ ref('stg_ops__posture_rules') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

segments as (

    select * from {{ ref('int_customer_segments_assigned') }}

),

evaluation as (

    select {{ as_of_timestamp() }} as evaluated_at

),

final as (

    select
        rules.rule_id,
        rules.rule_type,
        rules.severity,
        rules.threshold,
        rules.window_days,
        rules.alert_severities,
        customers.tenant_id,
        customers.access_state,
        customers.last_token_state,
        evaluation.evaluated_at
    from rules
    cross join evaluation
    inner join customers
        on
            not customers.is_departed
            and not customers.is_excluded
            and not customers.tenant_id = any(rules.excluded_tenant_ids)
            and (
                (rules.tenant_ids is null and rules.segments is null)
                or customers.tenant_id = any(coalesce(rules.tenant_ids, '{}'))
                or exists (
                    select 1 from segments
                    where segments.tenant_id = customers.tenant_id and segments.segment = any(rules.segments)
                )
            )
    where evaluation.evaluated_at is not null

)

select * from final
