"""Configuration: named clouds, endpoint sets, and errors that name the setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smart_office.clouds import NAMED_CLOUDS, cloud_from_endpoints
from smart_office.settings import Settings, SettingsError

PARTNER = "11111111-1111-4111-8111-111111111111"
CLIENT = "22222222-2222-4222-8222-222222222222"
KEY = "x" * 43 + "="


def base(**extra: str) -> dict[str, str]:
    return {
        "SMART_OFFICE_PARTNER_TENANT_ID": PARTNER,
        "SMART_OFFICE_CLIENT_ID": CLIENT,
        "SMART_OFFICE_TOKEN_STORE_KEY": KEY,
        **extra,
    }


@pytest.mark.parametrize(
    ("name", "authority", "graph"),
    [
        ("public", "https://login.microsoftonline.com", "https://graph.microsoft.com/v1.0"),
        ("usgov", "https://login.microsoftonline.us", "https://graph.microsoft.us/v1.0"),
        ("china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn/v1.0"),
    ],
)
def test_named_clouds(name: str, authority: str, graph: str) -> None:
    settings = Settings.from_env(base(SMART_OFFICE_CLOUD=name))
    assert settings.cloud.authority(PARTNER) == f"{authority}/{PARTNER}"
    assert settings.cloud.graph_base == graph
    assert settings.cloud.ca_bundle is None
    assert name in NAMED_CLOUDS


def test_endpoint_set_changes_urls_not_resources(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked here")
    endpoints = {
        "identity": "https://127.0.0.1:1",
        "graph": "https://127.0.0.1:2",
        "partner_center": "https://127.0.0.1:3",
        "ca_bundle": str(ca),
        "admin": "ignored",
    }
    file = tmp_path / "endpoints.json"
    file.write_text(json.dumps(endpoints))
    cloud = Settings.from_env(base(SMART_OFFICE_ENDPOINTS_FILE=str(file))).cloud
    assert cloud.graph_base == "https://127.0.0.1:2/v1.0"
    assert cloud.graph_scope == "https://graph.microsoft.com/.default"
    assert cloud.partner_center_scope == "https://api.partnercenter.microsoft.com/user_impersonation"
    assert cloud.ca_bundle == str(ca)
    assert cloud_from_endpoints(endpoints).authority("t") == "https://127.0.0.1:1/t"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SMART_OFFICE_PARTNER_TENANT_ID": ""}, "SMART_OFFICE_PARTNER_TENANT_ID"),
        ({"SMART_OFFICE_CLIENT_ID": "not-a-guid"}, "SMART_OFFICE_CLIENT_ID"),
        ({"SMART_OFFICE_CLOUD": "mars"}, "SMART_OFFICE_CLOUD"),
        ({"SMART_OFFICE_TOKEN_STORE": "s3"}, "SMART_OFFICE_TOKEN_STORE"),
        ({"SMART_OFFICE_TOKEN_STORE": "keyvault"}, "SMART_OFFICE_KEY_VAULT_URL"),
        ({"SMART_OFFICE_TOKEN_STORE_KEY": ""}, "SMART_OFFICE_TOKEN_STORE_KEY"),
        ({"SMART_OFFICE_SHARD_SIZE": "0"}, "SMART_OFFICE_SHARD_SIZE"),
        ({"SMART_OFFICE_COVERAGE_THRESHOLD": "1.5"}, "SMART_OFFICE_COVERAGE_THRESHOLD"),
        (
            {"SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS": "200"},
            "SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS",
        ),
        (
            {"SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS": "-1"},
            "SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS",
        ),
        ({"SMART_OFFICE_EXCLUDED_TENANTS": "contoso"}, "SMART_OFFICE_EXCLUDED_TENANTS"),
        ({"SMART_OFFICE_WAREHOUSE_URL": "mysql://x"}, "SMART_OFFICE_WAREHOUSE_URL"),
        ({"SMART_OFFICE_ENDPOINTS_FILE": "/nonexistent/endpoints.json"}, "SMART_OFFICE_ENDPOINTS_FILE"),
    ],
)
def test_errors_name_the_setting(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(base(**env))


def test_repr_hides_keys() -> None:
    assert KEY not in repr(Settings.from_env(base()))


def test_refresh_token_write_back_hours() -> None:
    assert Settings.from_env(base()).refresh_token_write_back_hours == 6.0
    configured = base(SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS="0")
    assert Settings.from_env(configured).refresh_token_write_back_hours == 0.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/xdg/smart-office"),
        ("", "/xdg/smart-office"),
        ("/var/cache/smart-office", "/var/cache/smart-office"),
        ("off", None),
        ("OFF", None),
    ],
)
def test_discovery_cache_directory(value: str | None, expected: str | None) -> None:
    env = base(XDG_CACHE_HOME="/xdg")
    if value is not None:
        env["SMART_OFFICE_DISCOVERY_CACHE_DIR"] = value
    directory = Settings.from_env(env).discovery_cache_dir
    assert (str(directory) if directory else None) == expected


def test_alerts_are_read_in_the_largest_pages_graph_is_known_to_accept() -> None:
    assert Settings.from_env(base()).alerts_page_size == 1000
    with pytest.raises(SettingsError, match="SMART_OFFICE_ALERTS_PAGE_SIZE"):
        Settings.from_env(base(SMART_OFFICE_ALERTS_PAGE_SIZE="2000"))
