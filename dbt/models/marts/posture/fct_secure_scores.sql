{{
    config(
        materialized='incremental',
        unique_key='secure_score_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['secure_score_id'], 'unique': true},
            {'columns': ['extracted_at']},
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

    -- One record per tenant and day: the most recently landed (a record Graph sent under another id for a day
    -- it already has does not add a second row). Named columns: `*` would drag each version's controlScores
    -- JSON through the sort.
    select distinct on (new_versions.tenant_id, new_versions.score_date)
        {{ secure_score_day_id('new_versions.tenant_id', 'new_versions.score_date') }} as secure_score_id,
        new_versions.tenant_id,
        new_versions.version_id,
        new_versions.score_date,
        new_versions.created_at,
        new_versions.current_score,
        new_versions.max_score,
        new_versions.licensed_user_count,
        new_versions.active_user_count,
        new_versions.enabled_services,
        new_versions.comparative_all_tenants_pct,
        new_versions.comparative_similar_size_pct,
        new_versions.comparative_industry_pct,
        new_versions.extracted_at
    from new_versions
    where new_versions.score_date is not null
    order by
        new_versions.tenant_id asc,
        new_versions.score_date asc,
        new_versions.extracted_at desc,
        new_versions.secure_score_id asc,
        new_versions.version_id asc

),

controls as (

    -- fct_control_scores has parsed this run's controlScores already (with each control's max score), so
    -- the 3 GB-a-year score JSON is exploded once, not once per model.
    select
        control_scores.tenant_id,
        control_scores.score_date,
        control_scores.control_category,
        control_scores.score,
        control_scores.max_score
    from {{ ref('fct_control_scores') }} as control_scores
    -- noqa: disable=LT02
    {% if is_incremental() -%}
    inner join scores
        on
            control_scores.tenant_id = scores.tenant_id
            and control_scores.score_date = scores.score_date
    {%- endif %}
    -- noqa: enable=LT02

),

categories as (

    select
        tenant_id,
        score_date,
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
    group by tenant_id, score_date

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
        scores.version_id,
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
    left join categories
        on
            scores.tenant_id = categories.tenant_id
            and scores.score_date = categories.score_date

)

select * from final
