-- One row per customer: where their security posture stands, where it is heading, and what to do next.
with

customers as (

    select * from {{ ref('dim_customers') }}

),

scores as (

    select * from {{ ref('fct_secure_scores') }}

),

alerts as (

    select * from {{ ref('fct_alerts') }}

),

segment_ranks as (

    select * from {{ ref('int_customer_segments_ranked') }}

),

opportunities as (

    select * from {{ ref('int_opportunities_identified') }}

),

latest as (

    select distinct on (tenant_id) *
    from scores
    order by tenant_id asc, score_date desc

),

-- The nearest earlier day with a record, since Graph skips days now and then. Set-based (one hash join and
-- one sort over the history) rather than a lookup per tenant and lookback, which a year of history at a
-- thousand tenants turns into hours.
earlier as (

    select distinct on (latest.tenant_id, lookback.days)
        latest.tenant_id,
        lookback.days,
        scores.secure_score_pct
    from latest
    cross join (values (7), (30), (90)) as lookback (days)
    inner join scores
        on
            latest.tenant_id = scores.tenant_id
            and scores.score_date <= latest.score_date - lookback.days
    order by latest.tenant_id asc, lookback.days asc, scores.score_date desc

),

changes as (

    select
        latest.tenant_id,
        latest.secure_score_pct - max(earlier.secure_score_pct) filter (where earlier.days = 7)
            as score_change_7d_pct,
        latest.secure_score_pct - max(earlier.secure_score_pct) filter (where earlier.days = 30)
            as score_change_30d_pct,
        latest.secure_score_pct - max(earlier.secure_score_pct) filter (where earlier.days = 90)
            as score_change_90d_pct
    from latest
    left join earlier on latest.tenant_id = earlier.tenant_id
    group by latest.tenant_id, latest.secure_score_pct

),

alert_stats as (

    select
        tenant_id,
        count(*) filter (where is_open and severity = 'high') as open_high_severity_alerts,
        count(*) filter (where is_open) as open_alerts,
        percentile_cont(0.5) within group (order by hours_to_resolve) filter (
            where resolved_at >= {{ as_of_timestamp() }} - interval '90 days'
        ) as median_hours_to_resolve_90d,
        (avg(is_true_positive::integer) filter (
            where resolved_at >= {{ as_of_timestamp() }} - interval '90 days'
        ))::double precision as true_positive_rate_90d
    from alerts
    group by tenant_id

),

top_opportunities as (

    select
        tenant_id,
        string_agg(control_title, '; ' order by score_gain_points desc, control_rank asc, control_id asc) filter (
            where opportunity_rank <= 3
        ) as top_unimplemented_controls,
        sum(score_gain_points) as points_available
    from (
        select
            *,
            row_number() over (partition by tenant_id order by score_gain_points desc, control_rank asc, control_id asc)
                as opportunity_rank
        from opportunities
        where not is_risk_accepted
    ) as ranked
    group by tenant_id

),

-- The customer's place in each well-known segment (var well_known_segment_keys), as columns.
well_known_ranks as (

    select
        -- noqa: disable=LT02
        {% for key in var('well_known_segment_keys') -%}
        max(segment_value) filter (where segment_key = '{{ key }}') as {{ key }},
        max(segment_rank) filter (where segment_key = '{{ key }}') as {{ key }}_rank,
        max(segment_size) filter (where segment_key = '{{ key }}') as {{ key }}_size,
        max(segment_percentile) filter (where segment_key = '{{ key }}') as {{ key }}_percentile,
        {% endfor -%}
        -- noqa: enable=LT02
        tenant_id
    from segment_ranks
    where is_well_known
    group by tenant_id

),

final as (

    select
        customers.tenant_id,
        customers.company_name,
        customers.default_domain,
        customers.access_state,
        customers.is_extractable,
        customers.is_departed,
        latest.score_date as latest_score_date,
        latest.current_score,
        latest.max_score,
        latest.secure_score_pct,
        changes.score_change_7d_pct,
        changes.score_change_30d_pct,
        changes.score_change_90d_pct,
        case
            when latest.secure_score_pct is not null and not customers.is_departed then
                rank() over (
                    partition by latest.secure_score_pct is not null and not customers.is_departed
                    order by latest.secure_score_pct desc nulls last
                )
        end as portfolio_rank,
        count(*) filter (where latest.secure_score_pct is not null and not customers.is_departed) over ()
            as portfolio_size,
        latest.comparative_all_tenants_pct,
        latest.comparative_similar_size_pct,
        latest.secure_score_pct - latest.comparative_all_tenants_pct as gap_to_all_tenants_pct,
        latest.secure_score_pct - latest.comparative_similar_size_pct as gap_to_similar_size_pct,
        latest.comparative_industry_pct,
        -- noqa: disable=LT02
        {% for key in var('well_known_segment_keys') -%}
        well_known_ranks.{{ key }},
        well_known_ranks.{{ key }}_rank,
        well_known_ranks.{{ key }}_size,
        well_known_ranks.{{ key }}_percentile,
        {% endfor -%}
        -- noqa: enable=LT02
        coalesce(alert_stats.open_high_severity_alerts, 0) as open_high_severity_alerts,
        coalesce(alert_stats.open_alerts, 0) as open_alerts,
        alert_stats.median_hours_to_resolve_90d,
        alert_stats.true_positive_rate_90d,
        top_opportunities.top_unimplemented_controls,
        top_opportunities.points_available,
        customers.last_loaded_at
    from customers
    left join latest on customers.tenant_id = latest.tenant_id
    left join changes on customers.tenant_id = changes.tenant_id
    left join alert_stats on customers.tenant_id = alert_stats.tenant_id
    left join well_known_ranks on customers.tenant_id = well_known_ranks.tenant_id
    -- A departed customer is offered nothing (as in rpt_opportunities).
    left join top_opportunities
        on customers.tenant_id = top_opportunities.tenant_id and not customers.is_departed

)

select * from final
