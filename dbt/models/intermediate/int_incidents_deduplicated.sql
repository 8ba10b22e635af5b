-- The newest version of every incident.
with

versions as (

    select * from {{ ref('stg_graph__incidents') }}

),

final as (

    select distinct on (tenant_id, incident_id) *
    from versions
    order by tenant_id asc, incident_id asc, last_updated_at desc nulls last, extracted_at desc, version_id asc

)

select * from final
