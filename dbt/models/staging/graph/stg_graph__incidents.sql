-- One row per landed version of a security incident, flattened once.
with

source as (

    select * from {{ source('graph', 'incidents') }}

),

final as (

    select
        source.entity_id as incident_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        record."displayName" as display_name,
        record.severity,
        record.status,
        record.classification,
        record.determination,
        record."assignedTo" as assigned_to,
        record."redirectIncidentId" as redirect_incident_id,
        record."priorityScore" as priority_score,
        coalesce(record."customTags", '{}') as custom_tags,
        record."createdDateTime" as created_at,
        record."lastUpdateDateTime" as last_updated_at,
        record."incidentWebUrl" as incident_web_url,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_to_record(source.payload) as record (
        "displayName" text,
        severity text,
        status text,
        classification text,
        determination text,
        "assignedTo" text,
        "redirectIncidentId" text,
        "priorityScore" integer,
        "customTags" text[],
        "createdDateTime" timestamptz,
        "lastUpdateDateTime" timestamptz,
        "incidentWebUrl" text
    )

)

select * from final
