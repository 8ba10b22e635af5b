-- Each tenant's control state over time, from the controlStateUpdates history of the newest profile:
-- one row per state change with the interval it was in effect. Controls never updated are "default".
with

profiles as (

    select * from {{ ref('int_control_profiles_deduplicated') }}

),

updates as (

    -- Parsed as stg_graph__control_profiles parses them (its data_issues say what was wrong); rows kept from
    -- before that model checked the array are read safely too.
    select
        profiles.tenant_id,
        profiles.control_id,
        lower({{ json_text("update_item -> 'state'", max_length=100) }}) as control_state,
        {{ json_timestamp("update_item -> 'updatedDateTime'") }} as valid_from
    from profiles
    cross join lateral jsonb_array_elements({{ json_array('profiles.state_updates') }}) as update_item

),

final as (

    select
        tenant_id,
        control_id,
        control_state,
        valid_from,
        coalesce(
            lead(valid_from) over (partition by tenant_id, control_id order by valid_from, control_state),
            'infinity'::timestamptz
        ) as valid_to
    from updates
    where valid_from is not null

)

select * from final
