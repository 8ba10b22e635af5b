"""The delivery's transport against a local HTTPS receiver: outcomes name the host only, urllib3's debug lines
never show the webhook's path, Retry-After is read in both forms, and channel settings are validated."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from smart_office.events.delivery import ChannelSettings, RetryPolicy, _retry_after, post_json
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
