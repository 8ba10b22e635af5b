-- One row per control per landed Secure Score version: controlScores exploded, with the undocumented
-- properties Graph sends beside the documented ones (scoreInPercentage, IsApplicable, implementationStatus…).
with

scores as (

    select * from {{ ref('stg_graph__secure_scores') }}

),

exploded as (

    select
        scores.secure_score_id,
        scores.tenant_id,
        scores.version_id,
        scores.score_date,
        control.item,
        scores.extracted_at
    from scores
    cross join lateral jsonb_array_elements(scores.control_scores) as control (item)

),

final as (

    select
        exploded.secure_score_id,
        exploded.tenant_id,
        exploded.version_id,
        exploded.score_date,
        record."controlName" as control_id,
        record."controlCategory" as control_category,
        record.score,
        record."scoreInPercentage" as score_in_percentage,
        case lower(record."IsApplicable") when 'true' then true when 'false' then false end as is_applicable,
        record."implementationStatus" as implementation_status,
        exploded.extracted_at
    from exploded
    cross join lateral jsonb_to_record(exploded.item) as record (
        "controlName" text,
        "controlCategory" text,
        score double precision,
        "scoreInPercentage" double precision,
        "IsApplicable" text,
        "implementationStatus" text
    )

)

select * from final
