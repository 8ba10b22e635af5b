-- Every customer ever discovered, with the access its landed GDAP relationships (their latest versions, with the
-- access assignments their latest complete read listed) and DAP contract grant, whether the pipeline extracts it,
-- and what to do when it cannot. The rules are the warehouse's own functions (migrations 0006, 0007):
-- ops.classify_customer_access is what discovery classified the run's snapshot with, ops.is_extractable what the
-- shard planner and coverage read, ops.access_remedy what the run summary prints — defined once, read here.
with

customers as (

    select * from {{ ref('stg_ops__customers') }}

),

relationships as (

    select * from {{ ref('stg_graph__gdap_relationships') }}

),

assignments as (

    select * from {{ ref('stg_graph__gdap_access_assignments') }}

),

assignment_reads as (

    select * from {{ ref('stg_ops__gdap_access_assignment_reads') }}

),

latest_assignments as (

    select distinct on (tenant_id, assignment_id)
        tenant_id,
        assignment_id,
        status,
        access_container_type,
        role_definition_ids
    from assignments
    order by tenant_id asc, assignment_id asc, extracted_at desc, last_modified_at desc nulls last, version_id asc

),

assignments_by_relationship as (

    -- What each relationship's latest complete read listed; a relationship never read completely has no row,
    -- so its assignments stay unknown (the rule never takes unknown for unassigned).
    select
        assignment_reads.tenant_id,
        assignment_reads.relationship_id,
        coalesce(
            jsonb_agg(
                jsonb_build_object(
                    'status', latest_assignments.status,
                    'container_type', latest_assignments.access_container_type,
                    'role_ids', to_jsonb(latest_assignments.role_definition_ids)
                )
            ) filter (where latest_assignments.assignment_id is not null),
            '[]'::jsonb
        ) as assignments
    from assignment_reads
    left join latest_assignments
        on
            assignment_reads.tenant_id = latest_assignments.tenant_id
            and latest_assignments.assignment_id = any(assignment_reads.assignment_ids)
    group by assignment_reads.tenant_id, assignment_reads.relationship_id

),

latest_relationships as (

    -- Graph lists every relationship each run; the version landed last is what it listed last.
    select distinct on (tenant_id, relationship_id)
        tenant_id,
        relationship_id,
        status,
        end_at,
        last_modified_at,
        role_definition_ids
    from relationships
    order by tenant_id asc, relationship_id asc, extracted_at desc, last_modified_at desc nulls last, version_id asc

),

relationships_by_tenant as (

    select
        latest_relationships.tenant_id,
        jsonb_agg(
            jsonb_build_object(
                'status', latest_relationships.status,
                'end_at', latest_relationships.end_at,
                'last_modified_at', latest_relationships.last_modified_at,
                'role_ids', to_jsonb(latest_relationships.role_definition_ids)
            )
            -- `assignments` only where they were read: absent means unknown.
            || coalesce(
                jsonb_build_object('assignments', assignments_by_relationship.assignments), '{}'::jsonb
            )
        ) as relationships
    from latest_relationships
    left join assignments_by_relationship
        on
            latest_relationships.tenant_id = assignments_by_relationship.tenant_id
            and latest_relationships.relationship_id = assignments_by_relationship.relationship_id
    group by latest_relationships.tenant_id

),

final as (

    select
        customers.tenant_id,
        classified.access_state,
        classified.gdap_status,
        classified.gdap_end_at,
        classified.has_security_roles,
        customers.has_dap_contract,
        customers.is_excluded,
        customers.is_departed,
        ops.is_extractable(classified.access_state, customers.is_excluded, customers.is_departed) as is_extractable,
        ops.access_remedy(classified.access_state) as access_remedy,
        customers.departed_at,
        customers.first_seen_at,
        customers.last_seen_at
    from customers
    left join relationships_by_tenant on customers.tenant_id = relationships_by_tenant.tenant_id
    cross join lateral ops.classify_customer_access(
        coalesce(relationships_by_tenant.relationships, '[]'::jsonb), customers.has_dap_contract
    ) as classified

)

select * from final
