{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        full_refresh=false,
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['is_active']},
            {'columns': ['tenant_id']},
        ],
    )
}}

-- The posture alert rules' conditions (int_posture_conditions_evaluated, int_incidents_flagged), evaluated at the
-- latest run's point in time, as events: an event starts when its condition first holds and is cleared by the
-- first build in which it no longer does.
-- Incremental and never fully refreshed (`full_refresh=false`): history survives the weekly --full-refresh. What
-- people did with an event (ack, snooze) and what was delivered live in ops, keyed by event_id.
with

conditions as (

    select * from {{ ref('int_posture_conditions_evaluated') }}
    union all
    select * from {{ ref('int_incidents_flagged') }}

),

evaluation as (

    select {{ as_of_timestamp() }} as evaluated_at

),

described as (

    -- Every condition row carries the evaluation point; `evaluation` has it even when no condition holds.
    select * from conditions

),

open_events as (

    {% if is_incremental() %}
        select * from {{ this }}
        where is_active
    {% else %}
        select
            null::text as event_id,
            null::text as rule_id,
            null::uuid as tenant_id,
            null::text as subject_id,
            null::timestamptz as first_seen_at
        where false
    {% endif %}

),

raised_or_continuing as (

    select
        coalesce(
            open_events.event_id,
            md5(
                described.rule_id || '|' || described.tenant_id || '|' || described.subject_id || '|'
                || extract(epoch from evaluation.evaluated_at)::bigint
            )
        ) as event_id,
        described.rule_id,
        described.rule_type,
        described.severity,
        described.tenant_id,
        described.subject_id,
        described.subject_label,
        described.observed_value,
        described.threshold,
        coalesce(open_events.first_seen_at, evaluation.evaluated_at) as first_seen_at,
        evaluation.evaluated_at as last_seen_at,
        null::timestamptz as cleared_at,
        true as is_active
    from described
    cross join evaluation
    left join open_events
        on
            described.rule_id = open_events.rule_id
            and described.tenant_id = open_events.tenant_id
            and described.subject_id = open_events.subject_id
    where open_events.event_id is not null or described.is_raisable

),

cleared as (

    {% if is_incremental() %}
        select
            open_events.event_id,
            open_events.rule_id,
            open_events.rule_type,
            open_events.severity,
            open_events.tenant_id,
            open_events.subject_id,
            open_events.subject_label,
            open_events.observed_value,
            open_events.threshold,
            open_events.first_seen_at,
            open_events.last_seen_at,
            evaluation.evaluated_at as cleared_at,
            false as is_active
        from open_events
        cross join evaluation
        left join described
            on
                open_events.rule_id = described.rule_id
                and open_events.tenant_id = described.tenant_id
                and open_events.subject_id = described.subject_id
        where described.rule_id is null and evaluation.evaluated_at is not null
    {% else %}
        select * from raised_or_continuing
        where false
    {% endif %}

),

final as (

    select * from raised_or_continuing
    union all
    select * from cleared

)

select * from final
