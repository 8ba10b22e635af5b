-- What discovery observed of each customer ever listed: when, whether it left, whether it is excluded, outside
-- the pilot or a direct tenant, and has a DAP contract. Who a Partner Center customer is comes from the landed
-- Partner Center payloads, its access from int_customers_access_classified (not from the copies discovery keeps
-- here for its own bookkeeping); a direct tenant's name is the one the partner gave it (ops.tenants).
with

source as (

    select * from {{ source('ops', 'customers') }}

),

final as (

    select
        tenant_id,
        source,
        case when source = 'direct' then company_name end as direct_display_name,
        has_dap_contract,
        is_excluded,
        is_outside_pilot,
        departed_at is not null as is_departed,
        departed_at,
        first_seen_at,
        last_seen_at,
        last_run_id
    from source

)

select * from final
