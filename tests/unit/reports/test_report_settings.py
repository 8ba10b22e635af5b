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
