"""Retention and purge settings, and the keyed hash that names a purged tenant."""

from __future__ import annotations

import pytest

from smart_office.retention.purge import PurgeError, normalise_tenant, tenant_hash
from smart_office.retention.settings import RetentionSettings
from smart_office.settings import SettingsError

TENANT = "0F8FAD5B-D9CB-469F-A165-70867728950E"


def test_defaults_keep_everything_and_purge_nothing() -> None:
    settings = RetentionSettings.from_env({})
    assert settings.raw_retention_days is None
    assert settings.purge_departed_after_days is None
    assert settings.purge_key is None
    assert RetentionSettings.from_env({"SMART_OFFICE_RAW_RETENTION_DAYS": "keep"}).raw_retention_days is None


def test_days_are_read() -> None:
    settings = RetentionSettings.from_env(
        {
            "SMART_OFFICE_RAW_RETENTION_DAYS": "400",
            "SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS": "30",
            "SMART_OFFICE_PURGE_KEY": "k",
            "SMART_OFFICE_RETENTION_BATCH_SIZE": "100",
        }
    )
    assert (settings.raw_retention_days, settings.purge_departed_after_days, settings.batch_size) == (
        400,
        30,
        100,
    )
    assert "k" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"SMART_OFFICE_RAW_RETENTION_DAYS": "a year"},
            "SMART_OFFICE_RAW_RETENTION_DAYS must be a number of days",
        ),
        ({"SMART_OFFICE_RAW_RETENTION_DAYS": "0"}, "SMART_OFFICE_RAW_RETENTION_DAYS must be at least 1"),
        ({"SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS": "30"}, "needs SMART_OFFICE_PURGE_KEY"),
    ],
)
def test_bad_settings_name_themselves(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        RetentionSettings.from_env(env)
    assert message in str(raised.value)


def test_the_hash_is_keyed_and_ignores_case() -> None:
    assert tenant_hash("k1", TENANT) == tenant_hash("k1", TENANT.lower())
    assert tenant_hash("k1", TENANT) != tenant_hash("k2", TENANT)
    assert TENANT.lower() not in tenant_hash("k1", TENANT)
    assert len(tenant_hash("k1", TENANT)) == 64


def test_no_key_or_no_guid_is_refused() -> None:
    with pytest.raises(PurgeError, match="SMART_OFFICE_PURGE_KEY"):
        tenant_hash("", TENANT)
    with pytest.raises(PurgeError, match="not a tenant id"):
        normalise_tenant("contoso.onmicrosoft.com")


def test_check_config_reports_retention_settings_by_name() -> None:
    from smart_office.preflight import _check_retention

    problems = _check_retention(
        {"SMART_OFFICE_RAW_RETENTION_DAYS": "-3", "SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS": "30"}
    )
    assert [p.setting for p in problems] == [
        "SMART_OFFICE_RAW_RETENTION_DAYS",
        "SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS",
    ]
    assert _check_retention({}) == []
