-- One row per customer and segment (`attribute=value`, as docs/segments.md names them): what posture rules scoped
-- by `segments` match. The membership rule is dim_customer_segments' (the dashboard's filter reads it too).
with

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

final as (

    select
        tenant_id,
        segment
    from segments

)

select * from final
