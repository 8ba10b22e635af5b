-- The seed's "targeted offers": every applicable control a customer has not implemented, with what it would
-- add to their score and what it costs them, ready to sort by gain per effort.
with

control_scores as (

    select * from {{ ref('fct_control_scores_latest') }}

),

controls as (

    select * from {{ ref('dim_controls') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        {{ surrogate_key(['control_scores.tenant_id', 'control_scores.control_id']) }} as opportunity_id,
        control_scores.tenant_id,
        customers.company_name,
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
    inner join customers on control_scores.tenant_id = customers.tenant_id
    where
        control_scores.is_applicable
        and not control_scores.is_implemented
        and not controls.is_deprecated
        and control_scores.points_gap > 0
        and not customers.is_departed

)

select * from final
