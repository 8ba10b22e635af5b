-- Which access assignments each GDAP relationship had when discovery last read them completely. A relationship
-- without a row was never read completely: its assignments are unknown (not unassigned).
with

source as (

    select * from {{ source('ops', 'gdap_access_assignment_reads') }}

),

final as (

    select
        tenant_id,
        relationship_id,
        assignment_ids,
        read_at,
        run_id
    from source

)

select * from final
