with

source as (

    select * from {{ source('ops', 'customers') }}

),

final as (

    select
        tenant_id,
        partner_center_id,
        company_name,
        default_domain,
        relationship_to_partner,
        access_state,
        gdap_status,
        gdap_end_at,
        has_security_roles,
        is_excluded,
        departed_at is not null as is_departed,
        departed_at,
        first_seen_at,
        last_seen_at,
        last_run_id
    from source

)

select * from final
