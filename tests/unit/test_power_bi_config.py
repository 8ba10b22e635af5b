"""The Power BI refresh is off unless configured, and every bad value is named (by check-config and the task)."""

from __future__ import annotations

import pytest

from smart_office.power_bi import PowerBIRefreshConfig, power_bi_refresh_config

DATASET = "5E055F91-C6DF-43D9-B359-805EFCD85F70"
GROUP = "e8340d28-d86c-4928-bf36-1b7c1889c5b4"


def test_the_refresh_is_off_without_a_dataset() -> None:
    assert power_bi_refresh_config({}) is None
    assert (
        power_bi_refresh_config(
            {"SMART_OFFICE_POWERBI_DATASET_ID": "  ", "SMART_OFFICE_POWERBI_GROUP_ID": GROUP}
        )
        is None
    )


def test_a_configured_refresh_takes_its_defaults() -> None:
    config = power_bi_refresh_config(
        {"SMART_OFFICE_POWERBI_DATASET_ID": DATASET, "SMART_OFFICE_POWERBI_GROUP_ID": GROUP}
    )
    assert config == PowerBIRefreshConfig(dataset_id=DATASET.lower(), group_id=GROUP)
    assert (config.conn_id, config.check_interval_seconds, config.timeout_minutes) == (
        "powerbi_default",
        60,
        120,
    )
    assert config.problems() == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SMART_OFFICE_POWERBI_GROUP_ID": ""}, ["SMART_OFFICE_POWERBI_GROUP_ID"]),
        ({"SMART_OFFICE_POWERBI_DATASET_ID": "sales model"}, ["SMART_OFFICE_POWERBI_DATASET_ID"]),
        (
            {"SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS": "soon"},
            ["SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS"],
        ),
        (
            {"SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS": "0"},
            ["SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS"],
        ),
        ({"SMART_OFFICE_POWERBI_TIMEOUT_MINUTES": "601"}, ["SMART_OFFICE_POWERBI_TIMEOUT_MINUTES"]),
        (
            {"SMART_OFFICE_POWERBI_GROUP_ID": "x", "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES": "0"},
            ["SMART_OFFICE_POWERBI_GROUP_ID", "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES"],
        ),
    ],
)
def test_every_bad_value_is_named(change: dict[str, str], named: list[str]) -> None:
    env = {"SMART_OFFICE_POWERBI_DATASET_ID": DATASET, "SMART_OFFICE_POWERBI_GROUP_ID": GROUP, **change}
    config = power_bi_refresh_config(env)  # never raises: the DAG file calls it while parsing
    assert config is not None
    assert [name for name, _ in config.problems()] == named


def test_check_config_reports_the_power_bi_settings() -> None:
    from smart_office.preflight import _check_power_bi

    assert _check_power_bi({}) == []
    problems = _check_power_bi({"SMART_OFFICE_POWERBI_DATASET_ID": DATASET})
    assert [str(p) for p in problems] == [
        "SMART_OFFICE_POWERBI_GROUP_ID: is not set (the Power BI refresh needs it once "
        "SMART_OFFICE_POWERBI_DATASET_ID is set)"
    ]
