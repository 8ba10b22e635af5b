"""Settings.from_env reports every invalid setting at once, not the first of each group."""

from __future__ import annotations

import pytest

from smart_office.settings import Settings, SettingsError

GOOD = {
    "SMART_OFFICE_PARTNER_TENANT_ID": "00000000-0000-4000-8000-000000000001",
    "SMART_OFFICE_CLIENT_ID": "00000000-0000-4000-8000-000000000002",
    "SMART_OFFICE_TOKEN_STORE_KEY": "a-key",
}


@pytest.mark.parametrize(
    ("change", "named"),
    [
        # An unknown cloud used to hide a missing partner tenant id.
        (
            {"SMART_OFFICE_CLOUD": "azure", "SMART_OFFICE_PARTNER_TENANT_ID": ""},
            ["SMART_OFFICE_CLOUD", "SMART_OFFICE_PARTNER_TENANT_ID"],
        ),
        # A bad token store used to hide SHARD_SIZE, which used to hide TENANT_CONCURRENCY.
        (
            {
                "SMART_OFFICE_TOKEN_STORE": "vault",
                "SMART_OFFICE_SHARD_SIZE": "abc",
                "SMART_OFFICE_TENANT_CONCURRENCY": "-3",
            },
            ["SMART_OFFICE_TOKEN_STORE", "SMART_OFFICE_SHARD_SIZE", "SMART_OFFICE_TENANT_CONCURRENCY"],
        ),
        (
            {
                "SMART_OFFICE_CLIENT_ID": "x",
                "SMART_OFFICE_WAREHOUSE_URL": "postgresql://h/d?sslmod=x",
                "SMART_OFFICE_EXCLUDED_TENANTS": "nope",
                "SMART_OFFICE_COVERAGE_THRESHOLD": "2",
            },
            [
                "SMART_OFFICE_CLIENT_ID",
                "SMART_OFFICE_WAREHOUSE_URL",
                "SMART_OFFICE_EXCLUDED_TENANTS",
                "SMART_OFFICE_COVERAGE_THRESHOLD",
            ],
        ),
    ],
)
def test_every_invalid_setting_is_reported(change: dict[str, str], named: list[str]) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**GOOD, **change})
    messages = raised.value.messages
    assert [m.split()[0].split("=")[0].rstrip(":") for m in messages] == named
    assert all("\n" not in m for m in messages)


def test_a_range_error_shows_the_value_given() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**GOOD, "SMART_OFFICE_TENANT_CONCURRENCY": "-3"})
    assert raised.value.messages == ("SMART_OFFICE_TENANT_CONCURRENCY must be at least 1, got '-3'",)


def test_good_settings_still_parse() -> None:
    assert Settings.from_env({**GOOD, "SMART_OFFICE_SHARD_SIZE": "10"}).shard_size == 10
