-- One row per landed version of a tenant's secureScoreControlProfile, flattened once.
with

source as (

    select * from {{ source('graph', 'secure_score_control_profiles') }}

),

flattened as (

    select
        source.entity_id as control_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        record.title,
        record."controlCategory" as control_category,
        record.service,
        record.tier,
        record."userImpact" as user_impact,
        record."implementationCost" as implementation_cost,
        record."actionType" as action_type,
        record."actionUrl" as action_url,
        record."maxScore" as max_score,
        record.rank,
        coalesce(record.deprecated, false) as is_deprecated,
        coalesce(record.threats, '{}') as threats,
        record.remediation,
        record."remediationImpact" as remediation_impact,
        record."lastModifiedDateTime" as last_modified_at,
        coalesce(source.payload -> 'controlStateUpdates', '[]'::jsonb) as state_updates,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_to_record(source.payload) as record (
        title text,
        "controlCategory" text,
        service text,
        tier text,
        "userImpact" text,
        "implementationCost" text,
        "actionType" text,
        "actionUrl" text,
        "maxScore" double precision,
        rank integer,
        deprecated boolean,
        threats text[],
        remediation text,
        "remediationImpact" text,
        "lastModifiedDateTime" timestamptz
    )

),

final as (

    select
        flattened.*,
        latest_state.state as control_state,
        latest_state.updated_at as control_state_updated_at,
        latest_state.updated_by as control_state_updated_by
    from flattened
    left join lateral (
        select
            -- Graph sends Default/Ignored/ThirdParty/Reviewed; normalise the case, keep unknown values.
            lower(update_item ->> 'state') as state,
            (update_item ->> 'updatedDateTime')::timestamptz as updated_at,
            update_item ->> 'updatedBy' as updated_by
        from jsonb_array_elements(flattened.state_updates) as update_item
        order by (update_item ->> 'updatedDateTime')::timestamptz desc nulls last
        limit 1
    ) as latest_state on true

)

select * from final
