{{
    config(
        materialized='incremental',
        unique_key='data_issue_id',
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['data_issue_id'], 'unique': true},
            {'columns': ['extracted_at']},
            {'columns': ['tenant_id', 'extracted_at']},
        ],
        post_hook=["{{ record_read_through() }}"],
    )
}}

with

staged as (

    {{ staged_data_issues(ref('stg_graph__alerts'), 'alerts_v2', 'alert_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__incidents'), 'incidents', 'incident_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__secure_scores'), 'secure_scores', 'secure_score_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__secure_score_controls'), 'secure_scores', 'secure_score_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__control_profiles'), 'secure_score_control_profiles', 'control_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__gdap_relationships'), 'gdap_relationships', 'relationship_id') }}

    union all

    {{ staged_data_issues(ref('stg_graph__gdap_access_assignments'), 'gdap_access_assignments', 'assignment_id') }}

    union all

    {{ staged_data_issues(ref('stg_partner_center__customers'), 'partner_center_customers', 'partner_center_customer_id') }}

),

quarantined as (

    select
        tenant_id,
        entity,
        entity_id,
        version_id,
        '$'::text as field,
        reason as issue,
        'loader'::text as detected_by,
        observed_value,
        received_at as extracted_at,
        run_id
    from {{ ref('stg_loader__quarantined_items') }}
    {{ incremental_window_since_last_read('received_at') }}

),

recent_scores as (

    select * from {{ ref('fct_secure_scores') }}
    {{ incremental_window_since_last_read() }}

),

as_of as (

    select ({{ as_of_timestamp() }} at time zone 'utc')::date - {{ var('complete_day_lag_days') }} as last_complete_date

),

complete_days as (

    -- Days whose record is complete; a daily build checks the records it landed and the day just completed.
    select scores.*
    from {{ ref('fct_secure_scores') }} as scores
    cross join as_of
    where
        scores.score_date <= as_of.last_complete_date
        -- noqa: disable=LT02
        {%- if is_incremental() %}
        and (
            {{ incremental_window_since_last_read('scores.extracted_at', keyword='') }}
            or scores.score_date = as_of.last_complete_date
        )
        {%- endif %}
        -- noqa: enable=LT02

),

control_totals as (

    select
        control_scores.tenant_id,
        control_scores.score_date,
        sum(control_scores.score) as control_points
    from {{ ref('fct_control_scores') }} as control_scores
    inner join complete_days
        on
            control_scores.tenant_id = complete_days.tenant_id
            and control_scores.score_date = complete_days.score_date
    group by control_scores.tenant_id, control_scores.score_date

),

checked as (

    -- Microsoft's own invariants: a day's controls add up to its currentScore, which is at most maxScore.
    select
        complete_days.tenant_id,
        'secure_scores'::text as entity,
        complete_days.secure_score_id as entity_id,
        complete_days.version_id,
        'currentScore'::text as field,
        'not_sum_of_control_scores'::text as issue,
        'consistency_check'::text as detected_by,
        'currentScore ' || complete_days.current_score || ', controlScores add up to ' || control_totals.control_points
            as observed_value,
        complete_days.extracted_at,
        null::text as run_id
    from complete_days
    inner join control_totals
        on
            complete_days.tenant_id = control_totals.tenant_id
            and complete_days.score_date = control_totals.score_date
    where abs(complete_days.current_score - control_totals.control_points) > 0.5

    union all

    select
        recent_scores.tenant_id,
        'secure_scores'::text as entity,
        recent_scores.secure_score_id as entity_id,
        recent_scores.version_id,
        'currentScore'::text as field,
        'above_max_score'::text as issue,
        'consistency_check'::text as detected_by,
        'currentScore ' || recent_scores.current_score || ', maxScore ' || recent_scores.max_score as observed_value,
        recent_scores.extracted_at,
        null::text as run_id
    from recent_scores
    where recent_scores.current_score > recent_scores.max_score

),

unioned as (

    select * from staged
    union all
    select * from quarantined
    union all
    select * from checked

),

final as (

    -- One row per key even if an item reached quarantine twice.
    select distinct on (data_issue_id)
        {{ surrogate_key(['tenant_id', 'entity', 'entity_id', 'version_id', 'field', 'issue']) }} as data_issue_id,
        tenant_id,
        entity,
        entity_id,
        version_id,
        field,
        issue,
        detected_by,
        observed_value,
        extracted_at,
        run_id
    from unioned
    order by data_issue_id asc, extracted_at desc

)

select * from final
