-- One row per customer and segment key: where the customer's Secure Score stands in each of its segments
-- (int_customer_segments_ranked), for BI tools comparing customers within any segment, free tags included.
with

ranked as (

    select * from {{ ref('int_customer_segments_ranked') }}

),

final as (

    select * from ranked

)

select * from final
