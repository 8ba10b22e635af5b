with

source as (

    select * from {{ source('ops', 'customer_snapshots') }}

),

final as (

    select
        run_id,
        tenant_id,
        company_name,
        access_state,
        gdap_status,
        has_security_roles,
        is_excluded,
        is_departed,
        access_state in ('gdap', 'dap') and not is_excluded and not is_departed as is_extractable
    from source

)

select * from final
