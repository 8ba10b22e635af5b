with

source as (

    select * from {{ source('ops', 'tenant_runs') }}

),

final as (

    select
        run_id,
        tenant_id,
        endpoint,
        outcome,
        state,
        rows_received,
        rows_new,
        quarantined,
        repaired,
        pages,
        requests,
        throttled,
        retries,
        duration_ms,
        error,
        started_at,
        finished_at,
        window_from,
        window_to
    from source

)

select * from final
