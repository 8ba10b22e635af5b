with

techniques as (

    select
        technique_id,
        technique_name
    from {{ ref('mitre_attack_techniques') }}

),

final as (

    select
        technique_id,
        technique_name,
        -- A sub-technique's parent (T1566.002 -> T1566), to roll sub-techniques up.
        split_part(technique_id, '.', 1) as parent_technique_id,
        position('.' in technique_id) > 0 as is_sub_technique
    from techniques

)

select * from final
