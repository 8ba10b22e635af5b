with

source as (

    select * from {{ source('ops', 'run_coverage') }}

),

final as (

    select
        run_id,
        tenant_id,
        outcome,
        reason,
        quarantined,
        repaired
    from source

)

select * from final
