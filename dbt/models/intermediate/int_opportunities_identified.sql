-- The rule of what is an opportunity — an applicable control a customer has not implemented, still worth
-- points, and not deprecated — with what implementing it would add and cost. The targeted offers
-- (rpt_opportunities) and each customer's next actions (rpt_customer_posture) both read it.
with

control_scores as (

    select * from {{ ref('int_control_scores_filtered_to_latest_day') }}

),

controls as (

    select * from {{ ref('dim_controls') }}

),

final as (

    select
        control_scores.tenant_id,
        control_scores.control_id,
        controls.title as control_title,
        controls.control_category,
        controls.service,
        controls.tier,
        controls.user_impact,
        controls.implementation_cost,
        controls.rank as control_rank,
        controls.action_url,
        control_scores.control_state,
        control_scores.control_state = 'ignored' as is_risk_accepted,
        control_scores.score as current_points,
        control_scores.max_score,
        control_scores.points_gap as score_gain_points,
        control_scores.score_impact_pct as score_gain_pct,
        control_scores.score_date
    from control_scores
    inner join controls on control_scores.control_id = controls.control_id
    where
        control_scores.is_applicable
        and not control_scores.is_implemented
        and not controls.is_deprecated
        and control_scores.points_gap > 0

)

select * from final
