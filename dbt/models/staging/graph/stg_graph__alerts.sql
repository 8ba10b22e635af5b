-- One row per landed version of an alerts_v2 alert, flattened once (one jsonb_to_record per row: every
-- `payload ->> 'x'` would decompress the whole document again).
with

source as (

    select * from {{ source('graph', 'alerts_v2') }}

),

final as (

    select
        source.entity_id as alert_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        record."providerAlertId" as provider_alert_id,
        record."incidentId" as incident_id,
        record.title,
        -- Enum members stay as sent: Graph adds members over time (unknownFutureValue and beyond).
        record.severity,
        record.status,
        record.classification,
        record.determination,
        record."serviceSource" as service_source,
        record."detectionSource" as detection_source,
        record."productName" as product_name,
        record.category,
        coalesce(record."mitreTechniques", '{}') as mitre_techniques,
        record."assignedTo" as assigned_to,
        record."createdDateTime" as created_at,
        record."lastUpdateDateTime" as last_updated_at,
        record."resolvedDateTime" as resolved_at,
        record."firstActivityDateTime" as first_activity_at,
        record."lastActivityDateTime" as last_activity_at,
        jsonb_array_length(coalesce(source.payload -> 'evidence', '[]'::jsonb)) as evidence_count,
        record."alertWebUrl" as alert_web_url,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_to_record(source.payload) as record (
        "providerAlertId" text,
        "incidentId" text,
        title text,
        severity text,
        status text,
        classification text,
        determination text,
        "serviceSource" text,
        "detectionSource" text,
        "productName" text,
        category text,
        "mitreTechniques" text[],
        "assignedTo" text,
        "createdDateTime" timestamptz,
        "lastUpdateDateTime" timestamptz,
        "resolvedDateTime" timestamptz,
        "firstActivityDateTime" timestamptz,
        "lastActivityDateTime" timestamptz,
        "alertWebUrl" text
    )

)

select * from final
