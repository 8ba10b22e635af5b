"""Posture-event delivery: one notification when an event is raised and one when it clears, per channel.

Channels (all optional; docs/events.md): a generic webhook (the JSON body below), Microsoft Teams (Workflows /
incoming webhook, an Adaptive Card), Slack (Block Kit), and e-mail through Airflow's SMTP connection. Every
attempt is a row of `ops.posture_event_deliveries`; a notification with a delivered row is never sent again,
so a retried task sends only what was not delivered. Webhook URLs are secrets: errors and logs name the host.

What is due, per channel: `raised` for an active event; `cleared` for an event no longer active whose `raised`
went out on that channel (an event never announced is not announced as cleared). A snoozed event waits until
its snooze ends; an acknowledged one still gets its clear notification.
"""

from __future__ import annotations

import email.utils
import html
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import sql

from smart_office.events.store import EVENT_STATE_SQL
from smart_office.redaction import Secret, redact_text
from smart_office.settings import Settings, SettingsError
from smart_office.wording import counted

log = logging.getLogger(__name__)

WEBHOOK_URL_ENV = "SMART_OFFICE_EVENTS_WEBHOOK_URL"
TEAMS_URL_ENV = "SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL"
SLACK_URL_ENV = "SMART_OFFICE_EVENTS_SLACK_WEBHOOK_URL"
EMAILS_ENV = "SMART_OFFICE_EVENTS_EMAILS"
SMTP_CONN_ENV = "SMART_OFFICE_EVENTS_SMTP_CONN_ID"
DIGEST_ENV = "SMART_OFFICE_EVENTS_DIGEST"
BODY_SCHEMA = "smart-office.posture-event/1"
DIGEST_SCHEMA = "smart-office.posture-digest/1"
DIGEST_EVENTS = 50
SUBJECT_PREFIX = "[Partner Smart Office]"
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
_MAX_WAIT_SECONDS = 300.0
_ERROR_CHARS = 300


