-- One row per landed version of a daily Secure Score record, flattened once.
with

source as (

    select * from {{ source('graph', 'secure_scores') }}

),

flattened as (

    select
        source.entity_id as secure_score_id,
        source.tenant_id,
        encode(source.payload_hash, 'hex') as version_id,
        record."createdDateTime" as created_at,
        (record."createdDateTime" at time zone 'utc')::date as score_date,
        record."currentScore" as current_score,
        record."maxScore" as max_score,
        record."licensedUserCount" as licensed_user_count,
        record."activeUserCount" as active_user_count,
        coalesce(record."enabledServices", '{}') as enabled_services,
        coalesce(source.payload -> 'averageComparativeScores', '[]'::jsonb) as comparative_scores,
        coalesce(source.payload -> 'controlScores', '[]'::jsonb) as control_scores,
        source.source_updated_at,
        source.extracted_at,
        source.run_id
    from source
    cross join lateral jsonb_to_record(source.payload) as record (
        "createdDateTime" timestamptz,
        "currentScore" double precision,
        "maxScore" double precision,
        "licensedUserCount" integer,
        "activeUserCount" integer,
        "enabledServices" text[]
    )

),

final as (

    select
        secure_score_id,
        tenant_id,
        version_id,
        created_at,
        score_date,
        current_score,
        max_score,
        licensed_user_count,
        active_user_count,
        enabled_services,
        -- Microsoft's comparatives are chosen by `basis`, never by position; -1 and absent mean "unknown".
        {{ comparative_score('comparative_scores', 'AllTenants') }} as comparative_all_tenants_pct,
        {{ comparative_score('comparative_scores', 'TotalSeats') }} as comparative_similar_size_pct,
        {{ comparative_score('comparative_scores', 'IndustryTypes') }} as comparative_industry_pct,
        control_scores,
        source_updated_at,
        extracted_at,
        run_id
    from flattened

)

select * from final
