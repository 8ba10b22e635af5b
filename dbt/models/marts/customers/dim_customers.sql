-- One row per customer tenant the partner has ever had, from Partner Center or direct: who they are (their latest
-- Partner Center record, or the name the partner gave a direct tenant),
-- how we can reach them and whether the pipeline reads them (int_customers_access_classified), and when
-- their data was last loaded, and the segments the partner puts it in.
with

customers as (

    select * from {{ ref('int_customers_access_classified') }}

),

partner_center as (

    select distinct on (tenant_id)
        tenant_id,
        partner_center_customer_id,
        company_name,
        default_domain,
        relationship_to_partner
    from {{ ref('stg_partner_center__customers') }}
    order by tenant_id asc, extracted_at desc, version_id asc

),

tenant_runs as (

    select * from {{ ref('stg_ops__tenant_runs') }}

),

loads as (

    select
        tenant_id,
        min(finished_at) as first_loaded_at,
        max(finished_at) as last_loaded_at
    from tenant_runs
    where endpoint = 'secure_scores' and outcome = 'loaded'
    group by tenant_id

),

segments as (

    select * from {{ ref('dim_customer_segments') }}

),

-- The well-known segments as columns (var well_known_segment_keys); free tags stay in dim_customer_segments.
well_known_segments as (

    select
        tenant_id,
        -- noqa: disable=LT02
        {% for key in var('well_known_segment_keys') -%}
        max(segment_value) filter (where segment_key = '{{ key }}') as {{ key }},
        {% endfor -%}
        -- noqa: enable=LT02
        max(segment_source) filter (where segment_key = 'seat_band') as seat_band_source,
        count(*) filter (where not is_well_known) as free_tag_count
    from segments
    group by tenant_id

),

last_outcome as (

    select distinct on (tenant_id)
        tenant_id,
        state as last_token_state
    from tenant_runs
    where endpoint = 'token'
    order by tenant_id asc, finished_at desc

),

final as (

    select
        customers.tenant_id,
        customers.source,
        partner_center.partner_center_customer_id as partner_center_id,
        coalesce(customers.direct_display_name, partner_center.company_name) as company_name,
        partner_center.default_domain,
        partner_center.relationship_to_partner,
        customers.access_state,
        customers.gdap_status,
        customers.gdap_end_at,
        customers.has_security_roles,
        customers.has_dap_contract,
        customers.is_excluded,
        customers.is_outside_pilot,
        customers.is_departed,
        customers.is_extractable,
        customers.access_remedy,
        customers.departed_at,
        customers.first_seen_at,
        customers.last_seen_at,
        loads.first_loaded_at,
        loads.last_loaded_at,
        last_outcome.last_token_state,
        -- noqa: disable=LT02
        {% for key in var('well_known_segment_keys') -%}
        well_known_segments.{{ key }},
        {% endfor -%}
        -- noqa: enable=LT02
        well_known_segments.seat_band_source,
        coalesce(well_known_segments.free_tag_count, 0) as free_tag_count
    from customers
    left join partner_center on customers.tenant_id = partner_center.tenant_id
    left join loads on customers.tenant_id = loads.tenant_id
    left join last_outcome on customers.tenant_id = last_outcome.tenant_id
    left join well_known_segments on customers.tenant_id = well_known_segments.tenant_id

)

select * from final
