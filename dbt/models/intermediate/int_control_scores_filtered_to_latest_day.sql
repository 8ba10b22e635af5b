{{
    config(
        materialized='table',
        indexes=[
            {'columns': ['tenant_id']},
            {'columns': ['control_id']},
        ],
        post_hook="analyze {{ this }}",
    )
}}

-- Each customer's control scores on its latest Secure Score day: the current state of every control, which
-- adoption and opportunities read. A table: three models read it, and its input grows with the history.
with

control_scores as (

    select * from {{ ref('fct_control_scores') }}

),

latest_days as (

    select
        tenant_id,
        max(score_date) as score_date
    from {{ ref('fct_secure_scores') }}
    group by tenant_id

),

final as (

    select control_scores.*
    from control_scores
    inner join latest_days
        on
            control_scores.tenant_id = latest_days.tenant_id
            and control_scores.score_date = latest_days.score_date

)

select * from final
