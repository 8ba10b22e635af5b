"""Start-up check of a deployment's configuration: every problem found, each named by its setting.

    python -m smart_office.preflight          (docker-compose's airflow-init runs it before Airflow starts)

Checks, beyond `Settings.from_env()`: the token store keys are Fernet keys, the Key Vault URL is https,
the warehouse is configured (SMART_OFFICE_WAREHOUSE_URL, or the Airflow connection `smart_office_warehouse`
from the environment or a secrets backend) and accepts the login the DAG will use (libpq or Entra ID), the schedule parses, the alert settings are valid and the dbt manifest the DAG renders from
exists, and no value is still one of .env.example's `<placeholder>`s. An unreachable warehouse is tried a
few times (compose may still be starting it), each wait announced with its bound. Exit status 0 when all
is well, 2 otherwise. Never prints a secret. When all is well it says how many customers the next run will
read and why not the others (the latest run's customers under today's pilot and exclusions).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from smart_office.wording import counted

if TYPE_CHECKING:
    from smart_office.warehouse.connection import WarehouseTarget

# The repository's .env.example (absent from an installed package: the check then goes by shape alone).
ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
# How .env.example marks a value to replace: the whole value is `<words-with-dashes>`.
PLACEHOLDER = re.compile(r"<[A-Za-z0-9][A-Za-z0-9 ._-]*>")
PLACEHOLDER_PREFIXES = ("SMART_OFFICE_", "AIRFLOW", "WAREHOUSE_", "DASHBOARD_", "REDIS_", "AZURE_")
SCHEDULE_PRESETS = frozenset(
    {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly", "@annually"}
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, named by the setting to fix."""

    setting: str
    message: str

    def __str__(self) -> str:
        # "<setting> is not set" already names its setting; say it once.
        return self.message if self.message.startswith(self.setting) else f"{self.setting}: {self.message}"


