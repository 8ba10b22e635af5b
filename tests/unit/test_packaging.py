"""The deployment's requirements.txt and uv.lock must describe the same pinned set."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("uv is not installed in the project venv; run `make install`")
    return found


def test_requirements_txt_is_exported_from_the_lock() -> None:
    exported = subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--no-header",
            "--format",
            "requirements-txt",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert exported == (ROOT / "requirements.txt").read_text(), (
        "requirements.txt is out of sync with uv.lock: run `make lock`"
    )


def test_lock_matches_pyproject() -> None:
    result = subprocess.run([_uv(), "lock", "--check", "--offline"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["apache-airflow", "dbt-core", "dbt-postgres", "msal", "psycopg"])
def test_core_dependencies_are_pinned_in_requirements(name: str) -> None:
    lines = [
        line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith(f"{name}==")
    ]
    assert len(lines) == 1, f"{name} must be pinned exactly once"


def test_deployments_do_not_carry_the_embedded_postgresql() -> None:
    names = {
        line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
    }
    assert "pgserver" not in names


def test_without_the_embedded_extra_the_error_says_what_to_set(monkeypatch, tmp_path) -> None:
    from smart_office.warehouse.embedded import start_embedded_postgres

    monkeypatch.setitem(sys.modules, "pgserver", None)  # as if the `embedded` extra were not installed
    with pytest.raises(RuntimeError, match=r"SMART_OFFICE_WAREHOUSE_URL.*`embedded` extra"):
        start_embedded_postgres(tmp_path / "pg")
