{#- Undocumented properties Graph sends beside the documented ones are read when present. -#}
{%- set control_path = "'controlScores[' || exploded.control_position || ']'" -%}
{%- set fields = [
    json_field('controlName', 'control_id', 'text', required=true, max_length=200),
    json_field('controlCategory', 'control_category', 'text', max_length=100),
    json_field('score', 'score', 'number', required=true, minimum=0),
    json_field('scoreInPercentage', 'score_in_percentage', 'number', minimum=0, maximum=100),
    json_field('IsApplicable', 'is_applicable', 'boolean', strings_allowed=true),
    json_field('implementationStatus', 'implementation_status', 'text'),
] -%}

with

scores as (

    select * from {{ ref('stg_graph__secure_scores') }}

),

exploded as (

    select
        scores.secure_score_id,
        scores.tenant_id,
        scores.version_id,
        scores.score_date,
        element.value as item,
        element.position - 1 as control_position,
        scores.extracted_at,
        scores.run_id
    from scores
    cross join lateral jsonb_array_elements(scores.control_scores) with ordinality as element (value, position)

),

final as (

    select
        exploded.secure_score_id,
        exploded.tenant_id,
        exploded.version_id,
        exploded.score_date,
        exploded.control_position,
        {{ json_element_columns('exploded.item', fields, control_path) }},
        exploded.extracted_at,
        exploded.run_id
    from exploded
    cross join lateral {{ json_element_record('exploded.item', fields, control_path) }}

)

select * from final
