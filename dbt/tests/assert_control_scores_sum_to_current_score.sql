-- Where a day is complete, the points of its controls add up to the day's currentScore (Microsoft's own
-- invariant). Rows returned are the days that break it.
with

scores as (

    select * from {{ ref('fct_secure_scores') }}

),

control_totals as (

    select
        secure_score_id,
        sum(score) as control_points
    from {{ ref('fct_control_scores') }}
    group by secure_score_id

),

complete_days as (

    select scores.*
    from scores
    where scores.score_date <= ({{ as_of_timestamp() }} at time zone 'utc')::date - {{ var('complete_day_lag_days') }}

)

select
    complete_days.secure_score_id,
    complete_days.current_score,
    control_totals.control_points
from complete_days
inner join control_totals on complete_days.secure_score_id = control_totals.secure_score_id
where abs(complete_days.current_score - control_totals.control_points) > 0.5
