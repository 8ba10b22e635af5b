{%- set fields = [
    json_field('title', 'title', 'text'),
    json_field('controlCategory', 'control_category', 'text', max_length=100),
    json_field('service', 'service', 'text', max_length=100),
    json_field('tier', 'tier', 'text', max_length=100),
    json_field('userImpact', 'user_impact', 'text', max_length=100),
    json_field('implementationCost', 'implementation_cost', 'text', max_length=100),
    json_field('actionType', 'action_type', 'text', max_length=100),
    json_field('actionUrl', 'action_url', 'text'),
    json_field('maxScore', 'max_score', 'number', minimum=0),
    json_field('rank', 'rank', 'integer', minimum=0),
    json_field('deprecated', 'deprecated', 'boolean'),
    json_field('threats', 'threats', 'text_array', required=true),
    json_field('remediation', 'remediation', 'text'),
    json_field('remediationImpact', 'remediation_impact', 'text'),
    json_field('lastModifiedDateTime', 'last_modified_at', 'timestamp'),
    json_field('controlStateUpdates', 'state_updates', 'array', required=true),
] -%}
{%- set update_path = "'controlStateUpdates[' || (element.position - 1) || ']'" -%}
{%- set update_fields = [
    json_field('state', 'state', 'text', max_length=100),
    json_field('updatedDateTime', 'updated_at', 'timestamp'),
    json_field('updatedBy', 'updated_by', 'text'),
] -%}

with

source as (

    select * from {{ source('graph', 'secure_score_control_profiles') }}

),

flattened as (

    select
        source.entity_id as control_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.*,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

),

final as (

    select
        flattened.control_id,
        flattened.tenant_id,
        flattened.version_id,
        flattened.title,
        flattened.control_category,
        flattened.service,
        flattened.tier,
        flattened.user_impact,
        flattened.implementation_cost,
        flattened.action_type,
        flattened.action_url,
        flattened.max_score,
        flattened.rank,
        coalesce(flattened.deprecated, false) as is_deprecated,
        coalesce(flattened.threats, '{}') as threats,
        flattened.remediation,
        flattened.remediation_impact,
        flattened.last_modified_at,
        coalesce(flattened.state_updates, '[]'::jsonb) as state_updates,
        states.control_state,
        states.control_state_updated_at,
        states.control_state_updated_by,
        flattened.data_issues || coalesce(states.data_issues, '{}') as data_issues,
        flattened.data_issue_values || coalesce(states.data_issue_values, '{}') as data_issue_values,
        flattened.extracted_at,
        flattened.run_id
    from flattened
    -- The latest state update (Graph sends Default/Ignored/ThirdParty/Reviewed; the case is normalised, unknown
    -- values kept), and what was wrong in any of them.
    left join lateral (  -- noqa: ST05
        select
            (array_agg(lower(parsed.state) order by parsed.updated_at desc nulls last, parsed.position desc))[1]
                as control_state,
            (array_agg(parsed.updated_at order by parsed.updated_at desc nulls last, parsed.position desc))[1]
                as control_state_updated_at,
            (array_agg(parsed.updated_by order by parsed.updated_at desc nulls last, parsed.position desc))[1]
                as control_state_updated_by,
            coalesce(
                array_agg(issue.code order by parsed.position, issue.ordinal) filter (where issue.code is not null), '{}'
            ) as data_issues,
            coalesce(
                array_agg(issue.observed order by parsed.position, issue.ordinal) filter (where issue.code is not null), '{}'
            ) as data_issue_values
        from (
            select
                element.position,
                {{ json_element_columns('element.value', update_fields, update_path) }}
            from jsonb_array_elements(coalesce(flattened.state_updates, '[]'::jsonb)) with ordinality as element (value, position)
            cross join lateral {{ json_element_record('element.value', update_fields, update_path) }}
        ) as parsed
        left join lateral unnest(parsed.data_issues, parsed.data_issue_values) with ordinality as issue (code, observed, ordinal) on true
    ) as states on true

)

select * from final
