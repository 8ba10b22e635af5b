with

source as (

    select * from {{ source('loader', 'quarantine') }}

),

final as (

    select
        source.quarantine_id,
        source.run_id,
        source.tenant_id,
        source.endpoint,
        -- The raw table the item was meant for (the endpoint as the extraction names it, or the table itself).
        case
            when source.endpoint in ('/security/alerts_v2', 'alerts_v2') then 'alerts_v2'
            when source.endpoint in ('/security/incidents', 'incidents') then 'incidents'
            when source.endpoint in ('/security/secureScores', 'secure_scores') then 'secure_scores'
            when source.endpoint in ('/security/secureScoreControlProfiles', 'control_profiles', 'secure_score_control_profiles')
                then 'secure_score_control_profiles'
            when source.endpoint in ('/tenantRelationships/delegatedAdminRelationships', 'gdap_relationships')
                then 'gdap_relationships'
            when source.endpoint in ('/tenantRelationships/delegatedAdminRelationships/accessAssignments', 'gdap_access_assignments')
                then 'gdap_access_assignments'
            when source.endpoint in ('/v1/customers', 'partner_center_customers') then 'partner_center_customers'
            else source.endpoint
        end as entity,
        source.entity_id,
        source.reason,
        source.error,
        -- The item's bytes identify it, as a payload hash identifies a landed version.
        encode(sha256(coalesce(source.payload_bytes, convert_to(source.payload_text, 'UTF8'), '')), 'hex') as version_id,
        -- escape, not convert_from: the bytes may be exactly the invalid UTF-8 that sent the item here.
        coalesce(left(source.payload_text, 200), encode(substring(source.payload_bytes from 1 for 200), 'escape'))
            as observed_value,
        source.received_at
    from source

)

select * from final
