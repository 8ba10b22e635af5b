-- One row per landed version of a Partner Center customer.
with

source as (

    select * from {{ source('partner_center', 'customers') }}

),

final as (

    select
        source.entity_id as partner_center_customer_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        source.payload #>> '{companyProfile,companyName}' as company_name,
        source.payload #>> '{companyProfile,domain}' as default_domain,
        source.payload ->> 'relationshipToPartner' as relationship_to_partner,
        source.payload ->> 'commerceId' as commerce_id,
        source.extracted_at,
        source.run_id
    from source

)

select * from final
