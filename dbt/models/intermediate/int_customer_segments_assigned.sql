-- Hook for segments: one row per customer and segment (`attribute=value`, as docs/segments.md names them), which
-- rules scoped by `segments` match. Empty until the warehouse holds customer segments; with them (ops.
-- customer_attributes, marts.dim_customer_segments), the body becomes
-- `select tenant_id, segment from dim_customer_segments` (by ref) and every rule with `segments` applies.
with

final as (

    select
        null::uuid as tenant_id,
        null::text as segment
    where false

)

select * from final
