-- The Secure Score control catalogue: one row per control, attributes from its newest profile anywhere in
-- the portfolio (Microsoft publishes the same catalogue to every tenant; only states differ) — preferring a
-- profile staging read without an issue, so one tenant's odd record does not redefine a control for all.
with

profiles as (

    select * from {{ ref('int_control_profiles_deduplicated') }}

),

final as (

    select distinct on (control_id)
        control_id,
        title,
        control_category,
        service,
        tier,
        user_impact,
        implementation_cost,
        action_type,
        action_url,
        threats,
        max_score,
        rank,
        is_deprecated,
        remediation,
        remediation_impact,
        last_modified_at
    from profiles
    order by control_id asc, coalesce(cardinality(data_issues), 0) > 0 asc, extracted_at desc, tenant_id asc

)

select * from final
