-- Per control, across the portfolio, on each customer's latest Secure Score day: among the customers where
-- the control applies, how many implemented it, and the points still on the table.
with

current_scores as (

    select * from {{ ref('int_control_scores_filtered_to_latest_day') }}

),

controls as (

    select * from {{ ref('dim_controls') }}

),

final as (

    select
        current_scores.control_id,
        count(*) filter (where current_scores.is_applicable) as customers_applicable,
        count(*) filter (where current_scores.is_applicable and current_scores.is_implemented)
            as customers_implemented,
        count(*) filter (where current_scores.is_applicable and current_scores.control_state = 'thirdparty')
            as customers_third_party,
        count(*) filter (where current_scores.is_applicable and current_scores.control_state = 'ignored')
            as customers_risk_accepted,
        count(*) filter (where current_scores.is_applicable and current_scores.is_implemented)::double precision
        / nullif(count(*) filter (where current_scores.is_applicable), 0) as adoption_rate,
        sum(current_scores.points_gap) filter (where current_scores.is_applicable) as points_gap_total,
        avg(current_scores.completion_pct) filter (where current_scores.is_applicable) as avg_completion_pct
    from current_scores
    inner join controls on current_scores.control_id = controls.control_id
    where not controls.is_deprecated
    group by current_scores.control_id

)

select * from final
