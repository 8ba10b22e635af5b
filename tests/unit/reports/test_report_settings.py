"""The scheduled reports' settings: every problem at once, each named by its variable."""

from __future__ import annotations

import pytest

from smart_office.reports.settings import ReportSettings, parse_segment_key, segment_key_from_env
from smart_office.settings import SettingsError


def test_defaults_and_values() -> None:
    settings = ReportSettings.from_env(
        {
            "SMART_OFFICE_REPORTS_DIR": " s3://aws_default@bucket/reports ",
            "SMART_OFFICE_REPORTS_EMAILS": "a@b.example, c@d.example",
        }
    )
    assert settings == ReportSettings(
        "s3://aws_default@bucket/reports", ("a@b.example", "c@d.example"), "month", "seat_band"
    )
    assert (
        ReportSettings.from_env(
            {"SMART_OFFICE_REPORTS_DIR": "/r", "SMART_OFFICE_REPORTS_PERIOD": "Quarter"}
        ).period
        == "quarter"
    )


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({}, "seat_band"),  # unset: the size band, which most customers have
        ({"SMART_OFFICE_REPORT_SEGMENT_BY": "industry"}, "industry"),
        ({"SMART_OFFICE_REPORT_SEGMENT_BY": " Region_2 "}, "region_2"),  # a free tag, as segments writes it
        ({"SMART_OFFICE_REPORT_SEGMENT_BY": ""}, None),  # set but empty: no segment comparison
        ({"SMART_OFFICE_REPORT_SEGMENT_BY": "None"}, None),  # compose turns empty into the default: `none`
        ({"SMART_OFFICE_REPORT_SEGMENT_BY": "  "}, None),
    ],
)
def test_the_segment_key(env: dict[str, str], key: str | None) -> None:
    assert segment_key_from_env(env) == key
    assert ReportSettings.from_env({"SMART_OFFICE_REPORTS_DIR": "/r", **env}).segment_key == key


@pytest.mark.parametrize("bad", ["seat band", "2seats", "industry=legal", "tenant_id", "x" * 41])
def test_a_segment_key_no_attribute_can_have_is_named(bad: str) -> None:
    with pytest.raises(SettingsError) as raised:
        segment_key_from_env({"SMART_OFFICE_REPORT_SEGMENT_BY": bad})
    assert raised.value.messages[0].startswith("SMART_OFFICE_REPORT_SEGMENT_BY is not a segment key")
    with pytest.raises(SettingsError, match=r"^--segment-key is not a segment key"):
        parse_segment_key(bad, "--segment-key")


def test_every_problem_is_named() -> None:
    with pytest.raises(SettingsError) as raised:
        ReportSettings.from_env(
            {
                "SMART_OFFICE_REPORTS_EMAILS": "nobody",
                "SMART_OFFICE_REPORTS_PERIOD": "week",
                "SMART_OFFICE_REPORT_SEGMENT_BY": "seat band",
            }
        )
    assert [m.split(" ")[0] for m in raised.value.messages] == [
        "SMART_OFFICE_REPORTS_DIR",
        "SMART_OFFICE_REPORTS_EMAILS",
        "SMART_OFFICE_REPORTS_PERIOD",
        "SMART_OFFICE_REPORT_SEGMENT_BY",
    ]


def test_check_config_reports_them_once_any_is_set() -> None:
    from smart_office.preflight import _check_reports

    assert _check_reports({"SMART_OFFICE_SCHEDULE": "@daily"}) == []
    assert _check_reports({"SMART_OFFICE_REPORTS_DIR": "/srv/reports"}) == []
    # The segment key is read by `smart-office report` too: checked even with the reports DAG off.
    assert [p.setting for p in _check_reports({"SMART_OFFICE_REPORT_SEGMENT_BY": "seat band"})] == [
        "SMART_OFFICE_REPORT_SEGMENT_BY"
    ]
    problems = _check_reports(
        {"SMART_OFFICE_REPORTS_EMAILS": "x@y.example", "SMART_OFFICE_REPORTS_SCHEDULE": "monthly"}
    )
    assert [p.setting for p in problems] == ["SMART_OFFICE_REPORTS_DIR", "SMART_OFFICE_REPORTS_SCHEDULE"]
    assert "'monthly' is neither a cron expression nor a preset" in str(problems[1])
