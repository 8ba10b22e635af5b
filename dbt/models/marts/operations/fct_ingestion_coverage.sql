-- Per run and outcome: how many customers were attempted, loaded, or not loaded and why — including the
-- customers the run could not even try (no delegated access, excluded, departed).
with

runs as (

    select * from {{ ref('stg_ops__runs') }}

),

tenant_runs as (

    select * from {{ ref('stg_ops__tenant_runs') }}

),

snapshots as (

    select * from {{ ref('stg_ops__customer_snapshots') }}

),

per_tenant as (

    select
        run_id,
        tenant_id,
        bool_or(outcome in ('failed', 'partial')) as has_failure,
        (array_agg(state order by (endpoint <> 'token'), endpoint) filter (where outcome in ('failed', 'partial')))[1]
            as failure_state
    from tenant_runs
    group by run_id, tenant_id

),

attempted as (

    select
        run_id,
        case when has_failure then 'failed' else 'loaded' end as outcome,
        case when has_failure then failure_state else 'ok' end as reason,
        count(*) as customers
    from per_tenant
    group by run_id, outcome, reason

),

not_attempted as (

    select
        run_id,
        'not_extractable' as outcome,
        case
            when is_departed then 'departed'
            when is_excluded then 'excluded'
            else access_state
        end as reason,
        count(*) as customers
    from snapshots
    where not is_extractable
    group by run_id, outcome, reason

),

unioned as (

    select * from attempted
    union all
    select * from not_attempted

),

final as (

    select
        {{ surrogate_key(['unioned.run_id', 'unioned.outcome', 'unioned.reason']) }} as coverage_id,
        unioned.run_id,
        runs.run_as_of,
        runs.started_at as run_started_at,
        runs.run_status,
        unioned.outcome,
        unioned.reason,
        unioned.customers,
        sum(unioned.customers) filter (where unioned.outcome <> 'not_extractable')
            over (partition by unioned.run_id) as customers_attempted,
        sum(unioned.customers) filter (where unioned.outcome = 'loaded')
            over (partition by unioned.run_id) as customers_loaded
    from unioned
    inner join runs on unioned.run_id = runs.run_id

)

select * from final
