{{ config(indexes=[{'columns': ['tenant_id', 'dataset'], 'unique': true}]) }}

-- Per customer and dataset: from when its history is complete, and the gaps before that. A tenant's history
-- of a dataset is complete on day D when D >= complete_from_date; portfolio-wide aggregates count a
-- customer on D only then, so a first run's reach or a lapse never shows as a change in the portfolio.
with

spans as (

    select * from {{ ref('int_tenant_history_spans_merged') }}

),

latest as (

    select distinct on (tenant_id, dataset)
        tenant_id,
        dataset,
        island_number,
        span_from,
        span_to
    from spans
    order by tenant_id asc, dataset asc, island_number desc

),

previous as (

    select
        tenant_id,
        dataset,
        island_number,
        span_to
    from spans

),

final as (

    select
        {{ surrogate_key(['latest.tenant_id', 'latest.dataset']) }} as tenant_history_id,
        latest.tenant_id,
        latest.dataset,
        latest.span_from as complete_from,
        -- The first whole day: a span starting inside a day covers that day only in part.
        ((latest.span_from at time zone 'utc')::date + 1) as complete_from_date,
        latest.span_to as complete_to,
        latest.island_number as history_gaps,
        previous.span_to as last_gap_from,
        case when previous.span_to is not null then latest.span_from end as last_gap_to
    from latest
    left join previous
        on
            latest.tenant_id = previous.tenant_id
            and latest.dataset = previous.dataset
            and previous.island_number = latest.island_number - 1

)

select * from final
