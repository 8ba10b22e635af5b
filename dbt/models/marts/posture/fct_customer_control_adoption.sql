-- Per customer, on its latest Secure Score day: the share of applicable controls implemented, and points.
with

control_scores as (

    select * from {{ ref('int_control_scores_filtered_to_latest_day') }}

),

controls as (

    select * from {{ ref('dim_controls') }}

),

final as (

    select
        control_scores.tenant_id,
        max(control_scores.score_date) as score_date,
        count(*) filter (where control_scores.is_applicable) as controls_applicable,
        count(*) filter (where control_scores.is_applicable and control_scores.is_implemented)
            as controls_implemented,
        count(*) filter (where control_scores.is_applicable and control_scores.is_implemented)::double precision
        / nullif(count(*) filter (where control_scores.is_applicable), 0) as implemented_share,
        sum(control_scores.score) filter (where control_scores.is_applicable) as points_achieved,
        sum(control_scores.max_score) filter (where control_scores.is_applicable) as points_possible,
        sum(control_scores.points_gap) filter (where control_scores.is_applicable) as points_gap
    from control_scores
    inner join controls on control_scores.control_id = controls.control_id
    where not controls.is_deprecated
    group by control_scores.tenant_id

)

select * from final
