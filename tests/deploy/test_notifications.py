"""Alerting: a failing task reaches a webhook (HTTPS, verified) and an e-mail inbox, with no secret in it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk import DAG

from smart_office.notifications import (
    EMAILS_ENV,
    WEBHOOK_URL_ENV,
    AlertSettings,
    EmailNotifier,
    RefreshTokenExpiryNotifier,
    WebhookDeliveryError,
    WebhookNotifier,
    describe_event,
    failure_notifiers,
    refresh_token_expiry_notifiers,
)
from smart_office.settings import SettingsError
from tests.support.event_receivers import https_receiver, smtp_inbox

FAKE_BEARER = "Bearer fake-token-value-not-real"
# A secret webhook URL, as Teams and Slack hand them out: it must appear in no error.
HOOK_PATH = "/hooks/secret-token-abc123"
FAKE_JWT = "eyJhbGciOiJub25lIn0.eyJmYWtlIjoidGVzdCJ9.ZmFrZXNpZ25hdHVyZQ"


def _context(exception: BaseException | None = None, **extra: Any) -> dict[str, Any]:
    dag = DAG(
        dag_id="smart_office_security_posture", schedule=None, start_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    ti = SimpleNamespace(
        dag_id=dag.dag_id,
        task_id="extract_shard",
        map_index=3,
        try_number=2,
        log_url="http://airflow.example.test/dags/x/runs/y",
    )
    return {"dag": dag, "ti": ti, "run_id": "scheduled__2026-11-28", "exception": exception, **extra}


def test_a_failure_is_posted_to_the_webhook_with_its_facts_and_no_token(tmp_path: Path) -> None:
    with https_receiver(tmp_path, HOOK_PATH) as hook:
        notifier = WebhookNotifier(hook.url, ca_bundle=hook.ca_bundle)
        error = RuntimeError(f"Graph said 401 for {FAKE_BEARER} and {FAKE_JWT}\nsecond line")
        notifier(_context(error))  # exactly how Airflow calls a callback

    (request,) = hook.received
    assert request["path"] == HOOK_PATH
    assert request["content_type"] == "application/json"
    body = request["body"]
    assert body["dag_id"] == "smart_office_security_posture"
    assert (body["task_id"], body["map_index"], body["try_number"]) == ("extract_shard", 3, 2)
    assert body["run_id"] == "scheduled__2026-11-28"
    assert body["event"] == "failed"
    assert body["error"].startswith("RuntimeError: Graph said 401 for Bearer ***")
    assert "second line" not in body["error"]
    assert "fake-token-value" not in json.dumps(body)
    assert FAKE_JWT not in json.dumps(body)
    assert body["text"].startswith(
        "[Partner Smart Office] smart_office_security_posture.extract_shard[3] failed (run scheduled__2026-11-28)"
    )
    assert body["log_url"] == "http://airflow.example.test/dags/x/runs/y"


def test_a_refused_delivery_raises_without_the_secret_url(tmp_path: Path) -> None:
    with https_receiver(tmp_path, HOOK_PATH) as hook:
        hook.script = [(403, {})]
        notifier = WebhookNotifier(hook.url, ca_bundle=hook.ca_bundle)
        with pytest.raises(WebhookDeliveryError, match="answered HTTP 403") as refused:
            notifier.notify(_context(RuntimeError("boom")))
    assert "secret-token" not in str(refused.value)
    assert "secret-token" not in repr(notifier)


def test_an_untrusted_certificate_is_refused(tmp_path: Path) -> None:
    with https_receiver(tmp_path, HOOK_PATH) as hook:
        notifier = WebhookNotifier(hook.url)  # the system trust store does not know the test CA
        with pytest.raises(WebhookDeliveryError, match="unreachable \\(SSLError\\)") as refused:
            notifier.notify(_context(RuntimeError("boom")))
    assert hook.received == []
    assert "secret-token" not in str(refused.value)


def test_a_failure_is_mailed_through_the_airflow_smtp_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    with smtp_inbox() as smtp:
        connection = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": smtp.port,
            "extra": {"from_email": "airflow@example.test", "disable_ssl": True, "disable_tls": True},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
        EmailNotifier(("oncall@example.test", "data@example.test"))(
            _context(ValueError("bad <b>{{ x }}</b>"))
        )

    ((recipients, parsed),) = smtp.messages
    assert smtp.senders == ["airflow@example.test"]
    assert sorted(recipients) == ["data@example.test", "oncall@example.test"]
    assert parsed["Subject"].startswith(
        "[Partner Smart Office] smart_office_security_posture.extract_shard[3] failed"
    )
    html = next(part for part in parsed.walk() if part.get_content_type() == "text/html").get_payload(
        decode=True
    )
    # The error arrives escaped and untemplated.
    assert "ValueError: bad &lt;b&gt;{{ x }}&lt;/b&gt;" in html.decode()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({WEBHOOK_URL_ENV: "http://hooks.example.test/x"}, f"{WEBHOOK_URL_ENV} must be an https:// URL"),
        ({WEBHOOK_URL_ENV: "https:///nohost"}, f"{WEBHOOK_URL_ENV} must be an https:// URL"),
        ({EMAILS_ENV: "oncall@example.test, not-an-address"}, f"{EMAILS_ENV} holds 'not-an-address'"),
    ],
)
def test_alert_settings_are_validated_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        AlertSettings.from_env(env)


def test_notifiers_follow_the_configuration() -> None:
    assert failure_notifiers({}) == []
    assert refresh_token_expiry_notifiers({}) == []
    env = {
        WEBHOOK_URL_ENV: "https://hooks.example.test/secret-path",
        EMAILS_ENV: "a@example.test,b@example.test",
    }
    webhook, mail = failure_notifiers(env)
    assert isinstance(webhook, WebhookNotifier)
    assert isinstance(mail, EmailNotifier)
    assert mail.to == ("a@example.test", "b@example.test")
    assert "secret-path" not in repr(AlertSettings.from_env(env)) + repr(webhook)
    (expiry,) = refresh_token_expiry_notifiers(env)
    assert isinstance(expiry, RefreshTokenExpiryNotifier)
    assert len(expiry.notifiers) == 2


@pytest.mark.parametrize("needs_attention", [True, False])
def test_refresh_token_expiry_is_forwarded_only_when_it_needs_attention(
    tmp_path: Path, needs_attention: bool
) -> None:
    summary = {
        "refresh_token_needs_attention": needs_attention,
        "refresh_token_days_left": 6.5,
        "refresh_token_expires_at": "2026-12-05T00:00:00+00:00",
    }
    context = _context()
    context["ti"].task_id = "validate_partner_token"
    context["ti"].map_index = -1
    context["ti"].xcom_pull = lambda task_ids, key: (
        summary
        if (task_ids, key)
        == (
            "validate_partner_token",
            "return_value",
        )
        else None
    )
    with https_receiver(tmp_path, HOOK_PATH) as hook:
        RefreshTokenExpiryNotifier(
            [WebhookNotifier(hook.url, event="needs attention", ca_bundle=hook.ca_bundle)]
        )(context)
    if not needs_attention:
        assert hook.received == []
        return
    (body,) = hook.bodies()
    assert body["event"] == "needs attention"
    assert body["error"] == (
        "the partner refresh token expires in 6.5 days (2026-12-05T00:00:00+00:00): run `smart-office consent` before then"
    )


def test_a_dag_level_event_names_the_dag_and_run() -> None:
    facts = describe_event({"dag": SimpleNamespace(dag_id="d"), "run_id": "r", "reason": "task_failure"})
    assert facts["text"] == "[Partner Smart Office] d failed (run r): task_failure"
    assert facts["task_id"] is None
    assert facts["map_index"] is None
