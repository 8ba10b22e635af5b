-- Posture alert rules and what happened to their events. The rules come from the rules file
-- (SMART_OFFICE_EVENT_RULES_FILE, smart_office/events/default_rules.yaml by default): the DAG writes them here
-- before dbt builds, and dbt reads them as data (stg_ops__posture_rules) — thresholds never become SQL text.
-- Events themselves are a mart (marts.fct_posture_events, incremental and never fully refreshed); what people
-- and the delivery did with them lives here, in ops, which no dbt build rewrites.
create table ops.posture_rules (
    rule_id text primary key,
    rule_type text not null,
    severity text not null check (severity in ('info', 'warning', 'critical')),
    -- One meaning per rule type (docs/events.md): percent, points, hours or days.
    threshold numeric,
    window_days integer,
    alert_severities text[],
    -- Scope: null means every customer; a customer matches when it is listed or carries one of the segments,
    -- and is not excluded.
    tenant_ids uuid[],
    segments text[],
    excluded_tenant_ids uuid[] not null default '{}',
    loaded_at timestamptz not null
);

-- Acknowledgements and snoozes: one row per action, kept (who, when, until).
create table ops.posture_event_actions (
    action_id bigint generated always as identity primary key,
    event_id text not null,
    action_type text not null check (action_type in ('ack', 'snooze', 'unsnooze')),
    actor text not null,
    acted_at timestamptz not null,
    snoozed_until timestamptz,
    note text,
    check ((action_type = 'snooze') = (snoozed_until is not null))
);
create index posture_event_actions_event on ops.posture_event_actions (event_id, acted_at);

-- One row per event × transition (raised, cleared) × channel attempt. A delivered row is never sent again.
create table ops.posture_event_deliveries (
    delivery_id bigint generated always as identity primary key,
    event_id text not null,
    transition text not null check (transition in ('raised', 'cleared', 'digest')),
    channel text not null,
    attempt integer not null,
    attempted_at timestamptz not null,
    delivered boolean not null,
    http_status integer,
    error text,
    run_id text
);
create unique index posture_event_deliveries_once
on ops.posture_event_deliveries (event_id, transition, channel) where delivered;
