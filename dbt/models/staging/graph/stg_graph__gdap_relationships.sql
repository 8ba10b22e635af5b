{%- set fields = [
    json_field('@odata.type', 'odata_type', 'text', max_length=200),
    json_field('displayName', 'display_name', 'text'),
    json_field('status', 'status', 'text', max_length=100),
    json_field('duration', 'duration', 'text', max_length=100),
    json_field('autoExtendDuration', 'auto_extend_duration', 'text', max_length=100),
    json_field('createdDateTime', 'created_at', 'timestamp'),
    json_field('activatedDateTime', 'activated_at', 'timestamp'),
    json_field('endDateTime', 'end_at', 'timestamp'),
    json_field('lastModifiedDateTime', 'last_modified_at', 'timestamp'),
    json_field('accessDetails', 'access_details', 'object'),
    json_field('accessDetails.unifiedRoles', 'unified_roles', 'array', value="record.\"accessDetails\" -> 'unifiedRoles'"),
] -%}

with

source as (

    select * from {{ source('graph', 'gdap_relationships') }}

),

final as (

    select
        source.entity_id as relationship_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.odata_type,
        typed.display_name,
        typed.status,
        typed.duration,
        typed.auto_extend_duration,
        coalesce(typed.auto_extend_duration not in ('PT0S', 'P0D'), false) as is_auto_extended,
        typed.created_at,
        typed.activated_at,
        typed.end_at,
        typed.last_modified_at,
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