class DeliveryError(RuntimeError):
    """Some notifications could not be delivered after every attempt; names channels and counts only."""


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """Where posture events go, validated; webhook URLs kept as Secrets."""

    webhook_url: Secret | None = None
    teams_url: Secret | None = None
    slack_url: Secret | None = None
    emails: tuple[str, ...] = ()
    smtp_conn_id: str = "smtp_default"
    digest: bool = False

    def __repr__(self) -> str:
        return f"ChannelSettings(channels={self.channels()!r})"

    def channels(self) -> list[str]:
        names = [("webhook", self.webhook_url), ("teams", self.teams_url), ("slack", self.slack_url)]
        return [name for name, url in names if url] + (["email"] if self.emails else [])

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ChannelSettings:
        from smart_office.notifications import _EMAIL

        env = os.environ if env is None else env

        def url(name: str) -> Secret | None:
            value = env.get(name, "").strip()
            if not value:
                return None
            parts = urlsplit(value)
            if parts.scheme != "https" or not parts.hostname:
                raise SettingsError(f"{name} must be an https:// URL with a host")
            return Secret(value)

        emails = tuple(e.strip() for e in env.get(EMAILS_ENV, "").split(",") if e.strip())
        for address in emails:
            if not _EMAIL.match(address):
                raise SettingsError(f"{EMAILS_ENV} holds {address!r}, which is not an e-mail address")
        digest = env.get(DIGEST_ENV, "").strip().lower()
        if digest not in {"", "true", "false", "1", "0", "yes", "no"}:
            raise SettingsError(f"{DIGEST_ENV} must be true or false, not {digest!r}")
        return cls(
            digest=digest in {"true", "1", "yes"},
            webhook_url=url(WEBHOOK_URL_ENV),
            teams_url=url(TEAMS_URL_ENV),
            slack_url=url(SLACK_URL_ENV),
            emails=emails,
            smtp_conn_id=env.get(SMTP_CONN_ENV, "").strip() or "smtp_default",
        )


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts per notification in one task run, and the waits between them (Retry-After wins, capped)."""

    attempts: int = 4
    backoff_seconds: float = 2.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, _MAX_WAIT_SECONDS)
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


# --- message bodies -----------------------------------------------------------------------------------------


def event_body(event: Mapping[str, Any], transition: str) -> dict[str, Any]:
    """The generic webhook's JSON body (docs/events.md, "JSON body"): the event's facts, no secret."""
    customer = event["company_name"] or event["tenant_id"]
    verb = "raised" if transition == "raised" else "cleared"
    text = f"{SUBJECT_PREFIX} {event['severity']}: {event['rule_id']} {verb} for {customer}: {event['subject_label']}"
    return {
        "schema": BODY_SCHEMA,
        "transition": transition,
        "event_id": event["event_id"],
        "rule_id": event["rule_id"],
        "rule_type": event["rule_type"],
        "severity": event["severity"],
        "tenant_id": event["tenant_id"],
        "company_name": event["company_name"],
        "subject_id": event["subject_id"],
        "subject": event["subject_label"],
        "observed_value": event["observed_value"],
        "threshold": event["threshold"],
        "first_seen_at": _iso(event["first_seen_at"]),
        "last_seen_at": _iso(event["last_seen_at"]),
        "cleared_at": _iso(event["cleared_at"]),
        "is_active": event["is_active"],
        "acknowledged_by": event["acknowledged_by"],
        "text": text,
    }


def digest_body(events: list[Mapping[str, Any]], day: str) -> dict[str, Any]:
    """The daily digest: the active events nobody acknowledged or snoozed (the first DIGEST_EVENTS of them)."""
    items = [
        {k: v for k, v in event_body(e, "raised").items() if k not in {"text", "transition"}} for e in events
    ]
    return {
        "schema": DIGEST_SCHEMA,
        "transition": "digest",
        "date": day,
        "active": len(events),
        "events": items[:DIGEST_EVENTS],
        "text": f"{SUBJECT_PREFIX} daily digest {day}: {counted(len(events), 'active posture event')} not acknowledged",
    }


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def _facts(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    if body["transition"] == "digest":
        return [
            (f"{e['severity']} · {e['rule_id']}", f"{e['company_name'] or e['tenant_id']}: {e['subject']}")
            for e in body["events"][:20]
        ]
    facts = [
        ("Customer", str(body["company_name"] or body["tenant_id"])),
        ("Rule", f"{body['rule_id']} ({body['rule_type']})"),
        ("Severity", str(body["severity"])),
        ("Condition", str(body["subject"])),
        ("First seen", str(body["first_seen_at"])),
    ]
    if body["observed_value"] is not None:
        facts.append(("Observed", f"{body['observed_value']:g} (threshold {body['threshold']:g})"))
    if body["cleared_at"]:
        facts.append(("Cleared", str(body["cleared_at"])))
    facts.append(("Event", str(body["event_id"])))
    return facts


def _title(body: Mapping[str, Any]) -> str:
    if body["transition"] == "digest":
        return (
            f"Daily digest {body['date']}: {counted(body['active'], 'active posture event')} not acknowledged"
        )
    verb = "cleared" if body["transition"] == "cleared" else "raised"
    return (
        f"{body['severity'].upper()}: {body['rule_id']} {verb} — {body['company_name'] or body['tenant_id']}"
    )


def teams_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Teams message with one Adaptive Card, as Workflows' "post to a channel when a webhook request is
    received" and incoming webhooks accept it."""
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": _title(body),
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                            "color": {"cleared": "Good", "digest": "Default"}.get(
                                body["transition"], "Attention"
                            ),
                        },
                        {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(body)]},
                    ],
                },
            }
        ],
    }


def slack_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message in Block Kit (with `text`, the notification's fallback)."""
    return {
        "text": body["text"],
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _title(body)[:150]}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{k}*\n{_slack_escape(v)}"} for k, v in _facts(body)[:10]
                ],
            },
        ],
    }


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def email_parts(body: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, HTML) of the e-mail for one notification."""
    rows = "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in _facts(body)
    )
    return f"{SUBJECT_PREFIX} {_title(body)}", f"<p>{html.escape(body['text'])}</p><table>{rows}</table>"


# --- transport ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Attempt:
    delivered: bool
    retryable: bool
    http_status: int | None = None
    error: str | None = None
    retry_after: float | None = None


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)


class _MaskUrl(logging.Filter):
    """Masks a webhook URL's path and query in urllib3's debug lines (`"POST /path?query HTTP/1.1" 200`)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        parts = urlsplit(url)
        self._secrets = [
            s for s in (parts.path + (f"?{parts.query}" if parts.query else ""), parts.path) if s
        ]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, "/***")
            record.msg, record.args = message, ()
        return True


