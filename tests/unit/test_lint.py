"""The code base stays ruff- and sqlfluff-clean (the same commands `make lint` runs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SQL_PATHS = ["dbt/models", "dbt/tests", "plugins/smart_office/warehouse/migrations"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout[-3000:]


def test_ruff_format() -> None:
    result = _run(str(BIN / "ruff"), "format", "--check", ".")
    assert result.returncode == 0, result.stdout[-3000:]


def test_sqlfluff() -> None:
    result = _run(str(BIN / "sqlfluff"), "lint", *SQL_PATHS, "--processes", "2", "--disable-progress-bar")
    assert result.returncode == 0, result.stdout[-3000:]