def _check_settings(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.settings import Settings, SettingsError

    try:
        Settings.from_env(env)
    except SettingsError as exc:
        return [_problem_from_message(message) for message in exc.messages]
    return []


def _problem_from_message(message: str) -> Problem:
    """A settings message starts with the setting it names (`<setting> must …`, `<setting>=<value> …`)."""
    if not message.startswith("SMART_OFFICE_"):
        return Problem("SMART_OFFICE_*", message)
    setting = message.split()[0].split("=")[0].rstrip(":")
    return Problem(setting, message.removeprefix(f"{setting}: "))


def env_example_placeholders(path: Path | None = None) -> dict[str, tuple[str, str]]:
    """variable -> (its `<placeholder>` in .env.example, the comment above it, which says how to make a value).

    .env.example marks every value a deployment must replace as `<…>`; that file is the one list of them.
    Empty when the file is not there (an installed package without the repository).
    """
    path = ENV_EXAMPLE if path is None else path
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return {}
    placeholders: dict[str, tuple[str, str]] = {}
    comment = ""
    for line in lines:
        line = line.strip()
        if line.startswith("#"):
            comment = line.lstrip("# ").strip()
            continue
        key, sep, value = line.partition("=")
        if sep and PLACEHOLDER.fullmatch(value.strip()):
            placeholders[key.strip()] = (value.strip(), comment)
        comment = ""
    return placeholders


def _check_placeholders(env: Mapping[str, str], example: Path | None) -> list[Problem]:
    """Values still equal to .env.example's `<placeholder>`s (or, without that file, shaped like one)."""
    placeholders = env_example_placeholders(example)
    problems = []
    for name, value in sorted(env.items()):
        known = placeholders.get(name)
        if known is not None and value.strip() == known[0]:
            how = f" (.env.example: {known[1]})" if known[1] else ""
            problems.append(
                Problem(name, f"still the .env.example placeholder {known[0]}: set a real value{how}")
            )
        elif known is None and PLACEHOLDER.fullmatch(value.strip()) and name.startswith(PLACEHOLDER_PREFIXES):
            problems.append(
                Problem(name, f"{value.strip()} looks like a .env.example placeholder: set a real value")
            )
    return problems


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


def _check_retention(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.retention.settings import RetentionSettings
    from smart_office.settings import SettingsError

    try:
        RetentionSettings.from_env(env)
    except SettingsError as exc:
        return [_problem_from_message(message) for message in exc.messages]
    return []


def _check_power_bi(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.power_bi import power_bi_refresh_config

    config = power_bi_refresh_config(env)
    return [] if config is None else [Problem(name, message) for name, message in config.problems()]


def _check_reports(env: Mapping[str, str]) -> list[Problem]:
    """The customer reports' settings, once any is set (none set: the reports DAG stays off); the segment key
    always (`smart-office report` reads it too)."""
    from croniter import croniter

    from smart_office.reports.settings import REPORTS_SCHEDULE_ENV, ReportSettings, segment_key_from_env
    from smart_office.settings import SettingsError

    if not any(v.strip() for k, v in env.items() if k.startswith("SMART_OFFICE_REPORTS_")):
        try:
            segment_key_from_env(env)
        except SettingsError as exc:
            return [Problem(message.split()[0], message) for message in exc.messages]
        return []
    problems = []
    try:
        ReportSettings.from_env(env)
    except SettingsError as exc:
        problems += [Problem(message.split()[0], message) for message in exc.messages]
    schedule = env.get(REPORTS_SCHEDULE_ENV, "").strip()
    if schedule and schedule not in SCHEDULE_PRESETS and not croniter.is_valid(schedule):
        problems.append(
            Problem(REPORTS_SCHEDULE_ENV, f"{schedule!r} is neither a cron expression nor a preset")
        )
    return problems


def _check_posture_events(env: Mapping[str, str]) -> list[Problem]:
    """The posture rules file parses and validates; the event channels are https URLs and addresses."""
    from smart_office.events.delivery import ChannelSettings
    from smart_office.events.rules import RULES_FILE_ENV, RuleConfigError, load_rules, rules_file
    from smart_office.settings import SettingsError

    problems = []
    try:
        load_rules(rules_file(env))
    except RuleConfigError as exc:
        problems.append(Problem(RULES_FILE_ENV, str(exc)))
    try:
        ChannelSettings.from_env(env)
    except SettingsError as exc:
        problems.append(Problem(str(exc).split()[0], str(exc)))
    return problems


def _check_manifest(env: Mapping[str, str]) -> list[Problem]:
    from smart_office.dbt_runner import DBT_PROJECT_DIR

    path = Path(env.get("SMART_OFFICE_DBT_MANIFEST") or DBT_PROJECT_DIR / "target" / "manifest.json")
    if path.is_file():
        return []
    return [Problem("SMART_OFFICE_DBT_MANIFEST", f"no dbt manifest at {path}: run `smart-office dbt-parse`")]


def _check_warehouse(
    env: Mapping[str, str],
    attempts: int,
    wait_seconds: float,
    progress: Callable[[str], None] | None = None,
) -> list[Problem]:
    """Resolve the warehouse as the DAG does and log in once; a refused login is reported at once, an
    unreachable server after `attempts` tries `wait_seconds` apart (compose may still be starting it), each
    try announced through `progress` so that the wait does not look like a hang."""
    from smart_office.warehouse.connection import (
        WarehouseError,
        check_warehouse,
        is_configuration_error,
        resolve_warehouse,
    )

    last: WarehouseError | None = None
    target: WarehouseTarget | None = None
    for attempt in range(1, attempts + 1):
        try:
            target = resolve_warehouse(None if env is os.environ else env)
            check_warehouse(target)
            return []
        except WarehouseError as exc:
            last = exc
            if is_configuration_error(exc):
                break
        if attempt < attempts:
            if progress is not None:
                if attempt == 1:
                    progress(
                        f"waiting for the warehouse ({last.setting}): not reachable yet; up to {attempts} "
                        f"tries {wait_seconds:g} s apart, {_bound(target, attempts, wait_seconds)}"
                    )
                progress(f"  try {attempt}/{attempts} failed; next try in {wait_seconds:g} s")
            time.sleep(wait_seconds)
    assert last is not None
    return [Problem(last.setting, last.message)]


def _bound(target: WarehouseTarget | None, attempts: int, wait_seconds: float) -> str:
    """How long the tries may take: libpq gives up on a silent host after connect_timeout, once per try."""
    if target is None:
        return f"about {(attempts - 1) * wait_seconds:g} s of waiting"
    if not target.connect_timeout:
        return "each waiting as long as the server takes (connect_timeout=0)"
    return f"giving up within ~{attempts * target.connect_timeout + (attempts - 1) * wait_seconds:g} s"


def check_configuration(
    env: Mapping[str, str] | None = None,
    *,
    attempts: int = 3,
    wait_seconds: float = 2.0,
    progress: Callable[[str], None] | None = None,
    env_example: Path | None = None,
) -> list[Problem]:
    """Every configuration problem found in `env` (default: the process environment, and then the warehouse
    connection may also come from Airflow's secrets backend, e.g. Key Vault)."""
    env = os.environ if env is None else dict(env)
    placeholders = _check_placeholders(env, env_example)
    problems = [
        *_check_settings(env),
        *_check_token_store(env),
        *_check_schedule(env),
        *_check_full_refresh_weekday(env),
        *_check_alerts(env),
        *_check_retention(env),
        *_check_power_bi(env),
        *_check_reports(env),
        *_check_posture_events(env),
        *_check_manifest(env),
        *_check_warehouse(env, attempts, wait_seconds, progress),
    ]
    # A placeholder says all there is to say about its setting (it is no GUID, no Fernet key, …).
    unset = {p.setting for p in placeholders}
    problems = [*placeholders, *(p for p in problems if p.setting not in unset)]
    # A malformed warehouse URL is both a bad setting and an unusable warehouse: say it once.
    return list(dict.fromkeys(problems))


def report(problems: list[Problem]) -> int:
    """Print the problems, one line each, and return the exit status (2 if any)."""
    if problems:
        print(f"configuration: {counted(len(problems), 'problem')}", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print("configuration: OK", file=sys.stderr)
    return 0


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def scope_line(env: Mapping[str, str] | None = None) -> str:
    """How many customers the next run reads and why not the others (smart_office.tenants.scope), or why
    that cannot be said yet; called once the configuration is known to be good."""
    import psycopg

    from smart_office.settings import Settings
    from smart_office.tenants.scope import planned_scope
    from smart_office.warehouse.connection import connect, resolve_warehouse

    env = os.environ if env is None else env
    settings = Settings.from_env(env)
    try:
        with connect(resolve_warehouse(None if env is os.environ else env)) as conn:
            return planned_scope(conn, settings.excluded_tenants).sentence()
    except psycopg.errors.UndefinedTable:
        return "scope: unknown until the warehouse is migrated (`smart-office migrate`)"


def main(argv: list[str] | None = None, *, attempts: int = 3, wait_seconds: float = 2.0) -> int:
    status = report(check_configuration(attempts=attempts, wait_seconds=wait_seconds, progress=_progress))
    if status == 0:
        print(scope_line(), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
