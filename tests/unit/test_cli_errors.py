"""Every user error of `smart-office` is one line naming the setting or argument and the fix, with the
documented exit code; a traceback only under `-v`; every `--help` works with nothing configured."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
import typer
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from smart_office.cli import app, load_env_file

PARTNER = {
    "SMART_OFFICE_PARTNER_TENANT_ID": "00000000-0000-4000-8000-000000000001",
    "SMART_OFFICE_CLIENT_ID": "00000000-0000-4000-8000-000000000002",
    "SMART_OFFICE_TOKEN_STORE_KEY": Fernet.generate_key().decode(),
}
# Nothing listens on port 1: libpq's "connection refused", at once.
UNREACHABLE = {"SMART_OFFICE_WAREHOUSE_URL": "postgresql://so:not-a-real-password-42@127.0.0.1:1/db"}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Nothing configured: no Smart Office setting, no Airflow connection or secrets backend. What
    `--env-file` adds to the process environment is taken away again afterwards."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith(("SMART_OFFICE_", "AIRFLOW", "PG", "AZURE_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    yield
    os.environ.clear()
    os.environ.update(saved)


def invoke(args: list[str], env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(app, args, env=env or {}, catch_exceptions=False)


@pytest.mark.parametrize(
    ("args", "env", "code", "line"),
    [
        (
            ["migrate"],
            {},
            2,
            "error: no warehouse configured — set SMART_OFFICE_WAREHOUSE_URL, or the Airflow connection "
            "smart_office_warehouse (AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE or a secrets backend)",
        ),
        (["dbt", "build"], {}, 2, "error: no warehouse configured — set SMART_OFFICE_WAREHOUSE_URL, "),
        (["run"], PARTNER, 2, "error: no warehouse configured — set SMART_OFFICE_WAREHOUSE_URL, "),
        (
            ["migrate"],
            UNREACHABLE,
            4,
            "error: SMART_OFFICE_WAREHOUSE_URL: cannot reach postgresql://so:***@127.0.0.1:1/db: ",
        ),
        (
            ["migrate"],
            {"SMART_OFFICE_WAREHOUSE_URL": "postgresql://h/d?sslmod=x"},
            2,
            "error: SMART_OFFICE_WAREHOUSE_URL: not a libpq URL or connection string: invalid URI query "
            'parameter: "sslmod"',
        ),
        (
            ["run"],
            {**PARTNER, **UNREACHABLE},
            4,
            "error: SMART_OFFICE_WAREHOUSE_URL: cannot reach postgresql://so:***@127.0.0.1:1/db: ",
        ),
        (
            ["run", "--as-of", "yesterday"],
            {**PARTNER, **UNREACHABLE},
            2,
            "error: --as-of/--interval-start: Invalid isoformat string: 'yesterday' — give ISO 8601, ",
        ),
        (
            ["run", "--as-of", "2026-11-02T09:00:00"],
            {**PARTNER, **UNREACHABLE},
            2,
            "error: --as-of and --interval-start need a UTC offset — add one, e.g. 2026-11-02T09:00:00Z",
        ),
        (
            ["token", "--tenant", "contoso.example", "--resource", "grph"],
            {**PARTNER, **UNREACHABLE},
            2,
            "error: --resource 'grph' is neither a resource URI (https://…, api://…) nor one of graph, "
            "partnercenter, management, keyvault, postgres — give an alias or a resource URI",
        ),
        (
            ["register-app"],
            {},
            2,
            "error: SMART_OFFICE_PARTNER_TENANT_ID is not set — set it to the partner's tenant id (a GUID)",
        ),
        (
            ["consent"],
            {**PARTNER, "SMART_OFFICE_CLIENT_ID": "app"},
            2,
            "error: SMART_OFFICE_CLIENT_ID must be a GUID, got 'app'",
        ),
        (
            ["--env-file", "/nonexistent/.env", "check-config"],
            {},
            2,
            "error: --env-file /nonexistent/.env: no such file — give the path of the .env that compose reads",
        ),
    ],
)
def test_a_user_error_is_one_line_with_its_exit_code(
    args: list[str], env: dict[str, str], code: int, line: str
) -> None:
    result = invoke(args, env)
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    (printed,) = result.stderr.splitlines()
    assert printed.startswith(line), printed
    assert "not-a-real-password-42" not in result.stderr


def test_a_usage_error_is_clicks_usage_message_with_exit_code_2() -> None:
    # Typer raises a missing option from its vendored click; the handler must not take it for a crash.
    result = invoke(["token", "--resource", "graph"], PARTNER)
    assert result.exit_code == 2, result.output
    assert "--tenant" in result.stderr
    assert "rerun with -v" not in result.stderr


def test_every_bad_setting_is_its_own_line() -> None:
    result = invoke(
        ["run"],
        {
            **PARTNER,
            "SMART_OFFICE_CLOUD": "azure",
            "SMART_OFFICE_PARTNER_TENANT_ID": "",
            "SMART_OFFICE_TOKEN_STORE": "vault",
            "SMART_OFFICE_SHARD_SIZE": "abc",
            "SMART_OFFICE_TENANT_CONCURRENCY": "-3",
        },
    )
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "error: SMART_OFFICE_CLOUD='azure' is not a known cloud; use one of ['china', 'public', 'usgov'] or "
        "point SMART_OFFICE_ENDPOINTS_FILE at an endpoint set",
        "error: SMART_OFFICE_PARTNER_TENANT_ID is not set",
        "error: SMART_OFFICE_TOKEN_STORE must be postgres or keyvault, not 'vault'",
        "error: SMART_OFFICE_SHARD_SIZE must be an integer, got 'abc'",
        "error: SMART_OFFICE_TENANT_CONCURRENCY must be at least 1, got '-3'",
    ]


# A command that fails in a way no one foresaw, mounted on the real app (whose handler and -v it uses).
@app.command("fail-unexpectedly", hidden=True)
def _fail_unexpectedly() -> None:
    raise KeyError("rejected Authorization: Bearer abc.def-ghi")


def test_an_unexpected_error_is_one_line_and_its_traceback_needs_verbose() -> None:
    quiet = invoke(["fail-unexpectedly"])
    assert quiet.exit_code == 1
    assert quiet.stderr.splitlines() == [
        "error: KeyError: 'rejected Authorization: Bearer ***' — rerun with -v for the traceback"
    ]
    verbose = invoke(["-v", "fail-unexpectedly"])
    assert verbose.exit_code == 1
    assert "Traceback" in verbose.stderr
    assert "_fail_unexpectedly" in verbose.stderr


def _commands(group: click.Group, path: list[str]) -> Iterator[list[str]]:
    for name, command in group.commands.items():
        if command.hidden:
            continue
        yield [*path, name]
        if isinstance(command, click.Group):
            yield from _commands(command, [*path, name])


ALL_COMMANDS = [[], *_commands(typer.main.get_command(app), [])]  # type: ignore[arg-type]


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "smart-office")
def test_help_works_with_nothing_configured(command: list[str], capfd: pytest.CaptureFixture[str]) -> None:
    result = invoke([*command, "--help"])
    assert result.exit_code == 0, result.output
    # `dbt --help` is dbt's own help, printed by the dbt process itself.
    assert "Usage:" in result.stdout + result.stderr + capfd.readouterr().out


def test_the_command_tree_is_walked() -> None:
    assert {"migrate", "run", "token", "dbt", "check-config"} <= {c[0] for c in ALL_COMMANDS if c}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A=1\n# a comment\n\nB = two words \n", {"A": "1", "B": "two words"}),
        ("A='single # not a comment'\n", {"A": "single # not a comment"}),
        ('A="double\\nline"\n', {"A": "double\nline"}),
        ("A=value # trailing comment\n", {"A": "value"}),
        ("export A=1\n", {"A": "1"}),
        ("A=1\nB=${A}2\n", {"A": "1", "B": "12"}),
        ("KEEP=from-file\nNEW=x\n", {"NEW": "x"}),  # KEEP is set in the environment: the environment wins
        ("EMPTY=\n", {"EMPTY": ""}),
    ],
)
def test_env_file_reads_compose_format_and_the_environment_wins(
    tmp_path: Path, text: str, expected: dict[str, str]
) -> None:
    path = tmp_path / ".env"
    path.write_text(text)
    environ = {"KEEP": "from-environment"}
    assert load_env_file(path, environ) == expected
    assert environ == {"KEEP": "from-environment", **expected}


def test_check_config_on_a_broken_env_file_reports_every_problem_in_one_line_each(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / ".env.example"
    env_file = tmp_path / ".env"
    env_file.write_text(
        example.read_text()
        + "\n".join(
            [
                "SMART_OFFICE_CLOUD=azure",
                "SMART_OFFICE_SHARD_SIZE=abc",
                "SMART_OFFICE_TENANT_CONCURRENCY=-3",
                f"SMART_OFFICE_WAREHOUSE_URL={UNREACHABLE['SMART_OFFICE_WAREHOUSE_URL']}",
                f"SMART_OFFICE_DBT_MANIFEST={tmp_path / 'absent.json'}",
            ]
        )
    )
    result = invoke(["--env-file", str(env_file), "check-config", "--tries", "2", "--wait", "0"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    report = lines[lines.index(next(line for line in lines if line.startswith("configuration: "))) :]
    problems = [line.removeprefix("  - ") for line in report[1:]]
    assert len(problems) > 1
    assert report[0] == f"configuration: {len(problems)} problems"
    named = [re.match(r"[A-Z_]+", line).group() for line in problems]  # type: ignore[union-attr]
    for setting in (
        "SMART_OFFICE_CLOUD",
        "SMART_OFFICE_SHARD_SIZE",
        "SMART_OFFICE_TENANT_CONCURRENCY",
        "SMART_OFFICE_PARTNER_TENANT_ID",  # the placeholder from .env.example
        "SMART_OFFICE_CLIENT_ID",
        "SMART_OFFICE_TOKEN_STORE_KEY",
        "AIRFLOW_DB_PASSWORD",
        "SMART_OFFICE_DBT_MANIFEST",
        "SMART_OFFICE_WAREHOUSE_URL",
    ):
        assert setting in named, problems
    assert len(named) == len(set(named))  # one line per setting
    # The wait for the warehouse was announced before the report.
    assert lines[0].startswith("waiting for the warehouse (SMART_OFFICE_WAREHOUSE_URL): not reachable yet")
    assert "not-a-real-password-42" not in result.stderr
