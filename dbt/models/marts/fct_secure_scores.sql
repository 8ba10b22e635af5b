{{
    config(
        materialized='incremental',
        unique_key='secure_score_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['tenant_id', 'score_date'], 'unique': true},
            {'columns': ['score_date']},
        ],
    )
}}

with

new_versions as (

    select * from {{ ref('stg_graph__secure_scores') }}
    {{ incremental_window() }}

),

scores as (

    select distinct on (secure_score_id) *
    from new_versions
    order by secure_score_id asc, extracted_at desc, version_id asc

),

new_controls as (

    select * from {{ ref('stg_graph__secure_score_controls') }}
    {{ incremental_window() }}

),

profiles as (

    select * from {{ ref('int_control_profiles_deduplicated') }}

),

controls as (

    select
        new_controls.secure_score_id,
        new_controls.control_category,
        new_controls.score,
        profiles.max_score
    from new_controls
    inner join scores
        on
            new_controls.secure_score_id = scores.secure_score_id
            and new_controls.version_id = scores.version_id
    left join profiles
        on
            new_controls.tenant_id = profiles.tenant_id
            and new_controls.control_id = profiles.control_id

),

categories as (

    select
        secure_score_id,
        100 * sum(score) filter (where control_category = 'Identity')
        / nullif(sum(max_score) filter (where control_category = 'Identity'), 0) as identity_score_pct,
        100 * sum(score) filter (where control_category = 'Data')
        / nullif(sum(max_score) filter (where control_category = 'Data'), 0) as data_score_pct,
        100 * sum(score) filter (where control_category = 'Device')
        / nullif(sum(max_score) filter (where control_category = 'Device'), 0) as device_score_pct,
        100 * sum(score) filter (where control_category = 'Apps')
        / nullif(sum(max_score) filter (where control_category = 'Apps'), 0) as apps_score_pct,
        100 * sum(score) filter (where control_category = 'Infrastructure')
        / nullif(sum(max_score) filter (where control_category = 'Infrastructure'), 0) as infrastructure_score_pct
    from controls
    group by secure_score_id

),

final as (

    select
        scores.secure_score_id,
        scores.tenant_id,
        scores.score_date,
        scores.created_at,
        scores.current_score,
        scores.max_score,
        100 * scores.current_score / nullif(scores.max_score, 0) as secure_score_pct,
        scores.licensed_user_count,
        scores.active_user_count,
        scores.enabled_services,
        scores.comparative_all_tenants_pct,
        scores.comparative_similar_size_pct,
        scores.comparative_industry_pct,
        categories.identity_score_pct,
        categories.data_score_pct,
        categories.device_score_pct,
        categories.apps_score_pct,
        categories.infrastructure_score_pct,
        scores.extracted_at
    from scores
    left join categories on scores.secure_score_id = categories.secure_score_id

)

select * from final
