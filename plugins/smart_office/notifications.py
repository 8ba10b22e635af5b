"""How a failure reaches a human: Airflow notifiers that post to a webhook and/or send e-mail.

| variable | meaning |
|---|---|
| SMART_OFFICE_ALERT_WEBHOOK_URL | https URL that receives one JSON POST per event (Teams workflow, Slack, an on-call bridge) |
| SMART_OFFICE_ALERT_EMAILS | comma-separated recipients, sent through Airflow's `smtp_default` connection |

Both empty means no notifier: failures are then only visible in Airflow. Wiring in the DAG:

    DAG(..., on_failure_callback=failure_notifiers(),
        default_args={..., "on_failure_callback": failure_notifiers()})
    PartnerTokenCheckOperator(..., on_success_callback=refresh_token_expiry_notifiers())

The message names the DAG, run, task, try and the error's type and first line (bearer tokens and JWTs
masked); never the webhook URL, which is itself a credential.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.sdk.bases.notifier import BaseNotifier

from smart_office.redaction import Secret, redact_text
from smart_office.settings import SettingsError

if TYPE_CHECKING:
    from airflow.sdk import Context

WEBHOOK_URL_ENV = "SMART_OFFICE_ALERT_WEBHOOK_URL"
EMAILS_ENV = "SMART_OFFICE_ALERT_EMAILS"
ENVIRONMENT_VARIABLES = (WEBHOOK_URL_ENV, EMAILS_ENV)
SUBJECT_PREFIX = "[Partner Smart Office]"
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_ERROR_CHARS = 600


class WebhookDeliveryError(RuntimeError):
    """The webhook did not accept the message; names its host only (the URL carries a secret)."""


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Where alerts go, validated; the webhook URL is kept as a Secret."""

    webhook_url: Secret | None
    emails: tuple[str, ...]

    def __repr__(self) -> str:
        return f"AlertSettings(webhook={'set' if self.webhook_url else 'none'}, emails={self.emails!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AlertSettings:
        env = os.environ if env is None else env
        url = env.get(WEBHOOK_URL_ENV, "").strip()
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise SettingsError(f"{WEBHOOK_URL_ENV} must be an https:// URL with a host")
        emails = tuple(e.strip() for e in env.get(EMAILS_ENV, "").split(",") if e.strip())
        for email in emails:
            if not _EMAIL.match(email):
                raise SettingsError(f"{EMAILS_ENV} holds {email!r}, which is not an e-mail address")
        return cls(webhook_url=Secret(url) if url else None, emails=emails)


def describe_event(context: Context | Mapping[str, Any], event: str = "failed") -> dict[str, Any]:
    """The facts of a task or DAG-run event, safe to send anywhere (no secrets, bounded size)."""
    dag = context.get("dag")
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None) or "?"
    run_id = context.get("run_id") or getattr(context.get("dag_run"), "run_id", None) or "?"
    task_id = getattr(ti, "task_id", None)
    map_index = getattr(ti, "map_index", -1)
    where = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index is not None and map_index >= 0 else "")
    exception = context.get("exception")
    error = None
    if exception is not None:
        first_line = (str(exception).strip().splitlines() or [""])[0]
        error = redact_text(f"{type(exception).__name__}: {first_line}")[:_ERROR_CHARS]
    reason = context.get("reason")
    facts: dict[str, Any] = {
        "event": event,
        "dag_id": dag_id,
        "run_id": run_id,
        "task_id": task_id,
        "map_index": map_index if task_id else None,
        "try_number": getattr(ti, "try_number", None),
        "error": error or (redact_text(str(reason))[:_ERROR_CHARS] if reason else None),
        "log_url": getattr(ti, "log_url", None),
    }
    subject = f"{SUBJECT_PREFIX} {where if task_id else dag_id} {event} (run {run_id})"
    facts["text"] = subject + (f": {facts['error']}" if facts["error"] else "")
    facts["subject"] = subject
    return facts


def _html_body(facts: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th align='left'>{html.escape(key)}</th><td>{html.escape(str(value))}</td></tr>"
        for key, value in facts.items()
        if key not in {"text", "subject"} and value is not None
    )
    return f"<p>{html.escape(facts['subject'])}</p><table>{rows}</table>"


