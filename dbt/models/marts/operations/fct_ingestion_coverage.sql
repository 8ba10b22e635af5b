-- Per run and outcome: how many customers were attempted, loaded, or not loaded and why — including the
-- customers the run could not even try (no delegated access, excluded, departed). The outcome of each customer
-- is the warehouse's (ops.run_coverage, through staging), the same rows the run's close counted.
with

runs as (

    select * from {{ ref('stg_ops__runs') }}

),

coverage as (

    select * from {{ ref('stg_ops__run_coverage') }}

),

outcomes as (

    select
        run_id,
        outcome,
        reason,
        count(*) as customers
    from coverage
    group by run_id, outcome, reason

),

final as (

    select
        {{ surrogate_key(['outcomes.run_id', 'outcomes.outcome', 'outcomes.reason']) }} as coverage_id,
        outcomes.run_id,
        runs.run_as_of,
        runs.started_at as run_started_at,
        runs.run_status,
        outcomes.outcome,
        outcomes.reason,
        outcomes.customers,
        sum(outcomes.customers) filter (where outcomes.outcome <> 'not_extractable')
            over (partition by outcomes.run_id) as customers_attempted,
        sum(outcomes.customers) filter (where outcomes.outcome = 'loaded')
            over (partition by outcomes.run_id) as customers_loaded
    from outcomes
    inner join runs on outcomes.run_id = runs.run_id

)

select * from final
