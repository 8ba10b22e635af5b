"""Run the dbt project against a warehouse URL: the profile reads only environment variables set here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"


def dbt_env(warehouse_url: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for dbt/profiles.yml from a libpq URL (socket-directory hosts included)."""
    parts = urlsplit(warehouse_url)
    query = parse_qs(parts.query)
    env = dict(os.environ if base is None else base)
    env.update(
        {
            "SMART_OFFICE_DBT_HOST": query.get("host", [parts.hostname or "localhost"])[0],
            "SMART_OFFICE_DBT_PORT": str(query.get("port", [parts.port or 5432])[0]),
            "SMART_OFFICE_DBT_USER": unquote(parts.username or "postgres"),
            "SMART_OFFICE_DBT_PASSWORD": unquote(parts.password or ""),
            "SMART_OFFICE_DBT_DBNAME": parts.path.lstrip("/") or "postgres",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
    )
    return env


def run_dbt(
    args: list[str], warehouse_url: str, *, capture: bool = False, target_path: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`dbt <args>` with this project's profile; raises nothing, the caller checks returncode."""
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    return subprocess.run(
        command,
        env=dbt_env(warehouse_url),
        cwd=DBT_PROJECT_DIR,
        text=True,
        capture_output=capture,
        check=False,
    )


def build_manifest(*, target_path: Path | None = None) -> Path:
    """`dbt parse` with placeholder connection settings (parse never connects); returns manifest.json's path."""
    env = dbt_env("postgresql://parse-only@localhost:5432/parse_only")
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, "parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        command += ["--target-path", str(target_path)]
    result = subprocess.run(
        command, env=env, cwd=DBT_PROJECT_DIR, text=True, capture_output=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{result.stdout[-3000:]}")
    return (target_path or DBT_PROJECT_DIR / "target") / "manifest.json"
