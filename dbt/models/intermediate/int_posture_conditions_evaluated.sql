-- The posture rules' conditions that hold at the evaluation point (int_posture_rules_scoped), one row per rule,
-- customer and subject; incidents are int_incidents_flagged. `is_raisable` says whether a condition may start an
-- event (an alert older than the rule's window may only keep one going). Thresholds are compared as data.
with

scoped as (

    select * from {{ ref('int_posture_rules_scoped') }}

),

secure_scores as (

    select * from {{ ref('fct_secure_scores') }}

),

control_scores as (

    select * from {{ ref('fct_control_scores') }}

),

alerts as (

    select * from {{ ref('fct_alerts') }}

),

freshness as (

    select * from {{ ref('fct_tenant_freshness') }}

),

relationships as (

    select * from {{ ref('stg_graph__gdap_relationships') }}

),

latest_scores as (

    select distinct on (tenant_id)
        tenant_id,
        score_date,
        current_score,
        secure_score_pct
    from secure_scores
    order by tenant_id asc, score_date desc

),

score_below as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        'secure_score' as subject_id,
        'Secure Score ' || round(latest_scores.secure_score_pct::numeric, 1) || ' % on ' || latest_scores.score_date
            as subject_label,
        round(latest_scores.secure_score_pct::numeric, 2) as observed_value,
        true as is_raisable
    from scoped
    inner join latest_scores on scoped.tenant_id = latest_scores.tenant_id
    where scoped.rule_type = 'secure_score_below' and latest_scores.secure_score_pct < scoped.threshold

),

score_drop as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        'secure_score' as subject_id,
        'Secure Score ' || round(earlier.current_score::numeric, 1) || ' → ' || round(latest_scores.current_score::numeric, 1)
        || ' points (' || earlier.score_date || ' → ' || latest_scores.score_date || ')' as subject_label,
        round((earlier.current_score - latest_scores.current_score)::numeric, 2) as observed_value,
        true as is_raisable
    from scoped
    inner join latest_scores on scoped.tenant_id = latest_scores.tenant_id
    inner join secure_scores as earlier
        on
            scoped.tenant_id = earlier.tenant_id
            and earlier.score_date = latest_scores.score_date - scoped.window_days
    where
        scoped.rule_type = 'secure_score_drop'
        and earlier.current_score - latest_scores.current_score >= scoped.threshold

),

control_regressions as (

    -- Implemented on some day of the window before the latest, not implemented on the latest day.
    select
        scoped.rule_id,
        scoped.tenant_id,
        control_scores.control_id as subject_id,
        'Control ' || control_scores.control_id || ' no longer implemented (' || latest_scores.score_date || ')'
            as subject_label,
        null::numeric as observed_value,
        true as is_raisable
    from scoped
    inner join latest_scores on scoped.tenant_id = latest_scores.tenant_id
    inner join control_scores
        on
            scoped.tenant_id = control_scores.tenant_id
            and control_scores.score_date between latest_scores.score_date - scoped.window_days and latest_scores.score_date
    where scoped.rule_type = 'control_regressed'
    group by scoped.rule_id, scoped.tenant_id, control_scores.control_id, latest_scores.score_date
    having
        coalesce(bool_or(control_scores.is_implemented) filter (where control_scores.score_date < latest_scores.score_date), false)
        and not coalesce(bool_or(control_scores.is_implemented) filter (where control_scores.score_date = latest_scores.score_date), true)

),

new_alerts as (

    -- Open alerts of the rule's severities; only one created within `within_hours` starts an event (older ones
    -- were there before the rule or the customer was watched), and an event lasts while its alert is open.
    select
        scoped.rule_id,
        scoped.tenant_id,
        alerts.alert_id as subject_id,
        alerts.severity || ' alert: ' || coalesce(alerts.title, alerts.alert_id) as subject_label,
        null::numeric as observed_value,
        alerts.created_at >= scoped.evaluated_at - scoped.threshold * interval '1 hour' as is_raisable
    from scoped
    inner join alerts on scoped.tenant_id = alerts.tenant_id
    where scoped.rule_type = 'new_alert' and alerts.is_open and alerts.severity = any(scoped.alert_severities)

),

