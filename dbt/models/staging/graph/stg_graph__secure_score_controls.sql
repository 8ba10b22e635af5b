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

source as (

    select * from {{ source('graph', 'secure_scores') }}

),

exploded as (

    -- A controlScores that is not an array explodes to nothing (stg_graph__secure_scores reports it).
    select
        source.entity_id as secure_score_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        element.value as item,
        element.position - 1 as control_position,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_array_elements(
        coalesce({{ json_array("source.payload -> 'controlScores'") }}, '[]'::jsonb)
    ) with ordinality as element (value, position)

),

final as (

    select
        exploded.secure_score_id,
        exploded.tenant_id,
        exploded.version_id,
        exploded.control_position,
        {{ json_element_columns('exploded.item', fields, control_path) }},
        exploded.extracted_at,
        exploded.run_id
    from exploded
    cross join lateral {{ json_element_record('exploded.item', fields, control_path) }}

)

select * from final
