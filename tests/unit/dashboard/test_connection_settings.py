"""Where the dashboard reads from, and that the URL's password never shows."""

from __future__ import annotations

import pytest

from smart_office.dashboard.cli import streamlit_command
from smart_office.dashboard.connection import DashboardConfigError, MartsSource, marts_source_from_env

SECRET_URL = "postgresql://bi_login:fake-pw-123@db.example:5432/warehouse"


def test_dashboard_url_wins_and_needs_no_role_switch() -> None:
    source = marts_source_from_env(
        {"SMART_OFFICE_DASHBOARD_URL": SECRET_URL, "SMART_OFFICE_WAREHOUSE_URL": "postgresql://admin@db/w"}
    )
    assert (source.target.url(), source.role) == (SECRET_URL, None)
    assert source.target.origin == "SMART_OFFICE_DASHBOARD_URL"


def test_warehouse_url_falls_back_to_the_reader_role() -> None:
    source = marts_source_from_env({"SMART_OFFICE_WAREHOUSE_URL": SECRET_URL})
    assert source.role == "smart_office_bi_reader"
    custom = marts_source_from_env(
        {"SMART_OFFICE_WAREHOUSE_URL": SECRET_URL, "SMART_OFFICE_BI_READER_ROLE": "bi"}
    )
    assert custom.role == "bi"


def test_missing_or_bad_settings_are_named() -> None:
    with pytest.raises(DashboardConfigError, match="SMART_OFFICE_DASHBOARD_URL"):
        marts_source_from_env({})
    with pytest.raises(
        DashboardConfigError, match="SMART_OFFICE_DASHBOARD_URL: must be a postgresql:// URL"
    ) as caught:
        marts_source_from_env({"SMART_OFFICE_DASHBOARD_URL": "mysql://u:fake-pw-123@h/d"})
    assert "fake-pw-123" not in str(caught.value)


@pytest.mark.parametrize(
    "url", [SECRET_URL, "postgresql:///warehouse?host=/run/pg&user=bi&password=fake-pw-123"]
)
def test_the_password_never_shows(url: str) -> None:
    # Every libpq form of the URL, through the connection translator.
    source = MartsSource(url, "smart_office_bi_reader")
    for shown in (repr(source), str(source), source.display, source.cache_key):
        assert "fake-pw-123" not in shown
    assert "smart_office_bi_reader" in source.display


def test_streamlit_gets_no_url_on_its_command_line_and_no_telemetry() -> None:
    command = streamlit_command(8600, "127.0.0.1")
    assert not any("postgres" in part for part in command)
    assert command[command.index("--browser.gatherUsageStats") + 1] == "false"
    assert command[command.index("--server.port") + 1] == "8600"


def test_the_dashboard_logs_in_with_entra_tokens_when_told() -> None:
    source = marts_source_from_env(
        {"SMART_OFFICE_DASHBOARD_URL": "postgresql://bi-mi@srv/wh", "SMART_OFFICE_WAREHOUSE_AUTH": "entra"}
    )
    assert source.target.auth == "entra"
    plain = marts_source_from_env({"SMART_OFFICE_DASHBOARD_URL": "postgresql://bi-mi@srv/wh"})
    assert plain.cache_key != source.cache_key
