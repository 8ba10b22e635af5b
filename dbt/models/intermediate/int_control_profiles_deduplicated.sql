-- The newest landed version of each tenant's control profile (title, max score, current state …).
with

versions as (

    select * from {{ ref('stg_graph__control_profiles') }}

),

final as (

    select distinct on (tenant_id, control_id) *
    from versions
    order by tenant_id asc, control_id asc, extracted_at desc, version_id asc

)

select * from final
