{%- set fields = [
    json_field('createdDateTime', 'created_at', 'timestamp', required=true),
    json_field('currentScore', 'current_score', 'number', required=true, minimum=0),
    json_field('maxScore', 'max_score', 'number', required=true, minimum=0),
    json_field('licensedUserCount', 'licensed_user_count', 'integer', minimum=0),
    json_field('activeUserCount', 'active_user_count', 'integer', minimum=0),
    json_field('enabledServices', 'enabled_services', 'text_array', required=true),
    json_field('averageComparativeScores', 'comparative_scores', 'array', required=true),
    json_field('controlScores', 'control_scores', 'array', required=true),
] -%}
{#- Microsoft's -1 means "no comparison available": null, and not an issue. -#}
{%- set comparative_path = "'averageComparativeScores[' || (element.position - 1) || ']'" -%}
{%- set comparative_fields = [
    json_field('basis', 'basis', 'text', max_length=100),
    json_field('averageScore', 'average_score', 'number', minimum=0, maximum=100, null_values=[-1]),
] -%}

with

source as (

    select * from {{ source('graph', 'secure_scores') }}

),

flattened as (

    select
        source.entity_id as secure_score_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.*,
        source.source_updated_at,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

),

final as (

    select
        flattened.secure_score_id,
        flattened.tenant_id,
        flattened.version_id,
        flattened.created_at,
        -- Graph's id `{tenantId}_{yyyy-MM-dd}` names the day (one record per day, whatever createdDateTime says).
        coalesce(
            ({{ json_timestamp("right(flattened.secure_score_id, 10)", from_text=true) }} at time zone 'UTC')::date,
            (flattened.created_at at time zone 'UTC')::date
        ) as score_date,
        flattened.current_score,
        flattened.max_score,
        flattened.licensed_user_count,
        flattened.active_user_count,
        coalesce(flattened.enabled_services, '{}') as enabled_services,
        comparatives.comparative_all_tenants_pct,
        comparatives.comparative_similar_size_pct,
        comparatives.comparative_industry_pct,
        flattened.data_issues || coalesce(comparatives.data_issues, '{}') as data_issues,
        flattened.data_issue_values || coalesce(comparatives.data_issue_values, '{}') as data_issue_values,
        flattened.source_updated_at,
        flattened.extracted_at,
        flattened.run_id
    from flattened
    -- Comparatives are chosen by `basis`, never by position: the first item of each basis.
    left join lateral (  -- noqa: ST05
        select
            (array_agg(item.average_score order by item.position) filter (where item.basis = 'AllTenants'))[1]
                as comparative_all_tenants_pct,
            (array_agg(item.average_score order by item.position) filter (where item.basis = 'TotalSeats'))[1]
                as comparative_similar_size_pct,
            (array_agg(item.average_score order by item.position) filter (where item.basis = 'IndustryTypes'))[1]
                as comparative_industry_pct,
            coalesce(
                array_agg(issue.code order by item.position, issue.ordinal) filter (where issue.code is not null), '{}'
            ) as data_issues,
            coalesce(
                array_agg(issue.observed order by item.position, issue.ordinal) filter (where issue.code is not null), '{}'
            ) as data_issue_values
        from (
            select
                element.position,
                {{ json_element_columns('element.value', comparative_fields, comparative_path) }}
            from jsonb_array_elements(coalesce(flattened.comparative_scores, '[]'::jsonb)) with ordinality as element (value, position)
            cross join lateral {{ json_element_record('element.value', comparative_fields, comparative_path) }}
        ) as item
        left join lateral unnest(item.data_issues, item.data_issue_values) with ordinality as issue (code, observed, ordinal) on true
    ) as comparatives on true

)

select * from final
