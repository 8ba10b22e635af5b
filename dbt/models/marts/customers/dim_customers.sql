-- One row per customer tenant the partner has ever had: who they are, how we can reach them, and when
-- their data was last loaded.
with

customers as (

    select * from {{ ref('stg_ops__customers') }}

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
        customers.partner_center_id,
        customers.company_name,
        customers.default_domain,
        customers.relationship_to_partner,
        customers.access_state,
        customers.gdap_status,
        customers.gdap_end_at,
        customers.has_security_roles,
        customers.is_excluded,
        customers.is_departed,
        customers.departed_at,
        customers.first_seen_at,
        customers.last_seen_at,
        loads.first_loaded_at,
        loads.last_loaded_at,
        last_outcome.last_token_state
    from customers
    left join loads on customers.tenant_id = loads.tenant_id
    left join last_outcome on customers.tenant_id = last_outcome.tenant_id

)

select * from final
