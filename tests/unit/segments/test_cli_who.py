"""Who made a change is recorded; when the command cannot tell, it asks for --by before touching anything."""

from __future__ import annotations

import getpass

import pytest
from typer.testing import CliRunner

from smart_office.cli import app

A = "11111111-1111-4111-8111-111111111111"


def _nobody() -> str:
    raise KeyError("getpwuid(): uid not found: 4242")


def test_no_user_name_asks_for_by(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(getpass, "getuser", _nobody)
    result = CliRunner().invoke(app, ["segments", "tag", A, "industry=retail"], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: cannot tell who you are — say it with --by NAME"


def test_an_empty_by_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    result = CliRunner().invoke(app, ["segments", "tag", A, "industry=retail", "--by", " "])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: --by: give a name of 1 to 200 characters"