class WebhookNotifier(BaseNotifier):
    """POSTs `describe_event()` as JSON (with a `text` field Slack and Teams display) to a webhook.

    :param url: the https webhook URL (a credential: never logged).
    :param event: what happened, e.g. "failed".
    :param ca_bundle: extra CA bundle to trust (tests); default the system trust store.
    :param timeout: seconds to wait for the webhook.
    """

    def __init__(self, url: str, *, event: str = "failed", ca_bundle: str | None = None, timeout: float = 15):
        super().__init__()
        self._url = Secret(url)
        self.event = event
        self.ca_bundle = ca_bundle
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"WebhookNotifier(host={urlsplit(self._url.reveal()).hostname!r}, event={self.event!r})"

    def notify(self, context: Context) -> None:
        self.send(describe_event(context, self.event))

    def send(self, payload: Mapping[str, Any]) -> None:
        import requests

        from smart_office.tls import requests_session

        host = urlsplit(self._url.reveal()).hostname
        try:
            with requests_session(self.ca_bundle, pool_size=1, timeout=self.timeout) as session:
                response = session.post(self._url.reveal(), json=dict(payload))
        except requests.RequestException as exc:
            # requests puts the full URL in its messages; keep only the kind of failure and the host.
            raise WebhookDeliveryError(f"webhook at {host} unreachable ({type(exc).__name__})") from None
        if not 200 <= response.status_code < 300:
            raise WebhookDeliveryError(f"webhook at {host} answered HTTP {response.status_code}")


class EmailNotifier(BaseNotifier):
    """Sends `describe_event()` as an HTML e-mail through Airflow's SMTP connection.

    :param to: recipients.
    :param event: what happened, e.g. "failed".
    :param smtp_conn_id: Airflow SMTP connection (host, login, from_email extra); default `smtp_default`.
    """

    def __init__(self, to: tuple[str, ...], *, event: str = "failed", smtp_conn_id: str = "smtp_default"):
        super().__init__()
        self.to = to
        self.event = event
        self.smtp_conn_id = smtp_conn_id

    def notify(self, context: Context) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        facts = describe_event(context, self.event)
        # Sent as built, not rendered as a template: an error message may contain "{{".
        SmtpNotifier(
            to=list(self.to),
            subject=facts["subject"],
            html_content=_html_body(facts),
            smtp_conn_id=self.smtp_conn_id,
        ).notify(context)


def failure_notifiers(env: Mapping[str, str] | None = None, *, event: str = "failed") -> list[BaseNotifier]:
    """The notifiers configured by SMART_OFFICE_ALERT_*; empty when none is."""
    settings = AlertSettings.from_env(env)
    notifiers: list[BaseNotifier] = []
    if settings.webhook_url:
        notifiers.append(WebhookNotifier(settings.webhook_url.reveal(), event=event))
    if settings.emails:
        notifiers.append(EmailNotifier(settings.emails, event=event))
    return notifiers


class RefreshTokenExpiryNotifier(BaseNotifier):
    """On success of the token check, forwards a warning when the partner refresh token nears expiry.

    Reads the task's own return value (`refresh_token_needs_attention`, `refresh_token_days_left`,
    `refresh_token_expires_at`, from `smart_office.pipeline.check_partner_token`).

    :param notifiers: where the warning goes.
    """

    def __init__(self, notifiers: list[BaseNotifier]):
        super().__init__()
        self.notifiers = notifiers

    def notify(self, context: Context) -> None:
        ti = context["ti"]
        summary = ti.xcom_pull(task_ids=ti.task_id, key="return_value") or {}
        if not summary.get("refresh_token_needs_attention"):
            return
        reason = (
            f"the partner refresh token expires in {summary.get('refresh_token_days_left')} days "
            f"({summary.get('refresh_token_expires_at')}): run `smart-office consent` before then"
        )
        for notifier in self.notifiers:
            notifier.notify({**context, "reason": reason})  # type: ignore[typeddict-unknown-key]


def refresh_token_expiry_notifiers(env: Mapping[str, str] | None = None) -> list[BaseNotifier]:
    """`on_success_callback` for the token check task: warns only when the token needs attention."""
    notifiers = failure_notifiers(env, event="needs attention")
    return [RefreshTokenExpiryNotifier(notifiers)] if notifiers else []
