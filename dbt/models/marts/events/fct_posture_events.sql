{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='merge',
        full_refresh=false,
        on_schema_change='append_new_columns',
        indexes=[
            {'columns': ['event_id'], 'unique': true},
            {'columns': ['is_active']},
            {'columns': ['tenant_id']},
        ],
    )
}}

-- The posture alert rules (stg_ops__posture_rules), evaluated at the latest run's point in time, as events: an
-- event starts when its condition first holds and is cleared by the first build in which it no longer does.
-- Incremental and never fully refreshed (`full_refresh=false`): history survives the weekly --full-refresh. What
-- people did with an event (ack, snooze) and what was delivered live in ops, keyed by event_id.
with

rules as (

    select * from {{ ref('stg_ops__posture_rules') }}

),

runs as (

    select * from {{ ref('stg_ops__runs') }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

segments as (

    select * from {{ ref('int_customer_segments_assigned') }}

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

incidents as (

    select * from {{ ref('fct_incidents') }}

),

freshness as (

    select * from {{ ref('fct_tenant_freshness') }}

),

relationships as (

    select * from {{ ref('stg_graph__gdap_relationships') }}

),

evaluation as (

    -- The latest run's point in time (its data interval's end), never the wall clock: a rebuild evaluates the same.
    select max(run_as_of) as evaluated_at from runs

),

scoped as (

    -- Each rule with each current customer it applies to: listed, or in one of its segments (every customer when
    -- neither is given), and not excluded.
    select
        rules.*,
        customers.tenant_id,
        evaluation.evaluated_at
    from rules
    cross join evaluation
    inner join customers
        on
            not customers.is_departed
            and not customers.is_excluded
            and not customers.tenant_id = any(rules.excluded_tenant_ids)
            and (
                (rules.tenant_ids is null and rules.segments is null)
                or customers.tenant_id = any(coalesce(rules.tenant_ids, '{}'))
                or exists (
                    select 1 from segments
                    where segments.tenant_id = customers.tenant_id and segments.segment = any(rules.segments)
                )
            )
    where evaluation.evaluated_at is not null

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

new_incidents as (

    select
        scoped.rule_id,
        scoped.tenant_id,
        incidents.incident_id as subject_id,
        incidents.severity || ' incident: ' || coalesce(incidents.display_name, incidents.incident_id) as subject_label,
        null::numeric as observed_value,
        incidents.created_at >= scoped.evaluated_at - scoped.threshold * interval '1 hour' as is_raisable
    from scoped
    inner join incidents on scoped.tenant_id = incidents.tenant_id
    where
        scoped.rule_type = 'new_incident'
        and incidents.is_open
        and not incidents.is_redirected
        and incidents.severity = any(scoped.alert_severities)

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
        'access ' || customers.access_state || ', last token ' || coalesce(customers.last_token_state, 'none')
            as subject_label,
        null::numeric as observed_value,
        true as is_raisable
    from scoped
    inner join customers on scoped.tenant_id = customers.tenant_id
    where
        scoped.rule_type = 'access_lost'
        and (
            customers.access_state in ('gdap_expired', 'gdap_no_security_role', 'none')
            or customers.last_token_state in ('consent_required', 'gdap_missing')
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
    select * from new_incidents
    union all
    select * from alert_backlog
    union all
    select * from access_lost
    union all
    select * from gdap_expiring
    union all
    select * from data_stale

),

described as (

    select
        conditions.*,
        rules.rule_type,
        rules.severity,
        rules.threshold,
        evaluation.evaluated_at
    from conditions
    inner join rules on conditions.rule_id = rules.rule_id
    cross join evaluation

),

open_events as (

    {% if is_incremental() %}
        select * from {{ this }}
        where is_active
    {% else %}
        select
            null::text as event_id,
            null::text as rule_id,
            null::uuid as tenant_id,
            null::text as subject_id,
            null::timestamptz as first_seen_at
        where false
    {% endif %}

),

raised_or_continuing as (

    select
        coalesce(
            open_events.event_id,
            md5(described.rule_id || '|' || described.tenant_id || '|' || described.subject_id || '|' || described.evaluated_at)
        ) as event_id,
        described.rule_id,
        described.rule_type,
        described.severity,
        described.tenant_id,
        described.subject_id,
        described.subject_label,
        described.observed_value,
        described.threshold,
        coalesce(open_events.first_seen_at, described.evaluated_at) as first_seen_at,
        described.evaluated_at as last_seen_at,
        null::timestamptz as cleared_at,
        true as is_active
    from described
    left join open_events
        on
            described.rule_id = open_events.rule_id
            and described.tenant_id = open_events.tenant_id
            and described.subject_id = open_events.subject_id
    where open_events.event_id is not null or described.is_raisable

),

cleared as (

    {% if is_incremental() %}
        select
            open_events.event_id,
            open_events.rule_id,
            open_events.rule_type,
            open_events.severity,
            open_events.tenant_id,
            open_events.subject_id,
            open_events.subject_label,
            open_events.observed_value,
            open_events.threshold,
            open_events.first_seen_at,
            open_events.last_seen_at,
            evaluation.evaluated_at as cleared_at,
            false as is_active
        from open_events
        cross join evaluation
        left join described
            on
                open_events.rule_id = described.rule_id
                and open_events.tenant_id = described.tenant_id
                and open_events.subject_id = described.subject_id
        where described.rule_id is null and evaluation.evaluated_at is not null
    {% else %}
        select * from raised_or_continuing
        where false
    {% endif %}

),

final as (

    select * from raised_or_continuing
    union all
    select * from cleared

)

select * from final