_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry")


def post_json(url: Secret, payload: Mapping[str, Any], *, ca_bundle: str | None, timeout: float) -> Attempt:
    """One POST; the outcome names the host only (the URL is a credential, masked in urllib3's debug lines)."""
    import requests

    from smart_office.tls import requests_session

    host = urlsplit(url.reveal()).hostname
    mask = _MaskUrl(url.reveal())
    loggers = [logging.getLogger(name) for name in _URLLIB3_LOGGERS]
    for logger in loggers:
        logger.addFilter(mask)
    try:
        with requests_session(ca_bundle, pool_size=1, timeout=timeout) as session:
            response = session.post(url.reveal(), json=dict(payload))
    except requests.RequestException as exc:
        return Attempt(False, True, error=f"{host} unreachable ({type(exc).__name__})")
    finally:
        for logger in loggers:
            logger.removeFilter(mask)
    if 200 <= response.status_code < 300:
        return Attempt(True, False, http_status=response.status_code)
    return Attempt(
        False,
        response.status_code in RETRYABLE,
        http_status=response.status_code,
        error=f"{host} answered HTTP {response.status_code}",
        retry_after=_retry_after(response.headers.get("Retry-After"), time.time()),
    )


def send_email(to: tuple[str, ...], subject: str, html_content: str, *, smtp_conn_id: str) -> Attempt:
    """One e-mail through Airflow's SMTP connection (the transport notifications.py uses)."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    try:
        with SmtpHook(smtp_conn_id=smtp_conn_id) as hook:
            hook.send_email_smtp(to=list(to), subject=subject, html_content=html_content)
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return Attempt(
            False, True, error=redact_text(f"SMTP {type(exc).__name__}: {first_line}")[:_ERROR_CHARS]
        )
    return Attempt(True, False)


# --- what is due, and the delivery log ----------------------------------------------------------------------

_DELIVERIES = sql.Identifier("ops", "posture_event_deliveries")


def due_notifications(
    conn: psycopg.Connection, channel: str, as_of: datetime
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(transition, event) pairs not yet delivered on `channel`, oldest first; snoozed events wait."""
    query = sql.SQL(
        """
        with state as ({state})
        select case when s.is_active then 'raised' else 'cleared' end as transition, s.*, e.rule_type, e.subject_id
        from state as s
        join {events} as e on e.event_id = s.event_id
        where (s.snoozed_until is null or s.snoozed_until <= %(as_of)s)
          and not exists (
              select 1 from {deliveries} as d
              where d.event_id = s.event_id and d.channel = %(channel)s and d.delivered
                and d.transition = case when s.is_active then 'raised' else 'cleared' end
          )
          and (s.is_active or exists (
              select 1 from {deliveries} as d
              where d.event_id = s.event_id and d.channel = %(channel)s and d.delivered and d.transition = 'raised'
          ))
        order by s.first_seen_at, s.event_id
        """
    ).format(
        state=EVENT_STATE_SQL, events=sql.Identifier("marts", "fct_posture_events"), deliveries=_DELIVERIES
    )
    with conn.cursor() as cur:
        cur.execute(query, {"as_of": as_of, "channel": channel})
        names = [d.name for d in cur.description or ()]
        for row in cur.fetchall():
            record = dict(zip(names, row, strict=True))
            record["company_name"] = record.pop("company_name", None)
            record["acknowledged_by"] = record.pop("actor", None)
            yield record.pop("transition"), record


def _delivered(conn: psycopg.Connection, event_id: str, transition: str, channel: str) -> bool:
    query = sql.SQL(
        "select 1 from {} where event_id = %s and transition = %s and channel = %s and delivered"
    ).format(_DELIVERIES)
    return conn.execute(query, (event_id, transition, channel)).fetchone() is not None


def digest_events(conn: psycopg.Connection, as_of: datetime) -> list[dict[str, Any]]:
    """Active events nobody acknowledged and none snoozed at `as_of`, most severe first."""
    query = sql.SQL(
        """
        with state as ({state})
        select s.*, e.rule_type, e.subject_id
        from state as s
        join {events} as e on e.event_id = s.event_id
        where s.is_active and s.actor is null and (s.snoozed_until is null or s.snoozed_until <= %(as_of)s)
        order by array_position(array['critical', 'warning', 'info'], s.severity), s.first_seen_at, s.event_id
        """
    ).format(state=EVENT_STATE_SQL, events=sql.Identifier("marts", "fct_posture_events"))
    with conn.cursor() as cur:
        cur.execute(query, {"as_of": as_of})
        names = [d.name for d in cur.description or ()]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["acknowledged_by"] = row.pop("actor", None)
    return rows


