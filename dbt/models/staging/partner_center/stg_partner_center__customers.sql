{%- set fields = [
    json_field('companyProfile', 'company_profile', 'object'),
    json_field('companyProfile.companyName', 'company_name', 'text', value="record.\"companyProfile\" -> 'companyName'"),
    json_field('companyProfile.domain', 'default_domain', 'text', value="record.\"companyProfile\" -> 'domain'"),
    json_field('relationshipToPartner', 'relationship_to_partner', 'text', max_length=100),
    json_field('commerceId', 'commerce_id', 'text'),
] -%}

with

source as (

    select * from {{ source('partner_center', 'customers') }}

),

final as (

    select
        source.entity_id as partner_center_customer_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        typed.company_name,
        typed.default_domain,
        typed.relationship_to_partner,
        typed.commerce_id,
        typed.data_issues,
        typed.data_issue_values,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral ({{ json_flatten('source.payload', fields) }}) as typed  -- noqa: ST05

)

select * from final
