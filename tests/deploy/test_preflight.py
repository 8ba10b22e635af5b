"""The start-up configuration check: every problem reported at once, each named by its setting, no secret
shown; a good configuration passes against a real PostgreSQL."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from smart_office.preflight import Problem, check_configuration, main
from tests.support.services import missing_services

_SERVICES_MISSING = missing_services(postgres=True, redis=False)
pytestmark = pytest.mark.skipif(_SERVICES_MISSING is not None, reason=str(_SERVICES_MISSING))

PG_URL = os.environ.get("SMART_OFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
UNREACHABLE = "postgresql://smart_office:not-a-real-password-42@127.0.0.1:1/smart_office"


@pytest.fixture
def good_env(tmp_path: Path) -> dict[str, str]:
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    return {
        "SMART_OFFICE_PARTNER_TENANT_ID": "00000000-0000-4000-8000-000000000001",
        "SMART_OFFICE_CLIENT_ID": "00000000-0000-4000-8000-000000000002",
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": f"{Fernet.generate_key().decode()},{Fernet.generate_key().decode()}",
        "SMART_OFFICE_SCHEDULE": "30 4 * * *",
        "SMART_OFFICE_DBT_MANIFEST": str(manifest),
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": PG_URL,
    }


def _settings_named(problems: list[Problem]) -> list[str]:
    return [p.setting for p in problems]


@pytest.mark.integration
def test_a_good_configuration_passes(good_env: dict[str, str]) -> None:
    assert check_configuration(good_env, attempts=1) == []


@pytest.mark.integration
def test_the_connection_may_be_given_in_json_form(good_env: dict[str, str]) -> None:
    host_port = PG_URL.split("@", 1)[1].split("/", 1)[0]
    host, port = host_port.split(":")
    good_env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = json.dumps(
        {"conn_type": "postgres", "host": host, "port": int(port), "login": "postgres", "schema": "postgres"}
    )
    assert check_configuration(good_env, attempts=1) == []


@pytest.mark.parametrize(
    ("change", "setting", "fragment"),
    [
        ({"SMART_OFFICE_CLIENT_ID": ""}, "SMART_OFFICE_CLIENT_ID", "is not set"),
        ({"SMART_OFFICE_SHARD_SIZE": "zero"}, "SMART_OFFICE_SHARD_SIZE", "must be an integer"),
        (
            {"SMART_OFFICE_TOKEN_STORE_KEY": "short-key"},
            "SMART_OFFICE_TOKEN_STORE_KEY",
            "key #1 is not a Fernet key",
        ),
        (
            {
                "SMART_OFFICE_TOKEN_STORE": "keyvault",
                "SMART_OFFICE_KEY_VAULT_URL": "http://vault.example.test",
            },
            "SMART_OFFICE_KEY_VAULT_URL",
            "must be an https:// vault URL",
        ),
        ({"SMART_OFFICE_SCHEDULE": "every day at 4"}, "SMART_OFFICE_SCHEDULE", "neither a cron expression"),
        (
            {"SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY": "sunday"},
            "SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY",
            "must be 1 (Monday) to 7 (Sunday) or empty",
        ),
        (
            {"SMART_OFFICE_ALERT_WEBHOOK_URL": "http://x.example.test/h"},
            "SMART_OFFICE_ALERT_WEBHOOK_URL",
            "https",
        ),
        ({"SMART_OFFICE_ALERT_EMAILS": "oncall"}, "SMART_OFFICE_ALERT_EMAILS", "not an e-mail address"),
        (
            {"SMART_OFFICE_EVENT_RULES_FILE": "/nonexistent/rules.yaml"},
            "SMART_OFFICE_EVENT_RULES_FILE",
            "rules file /nonexistent/rules.yaml: cannot be read",
        ),
        (
            {"SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL": "http://x.example.test/wf"},
            "SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL",
            "https",
        ),
        (
            {"SMART_OFFICE_DBT_MANIFEST": "/nonexistent/manifest.json"},
            "SMART_OFFICE_DBT_MANIFEST",
            "dbt-parse",
        ),
        ({"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": ""}, "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE", "no warehouse"),
        (
            {"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": "postgresql://u@h/db?ssl_mode=require"},
            "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE",
            "not a libpq connection parameter",
        ),
        (
            {"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": json.dumps({"conn_type": "http", "host": "h"})},
            "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE",
            "conn_type must be postgres",
        ),
    ],
)
def test_each_problem_names_its_setting(
    good_env: dict[str, str], change: dict[str, str], setting: str, fragment: str
) -> None:
    problems = check_configuration({**good_env, **change}, attempts=1)
    assert _settings_named(problems) == [setting], problems
    assert fragment in problems[0].message


def test_a_wrong_posture_rule_is_one_line_naming_the_rule_and_field(
    good_env: dict[str, str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: score-low\n    type: secure_score_below\n    below_pct: 140\n")
    (problem,) = check_configuration({**good_env, "SMART_OFFICE_EVENT_RULES_FILE": str(rules)}, attempts=1)
    assert problem.setting == "SMART_OFFICE_EVENT_RULES_FILE"
    assert str(problem) == (
        f"SMART_OFFICE_EVENT_RULES_FILE: rules file {rules}: rule 'score-low': below_pct: must be between 0 and 100"
    )


def test_an_unreachable_warehouse_is_reported_without_its_password(good_env: dict[str, str]) -> None:
    good_env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = UNREACHABLE
    started = time.monotonic()
    (problem,) = check_configuration(good_env, attempts=2, wait_seconds=0.01)
    assert problem.setting == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    assert problem.message.startswith("cannot reach postgresql://smart_office:***@127.0.0.1:1/smart_office: ")
    assert "Connection refused" in problem.message
    assert "not-a-real-password-42" not in str(problem)
    assert time.monotonic() - started < 10


def test_a_refused_login_is_reported_at_once_not_retried(good_env: dict[str, str]) -> None:
    good_env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = PG_URL.rsplit("/", 1)[0] + "/no_such_database_for_test"
    started = time.monotonic()
    (problem,) = check_configuration(good_env, attempts=5, wait_seconds=30)
    assert time.monotonic() - started < 10  # five tries 30 s apart would take two minutes
    assert problem.setting == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    assert problem.message.startswith("cannot log in to ")
    assert 'database "no_such_database_for_test" does not exist' in problem.message


def test_a_malformed_warehouse_url_is_reported_once(good_env: dict[str, str]) -> None:
    problems = check_configuration(
        {**good_env, "SMART_OFFICE_WAREHOUSE_URL": "postgresql://h/d?sslmod=x"}, attempts=1
    )
    assert _settings_named(problems) == ["SMART_OFFICE_WAREHOUSE_URL"]
    assert 'invalid URI query parameter: "sslmod"' in problems[0].message


def test_all_problems_are_reported_together(
    good_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {
        **good_env,
        "SMART_OFFICE_PARTNER_TENANT_ID": "not-a-guid",
        "SMART_OFFICE_SCHEDULE": "sometimes",
        "SMART_OFFICE_ALERT_EMAILS": "nobody",
        "SMART_OFFICE_WAREHOUSE_URL": UNREACHABLE,
    }
    for key in list(os.environ):
        if key.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_SMART_OFFICE")):
            monkeypatch.delenv(key)
    for key, value in broken.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("smart_office.preflight.time.sleep", lambda seconds: None)

    assert main() == 2
    lines = capsys.readouterr().err.splitlines()
    # The wait for the unreachable warehouse is announced, with its bound, before the report.
    assert lines[0].startswith("waiting for the warehouse (SMART_OFFICE_WAREHOUSE_URL): not reachable yet; ")
    assert "up to 3 tries 2 s apart, giving up within ~34 s" in lines[0]
    assert lines[1:3] == ["  try 1/3 failed; next try in 2 s", "  try 2/3 failed; next try in 2 s"]
    assert lines[3] == "configuration: 4 problems"
    err = "\n".join(lines)
    for setting in (
        "SMART_OFFICE_PARTNER_TENANT_ID",
        "SMART_OFFICE_SCHEDULE",
        "SMART_OFFICE_ALERT_EMAILS",
        "SMART_OFFICE_WAREHOUSE_URL",
    ):
        assert f"  - {setting}" in err
    # A message that starts with its setting is not prefixed with it a second time.
    assert "  - SMART_OFFICE_PARTNER_TENANT_ID must be a GUID, got 'not-a-guid'" in err.splitlines()
    assert "not-a-real-password-42" not in err


def test_every_bad_setting_of_a_group_is_reported(good_env: dict[str, str]) -> None:
    problems = check_configuration(
        {
            **good_env,
            "SMART_OFFICE_CLOUD": "azure",
            "SMART_OFFICE_PARTNER_TENANT_ID": "",
            "SMART_OFFICE_TOKEN_STORE": "vault",
            "SMART_OFFICE_SHARD_SIZE": "abc",
            "SMART_OFFICE_TENANT_CONCURRENCY": "-3",
        },
        attempts=1,
    )
    assert _settings_named(problems) == [
        "SMART_OFFICE_CLOUD",
        "SMART_OFFICE_PARTNER_TENANT_ID",
        "SMART_OFFICE_TOKEN_STORE",
        "SMART_OFFICE_SHARD_SIZE",
        "SMART_OFFICE_TENANT_CONCURRENCY",
    ], problems
    assert all("\n" not in str(p) for p in problems)


def test_env_example_placeholders_are_flagged_with_their_comment_from_env_example(
    good_env: dict[str, str],
) -> None:
    from smart_office.preflight import ENV_EXAMPLE, env_example_placeholders

    placeholders = env_example_placeholders()
    # Read from the repository's .env.example, which marks them; the GUIDs and keys are among them.
    assert {"SMART_OFFICE_PARTNER_TENANT_ID", "SMART_OFFICE_TOKEN_STORE_KEY", "AIRFLOW_DB_PASSWORD"} <= set(
        placeholders
    )
    copied = {name: value for name, (value, _) in placeholders.items()}
    problems = check_configuration({**good_env, **copied}, attempts=1, env_example=ENV_EXAMPLE)
    flagged = {p.setting: p.message for p in problems if "placeholder" in p.message}
    assert set(flagged) == set(placeholders)
    # Only the placeholder is reported for its setting, not also "must be a GUID".
    assert _settings_named(problems).count("SMART_OFFICE_PARTNER_TENANT_ID") == 1
    assert flagged["AIRFLOW_DB_PASSWORD"] == (
        "still the .env.example placeholder <airflow-metadata-db-password>: set a real value "
        "(.env.example: openssl rand -hex 24)"
    )


def test_without_env_example_a_placeholder_is_known_by_its_shape(
    good_env: dict[str, str], tmp_path: Path
) -> None:
    problems = check_configuration(
        {**good_env, "REDIS_PASSWORD": "<redis-password>", "AIRFLOW_ADMIN_USERNAME": "admin"},
        attempts=1,
        env_example=tmp_path / "absent",
    )
    assert [str(p) for p in problems] == [
        "REDIS_PASSWORD: <redis-password> looks like a .env.example placeholder: set a real value"
    ]


@pytest.mark.parametrize(
    ("query", "bound"),
    [
        ("?connect_timeout=3", "giving up within ~6.5 s"),
        ("", "giving up within ~20.5 s"),  # libpq's 10 s that the translator sets when none is given
        ("?connect_timeout=0", "each waiting as long as the server takes (connect_timeout=0)"),
    ],
)
def test_the_wait_for_an_unreachable_warehouse_is_announced_with_its_bound(
    good_env: dict[str, str], query: str, bound: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    good_env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = UNREACHABLE + query
    monkeypatch.setattr("smart_office.preflight.time.sleep", lambda seconds: None)
    lines: list[str] = []
    (problem,) = check_configuration(good_env, attempts=2, wait_seconds=0.5, progress=lines.append)
    assert problem.setting == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    assert lines == [
        "waiting for the warehouse (AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE): not reachable yet; up to 2 tries "
        f"0.5 s apart, {bound}",
        "  try 1/2 failed; next try in 0.5 s",
    ]
    assert "not-a-real-password-42" not in "".join(lines)
