-- One row per landed version of a GDAP relationship between the partner and a customer.
with

source as (

    select * from {{ source('graph', 'gdap_relationships') }}

),

final as (

    select
        source.entity_id as relationship_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        source.payload ->> '@odata.type' as odata_type,
        record."displayName" as display_name,
        record.status,
        record.duration,
        record."autoExtendDuration" as auto_extend_duration,
        coalesce(record."autoExtendDuration" not in ('PT0S', 'P0D'), false) as is_auto_extended,
        record."createdDateTime" as created_at,
        record."activatedDateTime" as activated_at,
        record."endDateTime" as end_at,
        record."lastModifiedDateTime" as last_modified_at,
        array(
            select role_item ->> 'roleDefinitionId'
            from jsonb_array_elements(coalesce(source.payload #> '{accessDetails,unifiedRoles}', '[]'::jsonb)) as role_item
        ) as role_definition_ids,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_to_record(source.payload) as record (
        "displayName" text,
        status text,
        duration text,
        "autoExtendDuration" text,
        "createdDateTime" timestamptz,
        "activatedDateTime" timestamptz,
        "endDateTime" timestamptz,
        "lastModifiedDateTime" timestamptz
    )

)

select * from final
