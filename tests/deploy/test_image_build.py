"""The Dockerfile's build steps, replayed without Docker in the image's layout: only what .dockerignore lets
into the build context, at one folder (as /opt/airflow), into a fresh virtualenv —

    install requirements.txt by hash  ->  pip check  ->  the project --no-deps --editable  ->
    smart-office dbt-parse  ->  the DAG parses from the baked manifest with plugins/ as Airflow's plugins folder

uv installs from its local cache (filled by `make install`) and asks the package registry only for what the
cache lacks (`uv sync --frozen` needs no wheel metadata, `uv pip install -r` does); the Dockerfile uses pip
with the same files and flags."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.compose import REPO
from tests.deploy.project import dockerfile_instructions
from tests.deploy.test_image import DOCKERIGNORE, dockerignore_includes

pytestmark = pytest.mark.slow

UV = Path(sys.executable).parent / "uv"
DAG_FILE = "dags/smart_office_security_posture.py"


def build_context(target: Path) -> list[str]:
    """Copy the files Docker would send as build context (repository files that .dockerignore admits)."""
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    copied = []
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file() and dockerignore_includes(relative, patterns):
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination)
            copied.append(relative)
    return copied


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    assert result.returncode == 0, f"{' '.join(command)}:\n{(result.stdout + result.stderr)[-3000:]}"
    return result


def test_the_image_build_steps_work_in_the_image_layout(tmp_path: Path) -> None:
    home = tmp_path / "opt-airflow"
    copied = build_context(home)
    assert DAG_FILE in copied
    assert "scripts/healthcheck.py" in copied
    assert not any(path.startswith(("tests/", ".git", "dbt/target/", "emulator/", "dev/")) for path in copied)

    # Airflow's default plugins folder in the image, $AIRFLOW_HOME/plugins.
    assert not any("AIRFLOW__CORE__PLUGINS_FOLDER" in value for _, value in dockerfile_instructions())
    assert (home / "plugins" / ".airflowignore").is_file()

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = str(venv / "bin" / "python")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "SMART_OFFICE_", "AIRFLOW"))
    }
    uv = [str(UV), "pip", "install", "--python", python]
    run([*uv, "--require-hashes", "-r", str(home / "requirements.txt")], env=env)
    run([str(UV), "pip", "check", "--python", python], env=env)
    # --no-sources: as pip in the Dockerfile, ignore the uv workspace (its emulator and demo are not in the image).
    run([*uv, "--no-deps", "--no-sources", "--editable", str(home)], env=env)

    run([str(venv / "bin" / "smart-office"), "dbt-parse"], cwd=home, env=env)
    assert (home / "dbt" / "target" / "manifest.json").stat().st_size > 0

    airflow_env = {
        **env,
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "DO_NOT_TRACK": "1",
    }
    probe = (
        "import runpy, smart_office, smart_office.operators.dbt as dbt\n"
        f"dag = runpy.run_path({str(home / DAG_FILE)!r})['dag']\n"
        "print(smart_office.__file__)\n"
        "print(dbt.manifest_path())\n"
        "print(len(dag.tasks))\n"
    )
    lines = run([python, "-c", probe], cwd=tmp_path, env=airflow_env).stdout.strip().splitlines()
    package, manifest, tasks = lines[-3:]
    # The code runs from the build context (editable install), and the DAG renders from the baked manifest.
    assert package == str(home / "plugins" / "smart_office" / "__init__.py")
    assert manifest == str(home / "dbt" / "target" / "manifest.json")
    assert int(tasks) > 6
