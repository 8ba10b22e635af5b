"""Start-up check of a deployment's configuration: every problem found, each named by its setting.

    python -m smart_office.preflight          (docker-compose's airflow-init runs it before Airflow starts)

Checks, beyond `Settings.from_env()`: the token store keys are Fernet keys, the Key Vault URL is https,
the warehouse is configured (SMART_OFFICE_WAREHOUSE_URL, or the Airflow connection `smart_office_warehouse`
from the environment or a secrets backend) and accepts the login the DAG will use (libpq or Entra ID), the schedule parses, the alert settings are valid and the dbt manifest the DAG renders from
exists. Exit status 0 when all is well, 2 otherwise. Never prints a secret.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SCHEDULE_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, named by the setting to fix."""

    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.setting}: {self.message}"


def _check_settings(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.settings import Settings, SettingsError

    try:
        Settings.from_env(env)
    except SettingsError as exc:
        message = str(exc)
        setting = (
            message.split()[0].split("=")[0].rstrip(":")
            if message.startswith("SMART_OFFICE_")
            else "SMART_OFFICE_*"
        )
        return [Problem(setting, message.removeprefix(f"{setting}: "))]
    return []


def _check_token_store(env: Mapping[str, str]) -> list[Problem]:
    from cryptography.fernet import Fernet

    problems = []
    store = env.get("SMART_OFFICE_TOKEN_STORE", "postgres").strip().lower() or "postgres"
    keys = [k.strip() for k in env.get("SMART_OFFICE_TOKEN_STORE_KEY", "").split(",") if k.strip()]
    if store == "postgres":
        for number, key in enumerate(keys, start=1):
            try:
                Fernet(key)
            except ValueError:
                problems.append(
                    Problem(
                        "SMART_OFFICE_TOKEN_STORE_KEY",
                        f"key #{number} is not a Fernet key (32 url-safe base64-encoded bytes; "
                        "`smart-office keygen` makes one)",
                    )
                )
    vault = env.get("SMART_OFFICE_KEY_VAULT_URL", "").strip()
    if vault and (urlsplit(vault).scheme != "https" or not urlsplit(vault).hostname):
        problems.append(Problem("SMART_OFFICE_KEY_VAULT_URL", "must be an https:// vault URL"))
    return problems


def _check_schedule(env: Mapping[str, str]) -> list[Problem]:
    from croniter import croniter

    schedule = env.get("SMART_OFFICE_SCHEDULE", "").strip()
    if not schedule or schedule in SCHEDULE_PRESETS or croniter.is_valid(schedule):
        return []
    presets = ", ".join(sorted(SCHEDULE_PRESETS))
    return [
        Problem("SMART_OFFICE_SCHEDULE", f"{schedule!r} is neither a cron expression nor one of {presets}")
    ]


def _check_full_refresh_weekday(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.operators.dbt import full_refresh_condition

    try:
        full_refresh_condition(env.get("SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY"))
    except ValueError as exc:
        return [Problem("SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY", str(exc))]
    return []


def _check_alerts(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.notifications import AlertSettings
    from smart_office.settings import SettingsError

    try:
        AlertSettings.from_env(env)
    except SettingsError as exc:
        return [Problem(str(exc).split()[0], str(exc))]
    return []


def _check_manifest(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.dbt_runner import DBT_PROJECT_DIR

    path = Path(env.get("SMART_OFFICE_DBT_MANIFEST") or DBT_PROJECT_DIR / "target" / "manifest.json")
    if path.is_file():
        return []
    return [Problem("SMART_OFFICE_DBT_MANIFEST", f"no dbt manifest at {path}: run `smart-office dbt-parse`")]


def _check_warehouse(env: Mapping[str, str], attempts: int, wait_seconds: float) -> list[Problem]:
    """Resolve the warehouse as the DAG does and log in once; a refused login is reported at once, an
    unreachable server after `attempts` tries (compose may still be starting it)."""
    from smart_office.warehouse.connection import (
        WarehouseError,
        check_warehouse,
        is_configuration_error,
        resolve_warehouse,
    )

    last: WarehouseError | None = None
    for attempt in range(attempts):
        try:
            check_warehouse(resolve_warehouse(None if env is os.environ else env))
            return []
        except WarehouseError as exc:
            last = exc
            if is_configuration_error(exc):
                break
        if attempt + 1 < attempts:
            time.sleep(wait_seconds)
    assert last is not None
    return [Problem(last.setting, last.message)]


def check_configuration(
    env: Mapping[str, str] | None = None,
    *,
    attempts: int = 3,
    wait_seconds: float = 2.0,
) -> list[Problem]:
    """Every configuration problem found in `env` (default: the process environment, and then the warehouse
    connection may also come from Airflow's secrets backend, e.g. Key Vault)."""
    env = os.environ if env is None else dict(env)
    problems = [
        *_check_settings(env),
        *_check_token_store(env),
        *_check_schedule(env),
        *_check_full_refresh_weekday(env),
        *_check_alerts(env),
        *_check_manifest(env),
        *_check_warehouse(env, attempts, wait_seconds),
    ]
    # A malformed warehouse URL is both a bad setting and an unusable warehouse: say it once.
    return list(dict.fromkeys(problems))


def main(argv: list[str] | None = None) -> int:
    problems = check_configuration()
    if problems:
        print(f"configuration: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print("configuration: OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