def _log_attempt(
    conn: psycopg.Connection,
    event_id: str,
    transition: str,
    channel: str,
    attempt_no: int,
    attempt: Attempt,
    run_id: str | None,
) -> None:
    conn.execute(
        sql.SQL(
            "insert into {} (event_id, transition, channel, attempt, attempted_at, delivered, http_status, error, run_id)"
            " values (%s, %s, %s, %s, now(), %s, %s, %s, %s)"
        ).format(_DELIVERIES),
        (
            event_id,
            transition,
            channel,
            attempt_no,
            attempt.delivered,
            attempt.http_status,
            attempt.error,
            run_id,
        ),
    )


def deliver_events(
    settings: Settings,
    channels: ChannelSettings,
    *,
    run_id: str | None,
    as_of: datetime,
    ca_bundle: str | None = None,
    retry: RetryPolicy | None = None,
    timeout: float = 15.0,
) -> dict[str, Any]:
    """Send what is due on every configured channel; raise DeliveryError when something stayed undelivered."""
    from smart_office.warehouse.connection import connect

    retry = retry or RetryPolicy()
    summary: dict[str, Any] = {"channels": {}, "undelivered": 0}
    if not channels.channels():
        log.info(
            "no posture-event channel configured (%s, %s, %s, %s)",
            WEBHOOK_URL_ENV,
            TEAMS_URL_ENV,
            SLACK_URL_ENV,
            EMAILS_ENV,
        )
        return summary

    senders: dict[str, Callable[[dict[str, Any]], Attempt]] = {}
    for name, url, shape in (
        ("webhook", channels.webhook_url, lambda b: b),
        ("teams", channels.teams_url, teams_body),
        ("slack", channels.slack_url, slack_body),
    ):
        if url is not None:
            senders[name] = lambda body, url=url, shape=shape: post_json(
                url, shape(body), ca_bundle=ca_bundle, timeout=timeout
            )
    if channels.emails:
        senders["email"] = lambda body: send_email(
            channels.emails, *email_parts(body), smtp_conn_id=channels.smtp_conn_id
        )

    def send_logged(
        conn: psycopg.Connection, channel: str, event_id: str, transition: str, body: dict[str, Any]
    ) -> bool:
        send = senders[channel]
        for attempt_no in range(1, retry.attempts + 1):
            attempt = send(body)
            _log_attempt(conn, event_id, transition, channel, attempt_no, attempt, run_id)
            if attempt.delivered or not attempt.retryable or attempt_no == retry.attempts:
                break
            retry.sleep(retry.wait(attempt_no, attempt.retry_after))
        if not attempt.delivered:
            log.warning(
                "posture event %s (%s) not delivered by %s: %s", event_id, transition, channel, attempt.error
            )
        return attempt.delivered

    with connect(settings.warehouse, autocommit=True) as conn:
        for channel in senders:
            counts = {"delivered": 0, "failed": 0}
            for transition, event in list(due_notifications(conn, channel, as_of)):
                delivered = send_logged(
                    conn, channel, event["event_id"], transition, event_body(event, transition)
                )
                counts["delivered" if delivered else "failed"] += 1
            if channels.digest:
                day = as_of.astimezone(UTC).date().isoformat()
                digest_id = f"digest:{day}"
                if not _delivered(conn, digest_id, "digest", channel):
                    events = digest_events(conn, as_of)
                    if events:
                        delivered = send_logged(conn, channel, digest_id, "digest", digest_body(events, day))
                        counts["delivered" if delivered else "failed"] += 1
            summary["channels"][channel] = counts
            summary["undelivered"] += counts["failed"]
            log.info(
                "posture events by %s: %d delivered, %d failed",
                channel,
                counts["delivered"],
                counts["failed"],
            )
    if summary["undelivered"]:
        failed = ", ".join(f"{c}: {n['failed']}" for c, n in summary["channels"].items() if n["failed"])
        raise DeliveryError(f"{summary['undelivered']} posture-event notifications not delivered ({failed})")
    return summary
