-- Every customer ever discovered, with the access its landed GDAP relationships (their latest versions) and
-- DAP contract grant (or `direct` for a direct tenant), and whether the pipeline extracts it. Both rules are the
-- warehouse's own functions (migrations 0006, 0008): ops.classify_tenant_access is what discovery classified the
-- run's snapshot with, and ops.is_extractable what the shard planner and coverage read — defined once, read here.
with

customers as (

    select * from {{ ref('stg_ops__customers') }}

),

relationships as (

    select * from {{ ref('stg_graph__gdap_relationships') }}

),

latest_relationships as (

    -- Graph lists every relationship each run; the version landed last is what it listed last.
    select distinct on (tenant_id, relationship_id)
        tenant_id,
        status,
        end_at,
        last_modified_at,
        role_definition_ids
    from relationships
    order by tenant_id asc, relationship_id asc, extracted_at desc, last_modified_at desc nulls last, version_id asc

),

relationships_by_tenant as (

    select
        tenant_id,
        jsonb_agg(
            jsonb_build_object(
                'status', status,
                'end_at', end_at,
                'last_modified_at', last_modified_at,
                'role_ids', to_jsonb(role_definition_ids)
            )
        ) as relationships
    from latest_relationships
    group by tenant_id

),

final as (

    select
        customers.tenant_id,
        customers.source,
        customers.direct_display_name,
        classified.access_state,
        classified.gdap_status,
        classified.gdap_end_at,
        classified.has_security_roles,
        customers.has_dap_contract,
        customers.is_excluded,
        customers.is_outside_pilot,
        customers.is_departed,
        ops.is_extractable(
            classified.access_state, customers.is_excluded, customers.is_departed, customers.is_outside_pilot
        ) as is_extractable,
        customers.departed_at,
        customers.first_seen_at,
        customers.last_seen_at
    from customers
    left join relationships_by_tenant on customers.tenant_id = relationships_by_tenant.tenant_id
    cross join lateral ops.classify_tenant_access(
        coalesce(relationships_by_tenant.relationships, '[]'::jsonb), customers.has_dap_contract, customers.source
    ) as classified

)

select * from final
