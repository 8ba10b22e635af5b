"""Facts about the project that the deployment files must agree with: the settings the code reads, the
locked versions, the Dockerfile's instructions."""

from __future__ import annotations

import ast
import re

from smart_office import notifications
from smart_office.settings import DBT_LOGIN, ENVIRONMENT
from tests.deploy.compose import REPO

DOCKERFILE = REPO / "Dockerfile"
# Options read by third-party code without being declared in Airflow's configuration description.
UNDECLARED_AIRFLOW_OPTIONS = {("cosmos", "enable_telemetry")}  # Astronomer Cosmos, see toolchain notes


def settings_table() -> set[str]:
    """The SMART_OFFICE_* settings a deployment configures, as documented in smart_office.settings.ENVIRONMENT
    (not dbt's own tuning knobs, nor what the product sets on each dbt process itself)."""
    return {v.name for v in ENVIRONMENT if v.section != DBT_LOGIN and not v.read_by.startswith("dbt/")}


def settings_variables() -> set[str]:
    """SMART_OFFICE_* names the code reads: the settings table, `get("NAME")` in settings.py, every
    "SMART_OFFICE_..." string constant of the package (dashboard, notifications, ...) and dbt's env_var()."""
    names = settings_table()
    settings_source = (REPO / "plugins" / "smart_office" / "settings.py").read_text()
    names |= {f"SMART_OFFICE_{n}" for n in re.findall(r'get\("([A-Z_]+)"', settings_source)}
    for path in (REPO / "plugins" / "smart_office").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                names |= set(re.findall(r"^(SMART_OFFICE_[A-Z][A-Z0-9_]*[A-Z0-9])$", node.value))
    for path in (REPO / "dbt").glob("*.yml"):
        names |= set(re.findall(r"env_var\('(SMART_OFFICE_[A-Z_]+)'", path.read_text()))
    return names | set(notifications.ENVIRONMENT_VARIABLES)


def locked_version(package: str) -> str:
    match = re.search(rf"^{re.escape(package)}==([^ ;\\]+)", (REPO / "requirements.txt").read_text(), re.M)
    assert match, f"{package} is not in requirements.txt"
    return match.group(1)


def dockerfile_instructions(text: str | None = None) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text() if text is None else text
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), " ".join(rest.split())))
    return result
