with

source as (

    select * from {{ source('ops', 'runs') }}

),

final as (

    select
        run_id,
        dag_id,
        dag_run_id,
        logical_date as run_as_of,
        started_at,
        finished_at,
        status as run_status,
        -- The pipeline's own JSON, read as safely as Microsoft's.
        {{ json_number("summary #> '{coverage,ratio}'") }} as coverage_ratio,
        summary
    from source

)

select * from final
