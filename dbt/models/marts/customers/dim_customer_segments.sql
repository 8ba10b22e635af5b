-- One row per customer and segment key: the segments a customer belongs to. The partner's own attributes
-- (stg_ops__customer_attributes), and a seat band derived from its licences (the latest licensedUserCount
-- Graph reports with Secure Score, placed in the seat_bands seed) when the partner has not set one.
with

attributes as (

    select * from {{ ref('stg_ops__customer_attributes') }}

),

scores as (

    select * from {{ ref('fct_secure_scores') }}

),

seat_bands as (

    select * from {{ ref('seat_bands') }}

),

latest_licences as (

    select distinct on (tenant_id)
        tenant_id,
        licensed_user_count,
        score_date
    from scores
    where licensed_user_count is not null
    order by tenant_id asc, score_date desc

),

partner_set as (

    select
        tenant_id,
        attribute_key as segment_key,
        attribute_value as segment_value,
        'partner' as segment_source,
        set_by,
        set_at,
        null::date as derived_from_date
    from attributes

),

derived_seat_bands as (

    select
        latest_licences.tenant_id,
        'seat_band' as segment_key,
        seat_bands.seat_band as segment_value,
        'licences' as segment_source,
        null as set_by,
        null::timestamptz as set_at,
        latest_licences.score_date as derived_from_date
    from latest_licences
    inner join seat_bands
        on
            latest_licences.licensed_user_count >= seat_bands.min_seats
            and (seat_bands.max_seats is null or latest_licences.licensed_user_count <= seat_bands.max_seats)
    where not exists (
        select 1
        from partner_set
        where partner_set.tenant_id = latest_licences.tenant_id and partner_set.segment_key = 'seat_band'
    )

),

final as (

    select
        segments.tenant_id,
        segments.segment_key,
        segments.segment_value,
        segments.segment_key || '=' || segments.segment_value as segment,
        segments.segment_key in (
            {%- for key in var('well_known_segment_keys') %}'{{ key }}'{{ ", " if not loop.last }}{% endfor -%}
        ) as is_well_known,
        segments.segment_source,
        segments.set_by,
        segments.set_at,
        segments.derived_from_date
    from (
        select * from partner_set
        union all
        select * from derived_seat_bands
    ) as segments

)

select * from final
