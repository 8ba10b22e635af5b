-- Per customer and dataset: when data was last loaded successfully, how far that is behind the latest run,
-- and whether that makes it stale — so missing data is never mistaken for good news.
with

tenant_runs as (

    select * from {{ ref('stg_ops__tenant_runs') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

datasets as (

    select distinct endpoint as dataset from tenant_runs
    where endpoint <> 'token'

),

loaded as (

    select
        tenant_id,
        endpoint as dataset,
        max(finished_at) as last_loaded_at
    from tenant_runs
    where outcome = 'loaded'
    group by tenant_id, endpoint

),

last_attempt as (

    select distinct on (tenant_id, endpoint)
        tenant_id,
        endpoint as dataset,
        outcome as last_outcome,
        state as last_state,
        finished_at as last_attempted_at
    from tenant_runs
    order by tenant_id asc, endpoint asc, finished_at desc

),

behind as (

    select
        {{ surrogate_key(['customers.tenant_id', 'datasets.dataset']) }} as freshness_id,
        customers.tenant_id,
        customers.is_extractable,
        datasets.dataset,
        loaded.last_loaded_at,
        last_attempt.last_attempted_at,
        last_attempt.last_outcome,
        last_attempt.last_state,
        (extract(epoch from (select max(all_runs.finished_at) from tenant_runs as all_runs) - loaded.last_loaded_at) / 3600.0)::double precision
            as hours_behind_latest_run
    from customers
    cross join datasets
    left join loaded on customers.tenant_id = loaded.tenant_id and datasets.dataset = loaded.dataset
    left join last_attempt
        on customers.tenant_id = last_attempt.tenant_id and datasets.dataset = last_attempt.dataset
    where not customers.is_departed

),

final as (

    select
        *,
        -- Runs take minutes to an hour and are daily: loaded longer ago than this before the latest run, the
        -- dataset was not loaded by that run. Never loaded is stale too.
        last_loaded_at is null or hours_behind_latest_run > {{ var('stale_after_hours') }} as is_stale
    from behind

)

select * from final
