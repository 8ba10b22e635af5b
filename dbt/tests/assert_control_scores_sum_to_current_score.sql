-- Where a day is complete, the points of its controls add up to the day's currentScore (Microsoft's own
-- invariant). Rows returned are the days that break it. A daily build checks the days it could have
-- changed: records landed by the latest run, and the day that has just become complete.
with

as_of as (

    select ({{ as_of_timestamp() }} at time zone 'utc')::date - {{ var('complete_day_lag_days') }} as last_complete_date

),

complete_days as (

    select scores.*
    from {{ ref('fct_secure_scores') }} as scores
    cross join as_of
    where
        scores.score_date <= as_of.last_complete_date
        and ({{ recent_rows_predicate('scores.extracted_at') }} or scores.score_date = as_of.last_complete_date)

),

control_totals as (

    select
        complete_days.secure_score_id,
        sum(control_scores.score) as control_points
    from complete_days
    inner join {{ ref('fct_control_scores') }} as control_scores
        on
            complete_days.tenant_id = control_scores.tenant_id
            and complete_days.score_date = control_scores.score_date
    group by complete_days.secure_score_id

)

select
    complete_days.secure_score_id,
    complete_days.current_score,
    control_totals.control_points
from complete_days
inner join control_totals on complete_days.secure_score_id = control_totals.secure_score_id
where abs(complete_days.current_score - control_totals.control_points) > 0.5
