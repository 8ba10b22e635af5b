"""`smart-office events`: list posture events, acknowledge or snooze them, check the rules file.

Mounted by the main CLI (`app.add_typer(events_app, name="events")`); errors are CliError, one line each.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from smart_office.wording import counted

console = Console()
events_app = typer.Typer(
    help="Posture events raised by the alert rules (docs/events.md): list, ack, snooze.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

_DURATION = re.compile(r"^(\d+)([hdw])$")
EventIdArgument = Annotated[str, typer.Argument(help="The event's id (`smart-office events list`).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who acts (default: your login name).")]
NoteOption = Annotated[str | None, typer.Option(help="A note kept with the action.")]


def _connect():  # type: ignore[no-untyped-def]
    from smart_office.cli import _settings
    from smart_office.warehouse.connection import connect

    return connect(_settings(require_partner=False, require_warehouse=True).warehouse, autocommit=True)


def _actor(by: str | None) -> str:
    actor = (by or getpass.getuser()).strip()
    if not actor:
        from smart_office.cli import CliError

        raise CliError("--by: who acts must not be empty")
    return actor[:200]


def parse_until(until: str | None, for_: str | None, now: datetime) -> datetime:
    """The end of a snooze: an ISO 8601 instant (`--until`) or a duration from now (`--for 12h|3d|1w`)."""
    from smart_office.cli import CliError

    if (until is None) == (for_ is None):
        raise CliError("snooze needs one of --until (ISO 8601) or --for (e.g. 12h, 3d, 1w)")
    if for_ is not None:
        match = _DURATION.match(for_.strip())
        if not match:
            raise CliError(f"--for {for_!r}: not a duration such as 12h, 3d or 1w")
        amount, unit = int(match.group(1)), match.group(2)
        return now + timedelta(hours=amount * {"h": 1, "d": 24, "w": 24 * 7}[unit])
    try:
        moment = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--until {until!r}: not an ISO 8601 date or time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if moment <= now:
        raise CliError(f"--until {until}: is not in the future")
    return moment


def _act(
    event_id: str, action: str, actor: str, until: datetime | None, note: str | None, at: datetime
) -> None:
    from smart_office.cli import CliError
    from smart_office.events.store import EventNotFoundError, record_action

    try:
        with _connect() as conn:
            record_action(conn, event_id, action, actor=actor, at=at, until=until, note=note)
    except EventNotFoundError as exc:
        raise CliError(str(exc), code=1) from None


@events_app.command("list")
def list_command(
    all_: Annotated[bool, typer.Option("--all", help="Cleared events too, not only active ones.")] = False,
    tenant: Annotated[str | None, typer.Option(help="Only this customer tenant.")] = None,
    rule: Annotated[str | None, typer.Option(help="Only this rule.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 200,
) -> None:
    """The posture events, newest first, with who acknowledged them and until when they are snoozed."""
    import uuid

    from smart_office.cli import CliError
    from smart_office.events.store import list_events

    if tenant is not None:
        try:
            uuid.UUID(tenant)
        except ValueError:
            raise CliError(f"--tenant {tenant!r}: not a tenant id (a GUID)") from None
    with _connect() as conn:
        events = list_events(conn, active_only=not all_, tenant_id=tenant, rule_id=rule, limit=limit)
    if as_json:
        for event in events:
            typer.echo(json.dumps({k: _plain(v) for k, v in dataclasses.asdict(event).items()}))
        return
    if not events:
        console.print("no posture events" + ("" if all_ else " active"))
        return
    for e in events:
        state = "active" if e.is_active else f"cleared {e.cleared_at:%Y-%m-%d %H:%M}"
        extra = []
        if e.acknowledged_by:
            extra.append(f"acked by {e.acknowledged_by}")
        if e.snoozed_until:
            extra.append(f"snoozed until {e.snoozed_until:%Y-%m-%d %H:%M}")
        console.print(
            f"{e.event_id}  {e.severity:<8} {e.rule_id:<20} {e.company_name or e.tenant_id}  "
            f"{e.subject_label or ''}  [{state}, since {e.first_seen_at:%Y-%m-%d %H:%M}"
            + ("; " + "; ".join(extra) if extra else "")
            + "]",
            soft_wrap=True,
            markup=False,
        )


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


@events_app.command("ack")
def ack_command(event_id: EventIdArgument, by: ByOption = None, note: NoteOption = None) -> None:
    """Acknowledge an event: it leaves the digest; its clear notification is still sent."""
    now = datetime.now(UTC)
    actor = _actor(by)
    _act(event_id, "ack", actor, None, note, now)
    console.print(f"event {event_id} acknowledged by {actor}", markup=False)


@events_app.command("snooze")
def snooze_command(
    event_id: EventIdArgument,
    until: Annotated[
        str | None, typer.Option(help="Snooze until this instant (ISO 8601, UTC if no offset).")
    ] = None,
    for_: Annotated[str | None, typer.Option("--for", help="Snooze for a duration: 12h, 3d, 1w.")] = None,
    by: ByOption = None,
    note: NoteOption = None,
) -> None:
    """Snooze an event: nothing is sent for it until then (a notification held back is sent after)."""
    now = datetime.now(UTC)
    end = parse_until(until, for_, now)
    actor = _actor(by)
    _act(event_id, "snooze", actor, end, note, now)
    console.print(f"event {event_id} snoozed until {end.isoformat()} by {actor}", markup=False)


@events_app.command("unsnooze")
def unsnooze_command(event_id: EventIdArgument, by: ByOption = None) -> None:
    """End a snooze now."""
    actor = _actor(by)
    _act(event_id, "unsnooze", actor, None, None, datetime.now(UTC))
    console.print(f"event {event_id} no longer snoozed", markup=False)


@events_app.command("rules")
def rules_command(
    file: Annotated[
        Path | None, typer.Option(help="A rules file (default: SMART_OFFICE_EVENT_RULES_FILE).")
    ] = None,
) -> None:
    """Validate the rules file and list its rules."""
    from smart_office.cli import CliError
    from smart_office.events.rules import RuleConfigError, load_rules, rules_file

    path = file or rules_file()
    try:
        rules = load_rules(path)
    except RuleConfigError as exc:
        raise CliError(str(exc)) from None
    console.print(f"{path}: {counted(len(rules), 'rule')}", markup=False)
    for r in rules:
        scope = "every customer"
        if r.tenant_ids is not None or r.segments is not None:
            scope = f"tenants {list(r.tenant_ids or ())}, segments {list(r.segments or ())}"
        console.print(
            f"  {r.rule_id}: {r.rule_type}, {r.severity}, threshold {r.threshold}, {scope}", markup=False
        )
