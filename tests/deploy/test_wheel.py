"""The product works installed from its wheel, without a checkout, the emulator or the demo: the wheel carries
the package and the dbt project and nothing else; in a fresh virtualenv with the locked requirements it
builds its dbt manifest, answers `smart-office --help` and the DAG imports from it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.compose import REPO

pytestmark = pytest.mark.slow

UV = Path(sys.executable).parent / "uv"
DAG_FILE = REPO / "dags" / "smart_office_security_posture.py"


def _run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(command)}:\n{(result.stdout + result.stderr)[-3000:]}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([str(UV), "build", "--wheel", "--package", "partner-smart-office", "--out-dir", str(out)], cwd=REPO)
    (built,) = out.glob("partner_smart_office-*.whl")
    return built


def test_the_wheel_carries_the_product_and_its_dbt_project_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names if not name.startswith("partner_smart_office-")}
    assert tops == {"smart_office"}
    assert "smart_office/dbt_project/dbt_project.yml" in names
    assert any(name.startswith("smart_office/dbt_project/models/marts/") for name in names)
    # The marts join these seeds, and the dashboard's page icon is a file (never fetched from outside).
    assert "smart_office/dbt_project/seeds/service_sources.csv" in names
    assert "smart_office/dashboard/static/shield.svg" in names
    assert not any("/target/" in name or "/logs/" in name for name in names)
    assert not any(name.endswith(("demo.py", "embedded.py")) for name in names)


def test_the_product_installed_from_its_wheel_builds_its_manifest_and_imports_the_dag(
    wheel: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("VIRTUAL_ENV", "SMART_OFFICE_", "AIRFLOW", "PYTHONPATH"))
    }
    install = [str(UV), "pip", "install", "--python", python]
    _run([*install, "--require-hashes", "-r", str(REPO / "requirements.txt")], env=env)
    _run([*install, "--no-deps", str(wheel)], env=env)
    _run([str(UV), "pip", "check", "--python", python], env=env)

    # Run from elsewhere, so nothing of the checkout can be imported by accident.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    helped = _run([str(venv / "bin" / "smart-office"), "--help"], cwd=elsewhere, env=env).stdout
    for command in ("run", "register-app", "consent", "dbt", "dashboard", "check-config"):
        assert command in helped, command
    assert "emulator" not in helped
    assert "demo" not in helped
    missing = subprocess.run(
        [python, "-c", "import emulator"], cwd=elsewhere, env=env, capture_output=True, text=True, check=False
    )
    assert missing.returncode != 0
    assert "No module named 'emulator'" in missing.stderr

    _run([str(venv / "bin" / "smart-office"), "dbt-parse"], cwd=elsewhere, env=env)
    plugins = tmp_path / "airflow-plugins"
    plugins.mkdir()
    airflow_env = {
        **env,
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "DO_NOT_TRACK": "1",
    }
    probe = (
        "import runpy, smart_office, smart_office.operators.dbt as dbt\n"
        f"dag = runpy.run_path({str(DAG_FILE)!r})['dag']\n"
        "print(smart_office.__file__)\n"
        "print(dbt.manifest_path())\n"
        "print(len(dag.tasks))\n"
    )
    package, manifest, tasks = _run([python, "-c", probe], cwd=elsewhere, env=airflow_env).stdout.split()[-3:]
    site_packages = str(venv / "lib")
    assert package.startswith(site_packages)
    assert manifest.startswith(site_packages)
    assert manifest.endswith("smart_office/dbt_project/target/manifest.json")
    assert int(tasks) > 6
