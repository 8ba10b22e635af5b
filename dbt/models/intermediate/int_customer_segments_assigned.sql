-- Hook for segments: one row per customer and segment tag, which rules scoped by `segments` match. Empty until
-- the warehouse holds segment tags; the customer-attributes work (ops.customer_attributes) replaces the body
-- with a select of (tenant_id, segment) from its staging model, and every rule with `segments` then applies.
with

final as (

    select
        null::uuid as tenant_id,
        null::text as segment
    where false

)

select * from final
