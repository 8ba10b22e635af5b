"""The scheduled reports' settings: every problem at once, each named by its variable."""

from __future__ import annotations

import pytest

from smart_office.reports.settings import ReportSettings
from smart_office.settings import SettingsError


def test_defaults_and_values() -> None:
    settings = ReportSettings.from_env(
        {
            "SMART_OFFICE_REPORTS_DIR": " s3://aws_default@bucket/reports ",
            "SMART_OFFICE_REPORTS_EMAILS": "a@b.example, c@d.example",
        }
    )
    assert settings == ReportSettings(
        "s3://aws_default@bucket/reports", ("a@b.example", "c@d.example"), "month"
    )
    assert (
        ReportSettings.from_env(
            {"SMART_OFFICE_REPORTS_DIR": "/r", "SMART_OFFICE_REPORTS_PERIOD": "Quarter"}
        ).period
        == "quarter"
    )


def test_every_problem_is_named() -> None:
    with pytest.raises(SettingsError) as raised:
        ReportSettings.from_env(
            {"SMART_OFFICE_REPORTS_EMAILS": "nobody", "SMART_OFFICE_REPORTS_PERIOD": "week"}
        )
    assert [m.split(" ")[0] for m in raised.value.messages] == [
        "SMART_OFFICE_REPORTS_DIR",
        "SMART_OFFICE_REPORTS_EMAILS",
        "SMART_OFFICE_REPORTS_PERIOD",
    ]


def test_check_config_reports_them_once_any_is_set() -> None:
    from smart_office.preflight import _check_reports

    assert _check_reports({"SMART_OFFICE_SCHEDULE": "@daily"}) == []
    assert _check_reports({"SMART_OFFICE_REPORTS_DIR": "/srv/reports"}) == []
    problems = _check_reports(
        {"SMART_OFFICE_REPORTS_EMAILS": "x@y.example", "SMART_OFFICE_REPORTS_SCHEDULE": "monthly"}
    )
    assert [p.setting for p in problems] == ["SMART_OFFICE_REPORTS_DIR", "SMART_OFFICE_REPORTS_SCHEDULE"]
    assert "'monthly' is neither a cron expression nor a preset" in str(problems[1])
