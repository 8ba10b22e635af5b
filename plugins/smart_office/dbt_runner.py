"""Run the dbt project against the warehouse: dbt/profiles.yml reads only environment variables set here.

The values come from the connection translator (`smart_office.warehouse.dbt_login`): one login first, then
dbt with exactly what libpq resolved for it — whatever the login method (trust, password, .pgpass, service
file, client certificate, Entra ID token).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where used: the DAG file reads DBT_PROJECT_DIR at parse time and must not load psycopg.
    from smart_office.warehouse.connection import WarehouseTarget
    from smart_office.warehouse.dbt_login import DbtLogin


def dbt_project_dir() -> Path:
    """Where the dbt project is: SMART_OFFICE_DBT_PROJECT_DIR; else the copy installed with the package (a
    wheel carries it as smart_office/dbt_project); else the repository's dbt/ beside an editable install."""
    configured = os.environ.get("SMART_OFFICE_DBT_PROJECT_DIR", "").strip()
    if configured:
        return Path(configured).expanduser().resolve()
    packaged = Path(__file__).resolve().parent / "dbt_project"
    if (packaged / "dbt_project.yml").is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "dbt"


DBT_PROJECT_DIR = dbt_project_dir()
_NO_TELEMETRY = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}


def login_env(login: DbtLogin) -> dict[str, str]:
    """The variables dbt/profiles.yml reads, plus libpq's own for the parameters a profile cannot carry."""
    return {
        **login.libpq_env,
        "SMART_OFFICE_DBT_HOST": login.host,
        "SMART_OFFICE_DBT_PORT": str(login.port),
        "SMART_OFFICE_DBT_USER": login.user,
        "SMART_OFFICE_DBT_PASSWORD": login.password.reveal(),
        "SMART_OFFICE_DBT_DBNAME": login.dbname,
        "SMART_OFFICE_DBT_CONNECT_TIMEOUT": str(login.connect_timeout),
    }


def dbt_env(warehouse: WarehouseTarget | str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for a dbt process against `warehouse` (logs in once first; raises its one-line errors)."""
    from smart_office.warehouse.dbt_login import dbt_login

    env = dict(os.environ if base is None else base)
    env.update(login_env(dbt_login(warehouse)))
    env.update(_NO_TELEMETRY)
    return env


def _dbt_command(args: list[str], target_path: Path | None) -> list[str]:
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return command


def run_dbt(
    args: list[str],
    warehouse: WarehouseTarget | str,
    *,
    capture: bool = False,
    target_path: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`dbt <args>` with this project's profile; the caller checks returncode (login errors raise first)."""
    return subprocess.run(
        _dbt_command(args, target_path),
        env=dbt_env(warehouse),
        cwd=DBT_PROJECT_DIR,
        text=True,
        capture_output=capture,
        check=False,
    )


def build_manifest(*, target_path: Path | None = None) -> Path:
    """`dbt parse` with placeholder connection settings (parse never connects); returns manifest.json's path."""
    env = {
        **os.environ,
        "SMART_OFFICE_DBT_HOST": "localhost",
        "SMART_OFFICE_DBT_PORT": "5432",
        "SMART_OFFICE_DBT_USER": "parse-only",
        "SMART_OFFICE_DBT_PASSWORD": "",
        "SMART_OFFICE_DBT_DBNAME": "parse_only",
        **_NO_TELEMETRY,
    }
    result = subprocess.run(
        _dbt_command(["parse"], target_path),
        env=env,
        cwd=DBT_PROJECT_DIR,
        text=True,
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout[-3000:]}")
    return (target_path or DBT_PROJECT_DIR / "target") / "manifest.json"
