-- Targeted offers: every opportunity of a current customer (int_opportunities_identified), with
-- what it would add to their score and what it costs them, ready to sort by gain per effort.
with

opportunities as (

    select * from {{ ref('int_opportunities_identified') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

final as (

    select
        {{ surrogate_key(['opportunities.tenant_id', 'opportunities.control_id']) }} as opportunity_id,
        opportunities.tenant_id,
        customers.company_name,
        opportunities.control_id,
        opportunities.control_title,
        opportunities.control_category,
        opportunities.service,
        opportunities.tier,
        opportunities.user_impact,
        opportunities.implementation_cost,
        opportunities.control_rank,
        opportunities.action_url,
        opportunities.control_state,
        opportunities.is_risk_accepted,
        opportunities.current_points,
        opportunities.max_score,
        opportunities.score_gain_points,
        opportunities.score_gain_pct,
        opportunities.score_date
    from opportunities
    inner join customers on opportunities.tenant_id = customers.tenant_id
    where not customers.is_departed

)

select * from final
