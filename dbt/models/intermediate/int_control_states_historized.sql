-- Each tenant's controls over time: one row per interval in which a state was in effect (from the
-- controlStateUpdates of the newest profile), with the profile's max score. Before the first update, and for
-- a control never updated, the state is `default`, so every profile's intervals cover all time.
with

profiles as (

    select * from {{ ref('int_control_profiles_deduplicated') }}

),

initial_states as (

    select
        tenant_id,
        control_id,
        max_score,
        0::bigint as state_position,
        'default'::text as control_state,
        '-infinity'::timestamptz as valid_from
    from profiles

),

updates as (

    -- Parsed as stg_graph__control_profiles parses them (its data_issues say what was wrong); rows kept from
    -- before that model checked the array are read safely too.
    select
        profiles.tenant_id,
        profiles.control_id,
        profiles.max_score,
        update_item.position as state_position,
        lower({{ json_text("update_item.value -> 'state'", max_length=100) }}) as control_state,
        {{ json_timestamp("update_item.value -> 'updatedDateTime'") }} as valid_from
    from profiles
    cross join lateral jsonb_array_elements(
        coalesce({{ json_array('profiles.state_updates') }}, '[]'::jsonb)
    ) with ordinality as update_item (value, position)

),

changes as (

    select * from initial_states

    union all

    select * from updates
    where valid_from is not null

),

final as (

    select
        tenant_id,
        control_id,
        state_position,
        control_state,
        max_score,
        valid_from,
        coalesce(
            lead(valid_from) over (
                partition by tenant_id, control_id order by valid_from, control_state, state_position
            ),
            'infinity'::timestamptz
        ) as valid_to
    from changes

)

select * from final
