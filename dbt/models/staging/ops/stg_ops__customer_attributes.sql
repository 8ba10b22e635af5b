-- The partner's attributes of its customers, as `smart-office segments` keeps them (one value per customer
-- and key; the CLI and the table's checks have already normalised keys and values).
with

source as (

    select * from {{ source('ops', 'customer_attributes') }}

),

final as (

    select
        tenant_id,
        attribute_key,
        attribute_value,
        set_by,
        set_at
    from source

)

select * from final
