{#- Enum members stay as sent (Graph adds members over time); bounded only so an index can hold them. -#}
{%- set fields = [
    json_field('providerAlertId', 'provider_alert_id', 'text'),
    json_field('incidentId', 'incident_id', 'text'),
    json_field('title', 'title', 'text'),
    json_field('severity', 'severity', 'text', required=true, max_length=100),
    json_field('status', 'status', 'text', required=true, max_length=100),
    json_field('classification', 'classification', 'text', max_length=100),
    json_field('determination', 'determination', 'text', max_length=100),
    json_field('serviceSource', 'service_source', 'text', required=true, max_length=100),
    json_field('detectionSource', 'detection_source', 'text', max_length=100),
    json_field('productName', 'product_name', 'text', max_length=100),
    json_field('category', 'category', 'text', max_length=100),
    json_field('mitreTechniques', 'mitre_techniques', 'text_array', required=true, max_length=100),
    json_field('assignedTo', 'assigned_to', 'text'),
    json_field('createdDateTime', 'created_at', 'timestamp', required=true),
    json_field('lastUpdateDateTime', 'last_updated_at', 'timestamp', required=true),
    json_field('resolvedDateTime', 'resolved_at', 'timestamp'),
    json_field('firstActivityDateTime', 'first_activity_at', 'timestamp'),
    json_field('lastActivityDateTime', 'last_activity_at', 'timestamp'),
    json_field('evidence', 'evidence', 'array', required=true),
    json_field('alertWebUrl', 'alert_web_url', 'text'),
] -%}

with

source as (

    select * from {{ source('graph', 'alerts_v2') }}

),

final as (

    select
        source.entity_id as alert_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.provider_alert_id,
        typed.incident_id,
        typed.title,
        typed.severity,
        typed.status,
        typed.classification,
        typed.determination,
        typed.service_source,
        typed.detection_source,
        typed.product_name,
        typed.category,
        coalesce(typed.mitre_techniques, '{}') as mitre_techniques,
        typed.assigned_to,
        typed.created_at,
        typed.last_updated_at,
        typed.resolved_at,
        typed.first_activity_at,
        typed.last_activity_at,
        coalesce(jsonb_array_length(typed.evidence), 0) as evidence_count,
        typed.alert_web_url,
        typed.data_issues,
        typed.data_issue_values,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

)

select * from final
