"""Delivery of posture events to a local HTTPS receiver (generic webhook, Teams, Slack) and a local SMTP server:
bodies, one notification per transition (dedupe), the clear notification, retries on 5xx and 429 with
Retry-After, snoozes, and no webhook URL in any log line."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smart_office.events.delivery import ChannelSettings, DeliveryError, RetryPolicy, deliver_events
from smart_office.events.store import record_action
from smart_office.settings import Settings
from tests.integration.events.test_posture_events import _build, _set_rules
from tests.support.event_receivers import SECRET_PATH, https_receiver, smtp_inbox

pytestmark = pytest.mark.slow


@pytest.fixture
def warehouse(events_warehouse: tuple[str, Path]) -> tuple[str, Path]:
    """The session's warehouse with an empty delivery log and no acks or snoozes."""
    url, target = events_warehouse
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("truncate ops.posture_event_deliveries, ops.posture_event_actions")
    return url, target


def _settings(url: str) -> Settings:
    return Settings.from_env({"SMART_OFFICE_WAREHOUSE_URL": url}, require_partner=False)


def _active_events(url: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "select e.*, c.company_name from marts.fct_posture_events e"
            " join marts.dim_customers c using (tenant_id) where e.is_active"
        )
        names = [d.name for d in cur.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def _as_of(url: str) -> datetime:
    with psycopg.connect(url) as conn:
        return conn.execute("select max(logical_date) from ops.runs").fetchone()[0]


class _Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_every_channel_gets_one_message_per_event_and_a_second_run_sends_nothing(
    warehouse: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = warehouse
    active = _active_events(url)
    assert active
    with (
        https_receiver(tmp_path) as webhook,
        https_receiver(tmp_path) as teams,
        https_receiver(tmp_path) as slack,
        smtp_inbox() as inbox,
    ):
        smtp = {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": inbox.port,
            "extra": {"from_email": "events@example.test", "disable_ssl": True, "disable_tls": True},
        }
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(smtp))
        channels = ChannelSettings.from_env(
            {
                "SMART_OFFICE_EVENTS_WEBHOOK_URL": webhook.url,
                "SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL": teams.url,
                "SMART_OFFICE_EVENTS_SLACK_WEBHOOK_URL": slack.url,
                "SMART_OFFICE_EVENTS_EMAILS": "soc@example.test",
            }
        )
        # One CA per receiver: each test server trusts its own; a bundle of the three is what the client trusts.
        bundle = tmp_path / "bundle.pem"
        bundle.write_text("".join(Path(r.ca_bundle).read_text() for r in (webhook, teams, slack)))
        first = deliver_events(
            _settings(url), channels, run_id="r1", as_of=_as_of(url), ca_bundle=str(bundle)
        )
        second = deliver_events(
            _settings(url), channels, run_id="r2", as_of=_as_of(url), ca_bundle=str(bundle)
        )

    n = len(active)
    assert first["channels"] == {
        c: {"delivered": n, "failed": 0} for c in ("webhook", "teams", "slack", "email")
    }
    assert second["channels"] == {
        c: {"delivered": 0, "failed": 0} for c in ("webhook", "teams", "slack", "email")
    }

    bodies = {b["event_id"]: b for b in webhook.bodies()}
    assert set(bodies) == set(active)
    assert {r["path"] for r in webhook.received} == {SECRET_PATH}
    assert {r["content_type"] for r in webhook.received} == {"application/json"}
    event_id, event = next(iter(active.items()))
    body = bodies[event_id]
    assert body["schema"] == "smart-office.posture-event/1"
    assert body["transition"] == "raised"
    assert (body["rule_id"], body["tenant_id"], body["subject_id"], body["severity"]) == (
        event["rule_id"],
        str(event["tenant_id"]),
        event["subject_id"],
        event["severity"],
    )
    assert body["company_name"] == event["company_name"]
    assert body["first_seen_at"] == event["first_seen_at"].astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert body["cleared_at"] is None
    assert body["is_active"] is True

    card = teams.bodies()[0]
    assert card["type"] == "message"
    (attachment,) = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    title, facts = attachment["content"]["body"]
    assert title["type"] == "TextBlock"
    assert facts["type"] == "FactSet"
    assert {f["title"] for f in facts["facts"]} >= {"Customer", "Rule", "Severity", "Condition", "Event"}

    message = slack.bodies()[0]
    assert message["text"].startswith("[Partner Smart Office] ")
    assert [b["type"] for b in message["blocks"]] == ["header", "section"]
    assert message["blocks"][1]["fields"][0]["type"] == "mrkdwn"

    assert len(inbox.messages) == n
    recipients, mail = inbox.messages[0]
    assert recipients == ["soc@example.test"]
    assert mail["From"] == "events@example.test"
    subject = str(make_header(decode_header(mail["Subject"])))
    assert subject.startswith("[Partner Smart Office] ")
    assert any(subject.endswith(f"— {e['company_name']}") for e in active.values())

    with psycopg.connect(url) as conn:
        log = conn.execute(
            "select channel, count(*), bool_and(delivered) from ops.posture_event_deliveries group by channel"
        ).fetchall()
    assert sorted(log) == [(c, n, True) for c in ("email", "slack", "teams", "webhook")]


def test_5xx_and_429_are_retried_with_backoff_and_retry_after_and_no_url_is_logged(
    warehouse: tuple[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    url, _ = warehouse
    caplog.set_level(logging.DEBUG)
    sleeps = _Sleeps()
    with https_receiver(tmp_path) as webhook:
        webhook.script = [(503, {}), (429, {"Retry-After": "7"}), (200, {})]
        channels = ChannelSettings.from_env({"SMART_OFFICE_EVENTS_WEBHOOK_URL": webhook.url})
        deliver_events(
            _settings(url),
            channels,
            run_id="r1",
            as_of=_as_of(url),
            ca_bundle=webhook.ca_bundle,
            retry=RetryPolicy(attempts=4, backoff_seconds=0.5, sleep=sleeps),
        )
        first_event = webhook.bodies()[0]["event_id"]
        # A receiver that keeps failing: the task fails, naming no URL, and a later run sends it.
        assert webhook.bodies()[:3] == [webhook.bodies()[0]] * 3
    assert sleeps == [0.5, 7.0]
    with psycopg.connect(url) as conn:
        attempts = conn.execute(
            "select attempt, delivered, http_status, error from ops.posture_event_deliveries"
            " where event_id = %s order by attempt",
            (first_event,),
        ).fetchall()
    assert attempts == [
        (1, False, 503, "127.0.0.1 answered HTTP 503"),
        (2, False, 429, "127.0.0.1 answered HTTP 429"),
        (3, True, 200, None),
    ]

    _set_rules(
        url, [{"id": "test-drill", "type": "secure_score_below", "below_pct": 100, "severity": "info"}]
    )
    _build(url, warehouse[1])
    try:
        with https_receiver(tmp_path) as failing:
            failing.script = [(500, {})] * 100
            channels = ChannelSettings.from_env({"SMART_OFFICE_EVENTS_WEBHOOK_URL": failing.url})
            with pytest.raises(DeliveryError) as refused:
                deliver_events(
                    _settings(url),
                    channels,
                    run_id="r2",
                    as_of=_as_of(url),
                    ca_bundle=failing.ca_bundle,
                    retry=RetryPolicy(attempts=2, backoff_seconds=0, sleep=sleeps),
                )
    finally:
        _set_rules(url, [])
        _build(url, warehouse[1])
    assert "not delivered (webhook:" in str(refused.value)
    assert "secret-sig" not in str(refused.value)
    out, err = capfd.readouterr()
    logged = "\n".join([out, err, *(r.getMessage() for r in caplog.records)])
    assert "not delivered by webhook: 127.0.0.1 answered HTTP 500" in logged
    assert "secret-sig" not in logged


def test_a_cleared_event_is_announced_once_and_a_snoozed_one_waits(
    warehouse: tuple[str, Path], tmp_path: Path
) -> None:
    url, target = warehouse
    with psycopg.connect(url) as conn:
        tenant = conn.execute("select tenant_id::text from marts.fct_secure_scores limit 1").fetchone()[0]
    rule = {
        "id": "test-clear",
        "type": "secure_score_below",
        "below_pct": 100,
        "scope": {"tenants": [tenant]},
    }
    as_of = _as_of(url)
    try:
        _set_rules(url, [rule])
        _build(url, target)
        with psycopg.connect(url) as conn:
            event_id = conn.execute(
                "select event_id from marts.fct_posture_events where rule_id = 'test-clear' and is_active"
            ).fetchone()[0]
            for other in _active_events(url):  # everything else is announced already
                if other != event_id:
                    conn.execute(
                        "insert into ops.posture_event_deliveries (event_id, transition, channel, attempt,"
                        " attempted_at, delivered) values (%s, 'raised', 'webhook', 1, now(), true)",
                        (other,),
                    )
            record_action(conn, event_id, "snooze", actor="carol", at=as_of, until=as_of + timedelta(hours=2))
        with https_receiver(tmp_path) as webhook:
            channels = ChannelSettings.from_env({"SMART_OFFICE_EVENTS_WEBHOOK_URL": webhook.url})
            deliver = lambda at: deliver_events(  # noqa: E731
                _settings(url), channels, run_id=None, as_of=at, ca_bundle=webhook.ca_bundle
            )
            deliver(as_of)
            assert webhook.bodies() == []  # snoozed
            deliver(as_of + timedelta(hours=3))
            assert [(b["event_id"], b["transition"]) for b in webhook.bodies()] == [(event_id, "raised")]

            _set_rules(url, [{**rule, "below_pct": 0}])
            _build(url, target)
            deliver(as_of + timedelta(hours=3))
            deliver(as_of + timedelta(hours=3))
            cleared = webhook.bodies()[1:]
        assert [(b["event_id"], b["transition"], b["is_active"]) for b in cleared] == [
            (event_id, "cleared", False)
        ]
        assert cleared[0]["cleared_at"] == as_of.astimezone(UTC).isoformat().replace("+00:00", "Z")
    finally:
        _set_rules(url, [])
        _build(url, target)


def test_the_daily_digest_lists_unacknowledged_events_once_a_day(
    warehouse: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = warehouse
    as_of = _as_of(url)
    active = _active_events(url)
    acked, snoozed = sorted(active)[:2]
    with psycopg.connect(url) as conn:
        record_action(conn, acked, "ack", actor="dave", at=as_of)
        record_action(conn, snoozed, "snooze", actor="dave", at=as_of, until=as_of + timedelta(days=30))
    with https_receiver(tmp_path) as webhook:
        channels = ChannelSettings.from_env(
            {"SMART_OFFICE_EVENTS_WEBHOOK_URL": webhook.url, "SMART_OFFICE_EVENTS_DIGEST": "true"}
        )
        for at in (as_of, as_of + timedelta(hours=1), as_of + timedelta(days=1)):
            deliver_events(_settings(url), channels, run_id=None, as_of=at, ca_bundle=webhook.ca_bundle)
    digests = [b for b in webhook.bodies() if b["schema"] == "smart-office.posture-digest/1"]
    day = as_of.astimezone(UTC).date()
    assert [d["date"] for d in digests] == [day.isoformat(), (day + timedelta(days=1)).isoformat()]
    expected = set(active) - {acked, snoozed}
    assert {e["event_id"] for e in digests[0]["events"]} == expected
    assert digests[0]["active"] == len(expected)
    noun = "event" if len(expected) == 1 else "events"
    assert digests[0]["text"].endswith(f"{len(expected)} active posture {noun} not acknowledged")
    # The per-event notifications went out as well (the snoozed one waits), once each.
    raised = [b["event_id"] for b in webhook.bodies() if b["schema"] == "smart-office.posture-event/1"]
    assert sorted(raised) == sorted(set(active) - {snoozed})
