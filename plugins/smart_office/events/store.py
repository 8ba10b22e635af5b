"""What lives in ops for posture events: the rules in force, acknowledgements and snoozes, and listing events.

Events are the mart `marts.fct_posture_events` (built by dbt); what people did with them is `ops.posture_event_actions`
(one row per action, never rebuilt). SQL is composed with psycopg.sql; values are always parameters.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from smart_office.events.rules import PostureRule, rule_rows

EVENTS_MART = sql.Identifier("marts", "fct_posture_events")
RULE_COLUMNS = (
    "rule_id",
    "rule_type",
    "severity",
    "threshold",
    "window_days",
    "alert_severities",
    "tenant_ids",
    "segments",
    "excluded_tenant_ids",
)


class EventNotFoundError(LookupError):
    """No posture event has that id."""


def write_rules(conn: psycopg.Connection, rules: Sequence[PostureRule], *, loaded_at: datetime) -> int:
    """Replace the rules in force with `rules`, in one transaction (a retried task writes the same)."""
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in (*RULE_COLUMNS, "loaded_at"))
    placeholders = sql.SQL(", ").join(sql.Placeholder() for _ in range(len(RULE_COLUMNS) + 1))
    insert = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier("ops", "posture_rules"), columns, placeholders
    )
    with conn.transaction():
        conn.execute(sql.SQL("delete from {}").format(sql.Identifier("ops", "posture_rules")))
        with conn.cursor() as cur:
            cur.executemany(insert, [(*row, loaded_at) for row in rule_rows(rules)])
    return len(rules)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event as `smart-office events list` shows it, with its latest ack and snooze."""

    event_id: str
    rule_id: str
    severity: str
    tenant_id: str
    company_name: str | None
    subject_label: str | None
    observed_value: float | None
    threshold: float | None
    first_seen_at: datetime
    last_seen_at: datetime
    cleared_at: datetime | None
    is_active: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    snoozed_until: datetime | None


# The latest ack and the latest snooze (or unsnooze) of each event: one home for "acknowledged" and "snoozed".
EVENT_STATE_SQL = sql.SQL(
    """
    select
        e.event_id, e.rule_id, e.severity, e.tenant_id::text, c.company_name, e.subject_label,
        e.observed_value::float8, e.threshold::float8, e.first_seen_at, e.last_seen_at, e.cleared_at, e.is_active,
        ack.actor, ack.acted_at, snooze.snoozed_until
    from {events} as e
    left join {customers} as c on c.tenant_id = e.tenant_id
    left join lateral (
        select a.actor, a.acted_at from {actions} as a
        where a.event_id = e.event_id and a.action_type = 'ack' order by a.acted_at desc, a.action_id desc limit 1
    ) as ack on true
    left join lateral (
        select a.snoozed_until from {actions} as a
        where a.event_id = e.event_id and a.action_type in ('snooze', 'unsnooze')
        order by a.acted_at desc, a.action_id desc limit 1
    ) as snooze on true
    """
).format(
    events=EVENTS_MART,
    customers=sql.Identifier("marts", "dim_customers"),
    actions=sql.Identifier("ops", "posture_event_actions"),
)


def list_events(
    conn: psycopg.Connection,
    *,
    active_only: bool = True,
    tenant_id: str | None = None,
    rule_id: str | None = None,
    limit: int = 200,
) -> list[EventRow]:
    """Events, newest first; by default the active ones."""
    filters: list[sql.Composable] = []
    params: list[Any] = []
    if active_only:
        filters.append(sql.SQL("e.is_active"))
    if tenant_id:
        filters.append(sql.SQL("e.tenant_id = %s"))
        params.append(str(uuid.UUID(tenant_id)))
    if rule_id:
        filters.append(sql.SQL("e.rule_id = %s"))
        params.append(rule_id)
    where = sql.SQL(" where ") + sql.SQL(" and ").join(filters) if filters else sql.SQL("")
    query = sql.SQL("{} {} order by e.first_seen_at desc, e.event_id limit %s").format(EVENT_STATE_SQL, where)
    return [EventRow(*row) for row in conn.execute(query, [*params, limit])]


def _require_event(conn: psycopg.Connection, event_id: str) -> None:
    found = conn.execute(
        sql.SQL("select 1 from {} where event_id = %s").format(EVENTS_MART), (event_id,)
    ).fetchone()
    if found is None:
        raise EventNotFoundError(f"no posture event {event_id!r} (see `smart-office events list --all`)")


def record_action(
    conn: psycopg.Connection,
    event_id: str,
    action: str,
    *,
    actor: str,
    at: datetime,
    until: datetime | None = None,
    note: str | None = None,
) -> None:
    """Record an ack, snooze (with `until`) or unsnooze of an event that exists."""
    if action not in {"ack", "snooze", "unsnooze"}:
        raise ValueError(f"unknown action {action!r}")
    if (action == "snooze") != (until is not None):
        raise ValueError("a snooze, and only a snooze, has an end (`until`)")
    with conn.transaction():
        _require_event(conn, event_id)
        conn.execute(
            sql.SQL(
                "insert into {} (event_id, action_type, actor, acted_at, snoozed_until, note) values (%s, %s, %s, %s, %s, %s)"
            ).format(sql.Identifier("ops", "posture_event_actions")),
            (event_id, action, actor, at, until, note),
        )