alert_backlog as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        'alert_backlog' as subject_id,
        count(*) || ' open alerts older than ' || round(scoped.threshold) || ' h' as subject_label,
        round((extract(epoch from scoped.evaluated_at - min(alerts.created_at)) / 3600.0)::numeric, 1) as observed_value,
        true as is_raisable
    from scoped
    inner join alerts on scoped.tenant_id = alerts.tenant_id
    where
        scoped.rule_type = 'alert_backlog'
        and alerts.is_open
        and alerts.severity = any(scoped.alert_severities)
        and alerts.created_at < scoped.evaluated_at - scoped.threshold * interval '1 hour'
    group by scoped.rule_id, scoped.tenant_id, scoped.threshold, scoped.evaluated_at

),

access_lost as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        'access' as subject_id,
        'access ' || scoped.access_state || ', last token ' || coalesce(scoped.last_token_state, 'none')
            as subject_label,
        null::numeric as observed_value,
        true as is_raisable
    from scoped
    where
        scoped.rule_type = 'access_lost'
        and (
            scoped.access_state in ('gdap_expired', 'gdap_no_security_role', 'none')
            or scoped.last_token_state in ('consent_required', 'gdap_missing')
        )
        -- Lost means it was had: only a customer with data loaded once (readable then) can lose access; one never
        -- readable (a GDAP relationship never approved, consent never given) raises no access-lost event.
        and exists (
            select 1 from freshness
            where freshness.tenant_id = scoped.tenant_id and freshness.last_loaded_at is not null
        )

),

latest_relationships as (

    select distinct on (tenant_id, relationship_id)
        tenant_id,
        relationship_id,
        display_name,
        status,
        end_at,
        is_auto_extended
    from relationships
    order by tenant_id asc, relationship_id asc, extracted_at desc, last_modified_at desc nulls last, version_id asc

),

gdap_expiring as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        latest_relationships.relationship_id as subject_id,
        'GDAP relationship ' || coalesce(latest_relationships.display_name, latest_relationships.relationship_id)
        || ' ends ' || to_char(latest_relationships.end_at at time zone 'UTC', 'YYYY-MM-DD') || ', no auto-extend'
            as subject_label,
        round((extract(epoch from latest_relationships.end_at - scoped.evaluated_at) / 86400.0)::numeric, 1)
            as observed_value,
        true as is_raisable
    from scoped
    inner join latest_relationships on scoped.tenant_id = latest_relationships.tenant_id
    where
        scoped.rule_type = 'gdap_expiring'
        and latest_relationships.status in ('active', 'expiring')
        and not latest_relationships.is_auto_extended
        and latest_relationships.end_at > scoped.evaluated_at
        and latest_relationships.end_at <= scoped.evaluated_at + scoped.threshold * interval '1 day'

),

data_stale as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        freshness.dataset as subject_id,
        freshness.dataset || coalesce(
            ' last loaded ' || round(freshness.hours_behind_latest_run::numeric) || ' h before the latest run',
            ' never loaded'
        ) as subject_label,
        round(freshness.hours_behind_latest_run::numeric, 1) as observed_value,
        true as is_raisable
    from scoped
    inner join freshness on scoped.tenant_id = freshness.tenant_id
    where
        scoped.rule_type = 'data_stale'
        and freshness.is_extractable
        and (freshness.last_loaded_at is null or freshness.hours_behind_latest_run > scoped.threshold)

),

conditions as (

    select * from score_below
    union all
    select * from score_drop
    union all
    select * from control_regressions
    union all
    select * from new_alerts
    union all
    select * from alert_backlog
    union all
    select * from access_lost
    union all
    select * from gdap_expiring
    union all
    select * from data_stale

),

final as (

    select
        conditions.*,
        scoped.rule_type,
        scoped.severity,
        scoped.threshold,
        scoped.evaluated_at
    from conditions
    inner join scoped
        on conditions.rule_id = scoped.rule_id and conditions.tenant_id = scoped.tenant_id

)

select * from final
