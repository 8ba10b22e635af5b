-- Each customer's place in each of its segments: the rank and percentile of its latest Secure Score % among the
-- segment's current customers with a score, beside the segment's median and Microsoft's comparatives. The one
-- home of the rule: rpt_customer_posture (the well-known keys as columns) and rpt_customer_segment_ranks read it.
with

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

scores as (

    select * from {{ ref('fct_secure_scores') }}

),

latest as (

    select distinct on (tenant_id)
        tenant_id,
        score_date,
        secure_score_pct,
        comparative_all_tenants_pct,
        comparative_similar_size_pct,
        comparative_industry_pct
    from scores
    order by tenant_id asc, score_date desc

),

members as (

    select
        segments.tenant_id,
        customers.company_name,
        segments.segment_key,
        segments.segment_value,
        segments.segment,
        segments.segment_source,
        segments.is_well_known,
        latest.score_date as latest_score_date,
        latest.secure_score_pct,
        latest.comparative_all_tenants_pct,
        latest.comparative_similar_size_pct,
        latest.comparative_industry_pct,
        -- Ranked as the portfolio rank is: current customers with a score (a departed customer, one with no
        -- Secure Score yet, or a tagged tenant discovery never listed stays in its segment, unranked).
        coalesce(latest.secure_score_pct is not null and not customers.is_departed, false) as is_ranked
    from segments
    left join customers on segments.tenant_id = customers.tenant_id
    left join latest on segments.tenant_id = latest.tenant_id

),

medians as (

    select
        segment_key,
        segment_value,
        percentile_cont(0.5) within group (order by secure_score_pct) as segment_median_pct
    from members
    where is_ranked
    group by segment_key, segment_value

),

ranked as (

    select
        members.*,
        count(*) filter (where members.is_ranked) over (partition by members.segment_key, members.segment_value)
            as segment_size,
        rank() over (
            partition by members.segment_key, members.segment_value, members.is_ranked
            order by members.secure_score_pct desc
        ) as rank_among_peers,
        percent_rank() over (
            partition by members.segment_key, members.segment_value, members.is_ranked
            order by members.secure_score_pct asc
        ) as share_scoring_lower
    from members

),

final as (

    select
        ranked.tenant_id,
        ranked.company_name,
        ranked.segment_key,
        ranked.segment_value,
        ranked.segment,
        ranked.segment_source,
        ranked.is_well_known,
        ranked.is_ranked,
        ranked.latest_score_date,
        ranked.secure_score_pct,
        case when ranked.is_ranked then ranked.rank_among_peers end as segment_rank,
        ranked.segment_size,
        -- Of the segment's other ranked customers, the share scoring lower (ties count as not lower, so tied
        -- customers share a percentile); null without peers to compare with.
        case when ranked.is_ranked and ranked.segment_size > 1 then 100 * ranked.share_scoring_lower end
            as segment_percentile,
        medians.segment_median_pct,
        ranked.secure_score_pct - medians.segment_median_pct as gap_to_segment_median_pct,
        ranked.comparative_all_tenants_pct,
        ranked.comparative_similar_size_pct,
        ranked.comparative_industry_pct
    from ranked
    left join medians
        on ranked.segment_key = medians.segment_key and ranked.segment_value = medians.segment_value

)

select * from final
