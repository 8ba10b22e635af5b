-- Per tenant and dataset: the spans of source time its loaded extractions covered, merged into islands
-- of contiguous history. A new island starts where a span begins after everything before it had ended — a
-- customer back after a lapse longer than Microsoft's retention.
with

tenant_runs as (

    select * from {{ ref('stg_ops__tenant_runs') }}

),

spans as (

    select
        tenant_id,
        endpoint as dataset,
        window_from,
        window_to
    from tenant_runs
    where outcome = 'loaded' and window_from is not null and window_to is not null

),

ordered as (

    select
        spans.*,
        max(spans.window_to) over (
            partition by spans.tenant_id, spans.dataset
            order by spans.window_from, spans.window_to
            rows between unbounded preceding and 1 preceding
        ) as covered_until_before
    from spans

),

islands as (

    select
        ordered.*,
        sum(case when ordered.covered_until_before < ordered.window_from then 1 else 0 end) over (
            partition by ordered.tenant_id, ordered.dataset
            order by ordered.window_from, ordered.window_to
            rows unbounded preceding
        ) as island_number
    from ordered

),

final as (

    select
        {{ surrogate_key(['tenant_id', 'dataset', 'island_number']) }} as history_span_id,
        tenant_id,
        dataset,
        island_number,
        min(window_from) as span_from,
        max(window_to) as span_to,
        count(*) as runs
    from islands
    group by tenant_id, dataset, island_number

)

select * from final
