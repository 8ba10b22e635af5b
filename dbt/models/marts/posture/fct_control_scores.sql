{{
    config(
        materialized='incremental',
        unique_key='control_score_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['control_score_id'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['tenant_id', 'score_date']},
            {'columns': ['control_id', 'score_date']},
        ],
    )
}}

with

new_versions as (

    select * from {{ ref('stg_graph__secure_scores') }}
    {{ incremental_window() }}

),

scores as (

    -- The record fct_secure_scores keeps for each tenant and day (the same choice, made from the same rows).
    select distinct on (tenant_id, score_date)
        secure_score_id,
        tenant_id,
        score_date,
        version_id,
        max_score as tenant_max_score
    from new_versions
    where score_date is not null
    order by tenant_id asc, score_date asc, extracted_at desc, secure_score_id asc, version_id asc

),

new_controls as (

    select * from {{ ref('stg_graph__secure_score_controls') }}
    {{ incremental_window() }}

),

named_controls as (

    -- A control named twice in one record counts once (its first entry); one without a name is no control.
    select distinct on (tenant_id, secure_score_id, version_id, control_id) *
    from new_controls
    where control_id is not null
    order by tenant_id asc, secure_score_id asc, version_id asc, control_id asc, control_position asc

),

states as (

    select * from {{ ref('int_control_states_historized') }}

),

joined as (

    select
        named_controls.tenant_id,
        named_controls.control_id,
        scores.score_date,
        {{ secure_score_day_id('named_controls.tenant_id', 'scores.score_date') }} as secure_score_id,
        named_controls.control_category,
        named_controls.score,
        states.max_score,
        scores.tenant_max_score,
        -- Microsoft's own completion figure when it sends one; otherwise score over max.
        coalesce(
            named_controls.score_in_percentage,
            100 * named_controls.score / nullif(states.max_score, 0)
        ) as completion_pct,
        coalesce(named_controls.is_applicable, true) as is_applicable,
        -- The state in effect at the end of that day (default when never updated, or without a profile).
        coalesce(states.control_state, 'default') as control_state,
        named_controls.implementation_status,
        named_controls.extracted_at
    from named_controls
    inner join scores
        on
            named_controls.tenant_id = scores.tenant_id
            and named_controls.secure_score_id = scores.secure_score_id
            and named_controls.version_id = scores.version_id
    left join states
        on
            named_controls.tenant_id = states.tenant_id
            and named_controls.control_id = states.control_id
            and ((scores.score_date + 1)::timestamp at time zone 'utc') > states.valid_from
            and ((scores.score_date + 1)::timestamp at time zone 'utc') <= states.valid_to

),

final as (

    select
        {{ surrogate_key(['tenant_id', 'control_id', 'score_date']) }} as control_score_id,
        tenant_id,
        control_id,
        score_date,
        secure_score_id,
        control_category,
        score,
        max_score,
        completion_pct,
        completion_pct >= 100 as is_implemented,
        is_applicable,
        control_state,
        greatest(coalesce(max_score, 0) - score, 0) as points_gap,
        100 * greatest(coalesce(max_score, 0) - score, 0) / nullif(tenant_max_score, 0) as score_impact_pct,
        implementation_status,
        extracted_at
    from joined

)

select * from final
