-- What discovery observed of each customer ever listed: when, whether it left, whether it is excluded and has
-- a DAP contract. Who the customer is comes from the landed Partner Center payloads, its access from
-- int_customers_access_classified (not from the copies discovery keeps here for its own bookkeeping).
with

source as (

    select * from {{ source('ops', 'customers') }}

),

final as (

    select
        tenant_id,
        has_dap_contract,
        is_excluded,
        departed_at is not null as is_departed,
        departed_at,
        first_seen_at,
        last_seen_at,
        last_run_id
    from source

)

select * from final
