-- Each tenant's control state over time, from the controlStateUpdates history of the newest profile:
-- one row per state change with the interval it was in effect. Controls never updated are "default".
with

profiles as (

    select * from {{ ref('int_control_profiles_deduplicated') }}

),

updates as (

    select
        profiles.tenant_id,
        profiles.control_id,
        lower(update_item ->> 'state') as control_state,
        (update_item ->> 'updatedDateTime')::timestamptz as valid_from
    from profiles
    cross join lateral jsonb_array_elements(profiles.state_updates) as update_item
    where update_item ->> 'updatedDateTime' is not null

),

final as (

    select
        tenant_id,
        control_id,
        control_state,
        valid_from,
        coalesce(
            lead(valid_from) over (partition by tenant_id, control_id order by valid_from),
            'infinity'::timestamptz
        ) as valid_to
    from updates

)

select * from final
