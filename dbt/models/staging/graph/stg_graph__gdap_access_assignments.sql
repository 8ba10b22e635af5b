{%- set fields = [
    json_field('status', 'status', 'text', max_length=100),
    json_field('createdDateTime', 'created_at', 'timestamp'),
    json_field('lastModifiedDateTime', 'last_modified_at', 'timestamp'),
    json_field('accessContainer', 'access_container', 'object'),
    json_field('accessContainer.accessContainerId', 'access_container_id', 'text', max_length=100, value="record.\"accessContainer\" -> 'accessContainerId'"),
    json_field('accessContainer.accessContainerType', 'access_container_type', 'text', max_length=100, value="record.\"accessContainer\" -> 'accessContainerType'"),
    json_field('accessDetails', 'access_details', 'object'),
    json_field('accessDetails.unifiedRoles', 'unified_roles', 'array', value="record.\"accessDetails\" -> 'unifiedRoles'"),
] -%}

with

source as (

    select * from {{ source('graph', 'gdap_access_assignments') }}

),

final as (

    select
        source.entity_id as assignment_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.status,
        typed.created_at,
        typed.last_modified_at,
        typed.access_container_id,
        typed.access_container_type,
        array(
            select {{ json_text("role_item -> 'roleDefinitionId'", max_length=100) }}
            from jsonb_array_elements(coalesce(typed.unified_roles, '[]'::jsonb)) as role_item
            where jsonb_typeof(role_item -> 'roleDefinitionId') = 'string'
        ) as role_definition_ids,
        typed.data_issues,
        typed.data_issue_values,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

)

select * from final
