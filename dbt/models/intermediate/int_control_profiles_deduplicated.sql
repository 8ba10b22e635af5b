{{
    config(
        materialized='incremental',
        unique_key=['tenant_id', 'control_id'],
        incremental_strategy='merge',
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['tenant_id', 'control_id'], 'unique': true},
            {'columns': ['extracted_at']},
        ],
        post_hook="analyze {{ this }}",
    )
}}

-- The newest landed version of each tenant's control profile (title, max score, current state …).
-- A table, incremental: dim_controls, fct_control_scores and the state history read it every day, and
-- re-parsing every profile version ever landed would cost what the history costs.
with

versions as (

    select * from {{ ref('stg_graph__control_profiles') }}
    {{ incremental_window() }}

),

final as (

    select distinct on (tenant_id, control_id) *
    from versions
    order by tenant_id asc, control_id asc, extracted_at desc, version_id asc

)

select * from final
