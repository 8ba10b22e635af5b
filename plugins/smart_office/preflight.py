"""Start-up check of a deployment's configuration: every problem found, each named by its setting.

    python -m smart_office.preflight          (docker-compose's airflow-init runs it before Airflow starts)

Checks, beyond `Settings.from_env()`: the token store keys are Fernet keys, the Key Vault URL is https,
the warehouse is configured (Airflow connection `smart_office_warehouse` or SMART_OFFICE_WAREHOUSE_URL)
and answers, the schedule parses, the alert settings are valid and the dbt manifest the DAG renders from
exists. Exit status 0 when all is well, 2 otherwise. Never prints a secret.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

WAREHOUSE_CONNECTION_ENV = "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
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


def warehouse_url_from_airflow_connection(value: str) -> str:
    """A libpq URL from an AIRFLOW_CONN_* value (URI or JSON form); raises ValueError naming no secret."""
    value = value.strip()
    if value.startswith("{"):
        conn = json.loads(value)
        if conn.get("conn_type") not in {"postgres", "postgresql"}:
            raise ValueError(f"conn_type must be postgres, not {conn.get('conn_type')!r}")
        auth = quote(conn.get("login") or "", safe="")
        if conn.get("password"):
            auth += ":" + quote(str(conn["password"]), safe="")
        port = f":{conn['port']}" if conn.get("port") else ""
        return f"postgresql://{auth}@{conn.get('host') or ''}{port}/{conn.get('schema') or 'postgres'}"
    scheme = urlsplit(value).scheme
    if scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"must be a postgresql:// URI (or JSON), not {scheme or 'a value without scheme'!r}")
    return value.replace("postgres://", "postgresql://", 1) if scheme == "postgres" else value


def _check_settings(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.settings import Settings, SettingsError

    try:
        Settings.from_env(env)
    except SettingsError as exc:
        message = str(exc)
        setting = (
            message.split()[0].split("=")[0] if message.startswith("SMART_OFFICE_") else "SMART_OFFICE_*"
        )
        return [Problem(setting, message)]
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
    import psycopg

    from smart_office.warehouse.connection import safe_url

    direct = env.get("SMART_OFFICE_WAREHOUSE_URL", "").strip()
    connection = env.get(WAREHOUSE_CONNECTION_ENV, "").strip()
    if direct:
        setting, url = "SMART_OFFICE_WAREHOUSE_URL", direct
        if urlsplit(url).scheme not in {"postgres", "postgresql"}:
            return [Problem(setting, "must be a postgresql:// URL")]
    elif connection:
        setting = WAREHOUSE_CONNECTION_ENV
        try:
            url = warehouse_url_from_airflow_connection(connection)
        except ValueError as exc:
            return [Problem(setting, str(exc))]
    else:
        return [
            Problem(
                WAREHOUSE_CONNECTION_ENV,
                "no warehouse configured: set this Airflow connection (or SMART_OFFICE_WAREHOUSE_URL)",
            )
        ]
    last_error = ""
    for attempt in range(attempts):
        try:
            with psycopg.connect(url, connect_timeout=5, application_name="smart-office-preflight") as conn:
                conn.execute("select 1")
            return []
        except (psycopg.Error, OSError) as exc:  # not reachable (yet): the warehouse may still be starting
            last_error = str(exc).replace(urlsplit(url).password or "\0", "***").splitlines()[0][:300]
        if attempt + 1 < attempts:
            time.sleep(wait_seconds)
    return [Problem(setting, f"cannot connect to {safe_url(url)}: {last_error}")]


def check_configuration(
    env: Mapping[str, str] | None = None,
    *,
    attempts: int = 12,
    wait_seconds: float = 5.0,
) -> list[Problem]:
    """Every configuration problem found in `env` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    return [
        *_check_settings(env),
        *_check_token_store(env),
        *_check_schedule(env),
        *_check_full_refresh_weekday(env),
        *_check_alerts(env),
        *_check_manifest(env),
        *_check_warehouse(env, attempts, wait_seconds),
    ]


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
