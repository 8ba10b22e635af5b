"""The deployment's requirements.txt and uv.lock describe the same pinned set, and the parts stay apart: the
product (plugins/smart_office) neither imports nor depends on the emulator or the demo."""

from __future__ import annotations

import ast
import re
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
            "--package",
            "partner-smart-office",
            "--no-dev",
            "--no-emit-project",
            "--no-emit-workspace",
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


def test_deployments_carry_neither_the_embedded_postgresql_nor_the_emulators_own_dependencies() -> None:
    names = {
        line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
    }
    assert not {"pgserver", "trustme"} & names
    assert not any(name.startswith("partner-smart-office") for name in names)


def test_the_product_declares_none_of_the_emulators_or_demos_dependencies() -> None:
    import tomllib

    product = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0].lower() for dep in product["dependencies"]}
    emulator = tomllib.loads((ROOT / "emulator" / "pyproject.toml").read_text())["project"]
    only_emulator = {"starlette", "uvicorn", "trustme"}
    assert only_emulator <= {re.split(r"[<>=\[ ;]", d, maxsplit=1)[0] for d in emulator["dependencies"]}
    assert not only_emulator & declared
    assert not {"pgserver", "partner-smart-office-emulator", "partner-smart-office-demo"} & declared
    assert "optional-dependencies" not in product


@pytest.mark.parametrize("part", ["plugins", "dags"])
def test_the_product_never_imports_the_emulator_or_the_demo(part: str) -> None:
    offenders = []
    for path in (ROOT / part).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [
                f"{path.relative_to(ROOT)}: {name}"
                for name in names
                if name.split(".")[0] in {"emulator", "smart_office_demo", "pgserver"}
            ]
    assert offenders == []
