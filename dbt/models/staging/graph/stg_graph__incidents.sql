{#- Enum members stay as sent (Graph adds members over time); bounded only so an index can hold them. -#}
{%- set fields = [
    json_field('displayName', 'display_name', 'text'),
    json_field('severity', 'severity', 'text', required=true, max_length=100),
    json_field('status', 'status', 'text', required=true, max_length=100),
    json_field('classification', 'classification', 'text', max_length=100),
    json_field('determination', 'determination', 'text', max_length=100),
    json_field('assignedTo', 'assigned_to', 'text'),
    json_field('redirectIncidentId', 'redirect_incident_id', 'text'),
    json_field('priorityScore', 'priority_score', 'integer', minimum=0, maximum=100),
    json_field('customTags', 'custom_tags', 'text_array', required=true),
    json_field('createdDateTime', 'created_at', 'timestamp', required=true),
    json_field('lastUpdateDateTime', 'last_updated_at', 'timestamp', required=true),
    json_field('incidentWebUrl', 'incident_web_url', 'text'),
] -%}

with

source as (

    select * from {{ source('graph', 'incidents') }}

),

final as (

    select
        source.entity_id as incident_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.display_name,
        typed.severity,
        typed.status,
        typed.classification,
        typed.determination,
        typed.assigned_to,
        typed.redirect_incident_id,
        typed.priority_score,
        coalesce(typed.custom_tags, '{}') as custom_tags,
        typed.created_at,
        typed.last_updated_at,
        typed.incident_web_url,
        typed.data_issues,
        typed.data_issue_values,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

)

select * from final
