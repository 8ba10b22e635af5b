"""The delivery's transport against a local HTTPS receiver: outcomes name the host only, urllib3's debug lines
never show the webhook's path, Retry-After is read in both forms, and channel settings are validated."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smart_office.events.delivery import (
    ChannelSettings,
    RetryPolicy,
    _retry_after,
    digest_body,
    email_parts,
    event_body,
    post_json,
    slack_body,
    teams_body,
)
from smart_office.redaction import Secret
from smart_office.settings import SettingsError
from tests.support.event_receivers import SECRET_PATH, https_receiver


def test_a_post_names_the_host_only_and_urllib3_never_logs_the_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3")
    with https_receiver(tmp_path) as receiver:
        receiver.script = [(429, {"Retry-After": "12"})]
        refused = post_json(Secret(receiver.url), {"a": 1}, ca_bundle=receiver.ca_bundle, timeout=5)
        accepted = post_json(
            Secret(receiver.url + "?sig=abc"), {"a": 2}, ca_bundle=receiver.ca_bundle, timeout=5
        )
    assert (refused.delivered, refused.retryable, refused.http_status, refused.retry_after) == (
        False,
        True,
        429,
        12.0,
    )
    assert refused.error == "127.0.0.1 answered HTTP 429"
    assert (accepted.delivered, accepted.http_status) == (True, 200)
    assert receiver.bodies() == [{"a": 1}, {"a": 2}]
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any('"POST /*** HTTP/1.1" 429' in line for line in lines), lines  # the line is there, masked
    assert not any(SECRET_PATH in line or "sig=abc" in line for line in lines)


def test_an_unreachable_receiver_is_a_retryable_attempt_naming_the_host(tmp_path: Path) -> None:
    with https_receiver(tmp_path) as receiver:
        url = receiver.url
    attempt = post_json(Secret(url), {}, ca_bundle=receiver.ca_bundle, timeout=2)
    assert (attempt.delivered, attempt.retryable) == (False, True)
    assert attempt.error == "127.0.0.1 unreachable (ConnectionError)"


def test_retry_after_and_backoff() -> None:
    assert _retry_after("30", 0) == 30.0
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470.0) == 10.0
    assert _retry_after("soon", 0) is None
    policy = RetryPolicy(backoff_seconds=2, max_wait_seconds=5)
    assert [policy.wait(n, None) for n in (1, 2, 3)] == [2, 4, 5]
    assert policy.wait(1, 9999) == 300


def test_channel_settings_are_validated_and_never_show_urls() -> None:
    channels = ChannelSettings.from_env(
        {
            "SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL": "https://x.example/wf?sig=s3cr3t",
            "SMART_OFFICE_EVENTS_EMAILS": "a@b.co",
        }
    )
    assert channels.channels() == ["teams", "email"]
    assert "s3cr3t" not in repr(channels)
    with pytest.raises(SettingsError, match="SMART_OFFICE_EVENTS_SLACK_WEBHOOK_URL must be an https:// URL"):
        ChannelSettings.from_env({"SMART_OFFICE_EVENTS_SLACK_WEBHOOK_URL": "http://hooks.slack.test/x"})
    with pytest.raises(SettingsError, match="not an e-mail address"):
        ChannelSettings.from_env({"SMART_OFFICE_EVENTS_EMAILS": "soc"})


EVENT = {
    "event_id": "e1",
    "rule_id": "score-below-40",
    "rule_type": "secure_score_below",
    "severity": "warning",
    "tenant_id": "00000000-0000-4000-8000-000000000001",
    "company_name": "Contoso <Ltd>",
    "subject_id": "secure_score",
    "subject_label": "Secure Score 31 %",
    "observed_value": 31.0,
    "threshold": 40.0,
    "first_seen_at": datetime(2026, 11, 20, tzinfo=UTC),
    "last_seen_at": datetime(2026, 11, 21, tzinfo=UTC),
    "cleared_at": datetime(2026, 11, 22, tzinfo=UTC),
    "is_active": False,
    "acknowledged_by": "alice",
}


def test_a_cleared_event_in_every_format() -> None:
    body = event_body(EVENT, "cleared")
    assert body["transition"] == "cleared"
    assert body["cleared_at"] == "2026-11-22T00:00:00Z"
    assert body["text"] == (
        "[Partner Smart Office] warning: score-below-40 cleared for Contoso <Ltd>: Secure Score 31 %"
    )
    card = teams_body(body)["attachments"][0]["content"]
    assert card["body"][0]["text"] == "WARNING: score-below-40 cleared — Contoso <Ltd>"
    assert card["body"][0]["color"] == "Good"
    assert {"title": "Observed", "value": "31 (threshold 40)"} in card["body"][1]["facts"]
    assert {"title": "Cleared", "value": "2026-11-22T00:00:00Z"} in card["body"][1]["facts"]
    slack = slack_body(body)
    assert {"type": "mrkdwn", "text": "*Customer*\nContoso &lt;Ltd&gt;"} in slack["blocks"][1]["fields"]
    subject, html = email_parts(body)
    assert subject == "[Partner Smart Office] WARNING: score-below-40 cleared — Contoso <Ltd>"
    assert "Contoso &lt;Ltd&gt;" in html
    assert "<Ltd>" not in html


def test_a_digest_in_every_format() -> None:
    digest = digest_body([EVENT, {**EVENT, "event_id": "e2", "severity": "critical"}], "2026-11-22")
    assert (digest["schema"], digest["active"], [e["event_id"] for e in digest["events"]]) == (
        "smart-office.posture-digest/1",
        2,
        ["e1", "e2"],
    )
    card = teams_body(digest)["attachments"][0]["content"]
    assert card["body"][0]["text"] == "Daily digest 2026-11-22: 2 active posture events not acknowledged"
    assert card["body"][1]["facts"][1] == {
        "title": "critical · score-below-40",
        "value": "Contoso <Ltd>: Secure Score 31 %",
    }
    assert slack_body(digest)["blocks"][0]["text"]["text"].startswith("Daily digest 2026-11-22")
    assert (
        email_parts(digest)[0]
        == "[Partner Smart Office] Daily digest 2026-11-22: 2 active posture events not acknowledged"
    )
