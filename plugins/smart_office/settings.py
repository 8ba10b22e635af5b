"""All configuration in one place: environment variables, validated at start with errors that name the setting.

Every variable the product reads is declared in `ENVIRONMENT` below, with its meaning; a variable that fills a
field of `Settings` takes its type and default from that field. docs/settings.md is generated from them
(`make docs`, `python -m smart_office.settings_reference`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from smart_office.auth.discovery_cache import default_cache_directory
from smart_office.clouds import PUBLIC, Cloud, CloudConfigError, cloud_from_env
from smart_office.warehouse.connection import (
    WAREHOUSE_URL_ENV,
    WarehouseConfigError,
    WarehouseTarget,
    auth_method,
    target_from_url,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable, documented.

    :param name: the variable, e.g. SMART_OFFICE_SHARD_SIZE.
    :param help: what it means, in a sentence or two (Markdown).
    :param section: the heading docs/settings.md lists it under.
    :param attribute: the `Settings` field it fills; the reference takes its type and default from the field
        unless `kind` / `default` say otherwise (for a field whose value is built from several variables).
    :param default: the default as one would write it, when it is not the field's (or there is no field).
    :param kind: what the value is ("integer", "https URL", …), when the field's type does not say it.
    :param read_by: the module that reads it, when not `Settings.from_env`.
    """

    name: str
    help: str
    section: str
    attribute: str | None = None
    default: str | None = None
    kind: str | None = None
    read_by: str = "smart_office.settings"


class SettingsError(ValueError):
    """One or more settings are missing or invalid; each message starts with the setting it names."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages: tuple[str, ...] = messages


class _Problems:
    """Collects every invalid setting, so that one start reports them all rather than the first per group."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def check(self, parse: Callable[[], T], fallback: T) -> T:
        """`parse()`, or `fallback` with its error remembered."""
        try:
            return parse()
        except SettingsError as exc:
            self.messages.extend(exc.messages)
            return fallback


@dataclass(frozen=True, slots=True)
class Settings:
    cloud: Cloud
    partner_tenant_id: str
    client_id: str
    token_store: str
    token_store_keys: tuple[str, ...]
    key_vault_url: str | None
    # From SMART_OFFICE_WAREHOUSE_URL here; the operators and the CLI fill it from the Airflow connection
    # when that is unset (smart_office.warehouse.connection.resolve_warehouse).
    warehouse: WarehouseTarget | None
    shard_size: int = 250
    tenant_concurrency: int = 8
    coverage_threshold: float = 0.9
    excluded_tenants: frozenset[str] = field(default_factory=frozenset)
    alerts_overlap_hours: float = 12.0
    alerts_initial_days: int = 180
    alerts_page_size: int = 1000
    # None: MSAL's discovery documents stay in each process's memory.
    discovery_cache_dir: Path | None = None
    endpoint_time_limit_minutes: float = 30.0
    identity_retry_seconds: float = 60.0
    tenant_retry_seconds: float = 300.0
    refresh_token_write_back_hours: float = 6.0
    schedule: str = "@daily"

    @property
    def warehouse_url(self) -> str | None:
        """The warehouse as a libpq URL (with its configured password), for code that needs a string."""
        return self.warehouse.url() if self.warehouse is not None else None

    def __repr__(self) -> str:
        return (
            f"Settings(cloud={self.cloud.name!r}, partner_tenant_id={self.partner_tenant_id!r}, "
            f"client_id={self.client_id!r}, token_store={self.token_store!r}, shard_size={self.shard_size})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, require_partner: bool = True) -> Settings:
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(f"SMART_OFFICE_{name}", default).strip()

        problems = _Problems()

        def cloud_or_error() -> Cloud:
            try:
                return cloud_from_env(env)
            except CloudConfigError as exc:
                raise SettingsError(str(exc)) from None

        # The public cloud stands in for a bad one so that the settings after it are still checked.
        cloud = problems.check(cloud_or_error, PUBLIC)

        partner = get("PARTNER_TENANT_ID")
        client_id = get("CLIENT_ID")
        if require_partner:
            problems.check(lambda: _require_guid("SMART_OFFICE_PARTNER_TENANT_ID", partner), None)
            problems.check(lambda: _require_guid("SMART_OFFICE_CLIENT_ID", client_id), None)

        store = get("TOKEN_STORE", "postgres").lower()
        keys = tuple(k for k in get("TOKEN_STORE_KEY").split(",") if k.strip())
        vault = get("KEY_VAULT_URL") or None
        if store not in {"postgres", "keyvault"}:
            problems.messages.append(f"SMART_OFFICE_TOKEN_STORE must be postgres or keyvault, not {store!r}")
        elif store == "keyvault" and not vault:
            problems.messages.append("SMART_OFFICE_TOKEN_STORE=keyvault needs SMART_OFFICE_KEY_VAULT_URL")
        elif store == "postgres" and require_partner and not keys:
            problems.messages.append(
                "SMART_OFFICE_TOKEN_STORE=postgres needs SMART_OFFICE_TOKEN_STORE_KEY "
                "(create one with `smart-office keygen`; keep it out of the warehouse)"
            )

        def warehouse_or_error() -> WarehouseTarget | None:
            try:
                auth = auth_method(env)
                if get("WAREHOUSE_URL"):
                    return target_from_url(
                        get("WAREHOUSE_URL"), origin=WAREHOUSE_URL_ENV, auth=auth, env=env, cloud=cloud
                    )
            except WarehouseConfigError as exc:
                raise SettingsError(str(exc)) from None
            return None

        warehouse = problems.check(warehouse_or_error, None)

        cache_dir = get("DISCOVERY_CACHE_DIR")
        discovery_cache_dir = (
            None
            if cache_dir.lower() == "off"
            else Path(cache_dir).expanduser()
            if cache_dir
            else default_cache_directory(env)
        )

        excluded = frozenset(t.strip().lower() for t in get("EXCLUDED_TENANTS").split(",") if t.strip())
        for tenant in sorted(excluded):
            problems.check(lambda tenant=tenant: _require_guid("SMART_OFFICE_EXCLUDED_TENANTS", tenant), None)

        def number(parse: Callable[..., T], name: str, default: T, *bounds: object, **kw: object) -> T:
            return problems.check(lambda: parse(get, name, default, *bounds, **kw), default)

        settings = cls(
            cloud=cloud,
            partner_tenant_id=partner.lower(),
            client_id=client_id.lower(),
            token_store=store,
            token_store_keys=keys,
            key_vault_url=vault,
            warehouse=warehouse,
            shard_size=number(_int, "SHARD_SIZE", 250, minimum=1),
            tenant_concurrency=number(_int, "TENANT_CONCURRENCY", 8, minimum=1),
            coverage_threshold=number(_float, "COVERAGE_THRESHOLD", 0.9, 0.0, 1.0),
            excluded_tenants=excluded,
            alerts_overlap_hours=number(_float, "ALERTS_OVERLAP_HOURS", 12.0, 0.0, 24.0 * 30),
            alerts_initial_days=number(_int, "ALERTS_INITIAL_DAYS", 180, minimum=1, maximum=180),
            alerts_page_size=number(_int, "ALERTS_PAGE_SIZE", 1000, minimum=1, maximum=1000),
            discovery_cache_dir=discovery_cache_dir,
            endpoint_time_limit_minutes=number(_float, "ENDPOINT_TIME_LIMIT_MINUTES", 30.0, 0.1, 24 * 60.0),
            identity_retry_seconds=number(_float, "IDENTITY_RETRY_SECONDS", 60.0, 0.0, 3600.0),
            tenant_retry_seconds=number(_float, "TENANT_RETRY_SECONDS", 300.0, 0.0, 24 * 3600.0),
            # At most a week: the stored token must stay far from Entra's 90-day inactivity expiry.
            refresh_token_write_back_hours=number(
                _float, "REFRESH_TOKEN_WRITE_BACK_HOURS", 6.0, 0.0, 24 * 7.0
            ),
            schedule=get("SCHEDULE", "@daily"),
        )
        if problems.messages:
            raise SettingsError(*problems.messages)
        return settings


def _require_guid(name: str, value: str) -> None:
    if not value:
        raise SettingsError(f"{name} is not set")
    try:
        uuid.UUID(value)
    except ValueError:
        raise SettingsError(f"{name} must be a GUID, got {value!r}") from None


def _int(get: object, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
    raw = get(name)  # type: ignore[operator]
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"SMART_OFFICE_{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise SettingsError(f"SMART_OFFICE_{name} must be {bounds}, got {raw!r}")
    return value


def _float(get: object, name: str, default: float, minimum: float, maximum: float) -> float:
    raw = get(name)  # type: ignore[operator]
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"SMART_OFFICE_{name} must be a number, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"SMART_OFFICE_{name} must be between {minimum} and {maximum}, got {raw!r}")
    return value


# Headings of docs/settings.md, in order.
PARTNER = "Partner and cloud"
CREDENTIALS = "Credential store"
WAREHOUSE = "Warehouse"
EXTRACTION = "Extraction"
SCHEDULE = "Schedule and dbt"
NOTIFICATIONS = "Notifications"
DASHBOARD = "Dashboard"
POWER_BI = "Power BI refresh"
REPORTS = "Customer reports"
DBT_LOGIN = "Set by the product for dbt"
RETENTION = "Retention and purge"

ENVIRONMENT: tuple[Variable, ...] = (
    Variable(
        "SMART_OFFICE_CLOUD",
        "Which Microsoft cloud: `public`, `usgov` (US Government) or `china` (operated by 21Vianet); its hosts are "
        'listed under "Outbound hosts per cloud" below.',
        PARTNER,
        attribute="cloud",
        default="public",
        kind="public, usgov or china",
    ),
    Variable(
        "SMART_OFFICE_ENDPOINTS_FILE",
        "A JSON endpoint set (such as the line the emulator prints) that replaces the cloud's base URLs; "
        "token audiences stay the public cloud's.",
        PARTNER,
        attribute="cloud",
        default="",
        kind="file path",
    ),
    Variable(
        "SMART_OFFICE_CA_BUNDLE",
        "An extra CA bundle to trust for every Microsoft endpoint (the emulator's, or a TLS-inspecting proxy's); "
        "else the system trust store.",
        PARTNER,
        attribute="cloud",
        default="",
        kind="file path",
    ),
    Variable(
        "SMART_OFFICE_PARTNER_TENANT_ID",
        "The partner's own Entra tenant id.",
        PARTNER,
        attribute="partner_tenant_id",
        default="(required)",
        kind="GUID",
    ),
    Variable(
        "SMART_OFFICE_CLIENT_ID",
        "Application (client) id of the Secure Application Model app; `smart-office register-app` prints it.",
        PARTNER,
        attribute="client_id",
        default="(required)",
        kind="GUID",
    ),
    Variable(
        "SMART_OFFICE_TOKEN_STORE",
        "Where the partner's refresh token and app credential live: `postgres` (encrypted, in the warehouse) "
        "or `keyvault`.",
        CREDENTIALS,
        attribute="token_store",
        default="postgres",
        kind="postgres or keyvault",
    ),
    Variable(
        "SMART_OFFICE_TOKEN_STORE_KEY",
        "Fernet key(s) for the `postgres` store, comma-separated, newest first (`smart-office keygen`); keep "
        "them out of the warehouse. Required with the `postgres` store.",
        CREDENTIALS,
        attribute="token_store_keys",
        default="",
        kind="comma-separated keys (secret)",
    ),
    Variable(
        "SMART_OFFICE_KEY_VAULT_URL",
        "The vault's URL (`https://<name>.vault.azure.net`) when the store is `keyvault`; the identity that "
        "reaches it comes from `AZURE_CLIENT_ID`/`AZURE_TENANT_ID`/`AZURE_CLIENT_SECRET` or Azure's default "
        "credential chain.",
        CREDENTIALS,
        attribute="key_vault_url",
        default="",
        kind="https URL",
    ),
    Variable(
        "SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS",
        "A process writes the rotated partner refresh token back to the store only when the stored one is at "
        "least this much older (0: on every rotation); Entra keeps the stored one valid meanwhile. At most a "
        "week.",
        CREDENTIALS,
        attribute="refresh_token_write_back_hours",
    ),
    Variable(
        "SMART_OFFICE_WAREHOUSE_URL",
        "The warehouse: a libpq URL or connection string; else the Airflow connection "
        '`smart_office_warehouse`. Any libpq login works (docs/setup.md, "Warehouse").',
        WAREHOUSE,
        attribute="warehouse",
        default="(the Airflow connection)",
        kind="libpq URL (secret when it holds a password)",
    ),
    Variable(
        "SMART_OFFICE_WAREHOUSE_AUTH",
        "`libpq` (password, .pgpass, service file, certificates, trust) or `entra` (an Entra ID token as the "
        "password, for Azure Database for PostgreSQL).",
        WAREHOUSE,
        attribute="warehouse",
        default="libpq",
        kind="libpq or entra",
    ),
    Variable(
        "SMART_OFFICE_BI_READER_ROLE",
        "The role that may read the marts and nothing else: dbt grants it, the dashboard switches to it.",
        WAREHOUSE,
        default="smart_office_bi_reader",
        kind="role name",
        read_by="smart_office.dashboard.connection, dbt/dbt_project.yml",
    ),
    Variable(
        "SMART_OFFICE_LOADER_ROLE",
        "The role that owns `raw` and `ops`, whose grants dbt keeps.",
        WAREHOUSE,
        default="smart_office_loader",
        kind="role name",
        read_by="dbt/dbt_project.yml",
    ),
    Variable(
        "SMART_OFFICE_SHARD_SIZE",
        "Tenants per mapped extraction task.",
        EXTRACTION,
        attribute="shard_size",
    ),
    Variable(
        "SMART_OFFICE_TENANT_CONCURRENCY",
        "Tenants extracted at once inside one task.",
        EXTRACTION,
        attribute="tenant_concurrency",
    ),
    Variable(
        "SMART_OFFICE_COVERAGE_THRESHOLD",
        "Share of extractable customers that must load, else the run fails (after the marts are built).",
        EXTRACTION,
        attribute="coverage_threshold",
        kind="number from 0 to 1",
    ),
    Variable(
        "SMART_OFFICE_EXCLUDED_TENANTS",
        "Customer tenant ids never extracted (prefer `smart-office tenants exclude`, which records who and why).",
        EXTRACTION,
        attribute="excluded_tenants",
        default="",
        kind="comma-separated GUIDs",
    ),
    Variable(
        "SMART_OFFICE_ALERTS_OVERLAP_HOURS",
        "Re-read window before the alerts/incidents watermark, for late updates.",
        EXTRACTION,
        attribute="alerts_overlap_hours",
    ),
    Variable(
        "SMART_OFFICE_ALERTS_INITIAL_DAYS",
        "How far back a customer's first alerts/incidents extraction reaches: by default all Defender keeps "
        "(180 days); less to take less.",
        EXTRACTION,
        attribute="alerts_initial_days",
    ),
    Variable(
        "SMART_OFFICE_ALERTS_PAGE_SIZE",
        "`$top` for alerts_v2: the largest page treated as safe (Graph documents no maximum), so a daily run "
        "needs no nextLink.",
        EXTRACTION,
        attribute="alerts_page_size",
    ),
    Variable(
        "SMART_OFFICE_DISCOVERY_CACHE_DIR",
        "Directory where MSAL's OpenID discovery documents (public, no tokens) are shared by every process and "
        "run, so a daily run asks the identity service only for tokens; `off`: per process, in memory.",
        EXTRACTION,
        attribute="discovery_cache_dir",
        default="$XDG_CACHE_HOME/smart-office, else ~/.cache/smart-office",
        kind="directory or off",
    ),
    Variable(
        "SMART_OFFICE_IDENTITY_RETRY_SECONDS",
        "How long a transient identity failure (5xx, dropped connection) of one customer is retried before it "
        "becomes that customer's `transient` outcome (for the partner tenant: the run stops).",
        EXTRACTION,
        attribute="identity_retry_seconds",
    ),
    Variable(
        "SMART_OFFICE_TENANT_RETRY_SECONDS",
        "How long, in total, one customer's Graph requests may wait to retry 429/5xx/dropped connections (each "
        "Retry-After honoured up to 120 s); then its failing endpoints become outcomes.",
        EXTRACTION,
        attribute="tenant_retry_seconds",
    ),
    Variable(
        "SMART_OFFICE_ENDPOINT_TIME_LIMIT_MINUTES",
        "Wall-clock limit for one endpoint of one customer (paging and retries); past it, a "
        "`pagination_error` outcome.",
        EXTRACTION,
        attribute="endpoint_time_limit_minutes",
    ),
    Variable(
        "SMART_OFFICE_SCHEDULE",
        "The extraction DAG's schedule: a cron expression or an Airflow preset.",
        SCHEDULE,
        attribute="schedule",
        kind="cron expression or preset",
    ),
    Variable(
        "SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY",
        "ISO day (1 = Monday) whose run rebuilds and tests every dbt model in full; empty: never.",
        SCHEDULE,
        default="7",
        kind="1-7 or empty",
        read_by="dags/smart_office_security_posture.py",
    ),
    Variable(
        "SMART_OFFICE_DBT_PROJECT_DIR",
        "The dbt project: by default the copy installed with the package (the repository's `dbt/` for an "
        "editable install).",
        SCHEDULE,
        default="(installed)",
        kind="directory",
        read_by="smart_office.dbt_runner",
    ),
    Variable(
        "SMART_OFFICE_DBT_MANIFEST",
        "The manifest the DAG renders the dbt task group from (`smart-office dbt-parse` writes it).",
        SCHEDULE,
        default="<project>/target/manifest.json",
        kind="file path",
        read_by="smart_office.operators.dbt",
    ),
    Variable(
        "SMART_OFFICE_DBT_THREADS",
        "dbt's threads.",
        SCHEDULE,
        default="4",
        kind="integer",
        read_by="dbt/profiles.yml",
    ),
    Variable(
        "SMART_OFFICE_DBT_SCHEMA",
        "dbt's target schema, the prefix of the schemas it builds in.",
        SCHEDULE,
        default="dbt",
        kind="schema name",
        read_by="dbt/profiles.yml",
    ),
    Variable(
        "SMART_OFFICE_ALERT_WEBHOOK_URL",
        "An https URL that receives one JSON POST per failure or expiry warning (Teams workflow, Slack, an "
        "on-call bridge). Treated as a secret: never logged.",
        NOTIFICATIONS,
        default="",
        kind="https URL (secret)",
        read_by="smart_office.notifications",
    ),
    Variable(
        "SMART_OFFICE_ALERT_EMAILS",
        "Recipients of the same messages by e-mail, through Airflow's `smtp_default` connection. With neither "
        "set, failures are only visible in Airflow.",
        NOTIFICATIONS,
        default="",
        kind="comma-separated addresses",
        read_by="smart_office.notifications",
    ),
    Variable(
        "SMART_OFFICE_EVENT_RULES_FILE",
        "The posture alert rules (YAML, docs/events.md), written to the warehouse before every dbt build and "
        "validated by `check-config`; empty: the documented default shipped in the package "
        "(`smart_office/events/default_rules.yaml`).",
        NOTIFICATIONS,
        default="",
        kind="path",
        read_by="smart_office.events.rules",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_WEBHOOK_URL",
        "An https URL that receives one JSON POST per posture event raised or cleared (the body: docs/events.md). "
        "Treated as a secret: never logged.",
        NOTIFICATIONS,
        default="",
        kind="https URL (secret)",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_TEAMS_WEBHOOK_URL",
        "A Microsoft Teams Workflows (or incoming webhook) URL: posture events as Adaptive Cards. A secret.",
        NOTIFICATIONS,
        default="",
        kind="https URL (secret)",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_SLACK_WEBHOOK_URL",
        "A Slack incoming-webhook URL: posture events as Block Kit messages. A secret.",
        NOTIFICATIONS,
        default="",
        kind="https URL (secret)",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_EMAILS",
        "Recipients of posture events by e-mail, through the Airflow SMTP connection "
        "`SMART_OFFICE_EVENTS_SMTP_CONN_ID`.",
        NOTIFICATIONS,
        default="",
        kind="comma-separated addresses",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_DIGEST",
        "`true`: besides the notification when an event starts and clears, each channel gets one digest a day (UTC) "
        "of the active events nobody acknowledged or snoozed.",
        NOTIFICATIONS,
        default="false",
        kind="boolean",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_EVENTS_SMTP_CONN_ID",
        "The Airflow SMTP connection posture-event e-mails go through.",
        NOTIFICATIONS,
        default="smtp_default",
        kind="Airflow connection id",
        read_by="smart_office.events.delivery",
    ),
    Variable(
        "SMART_OFFICE_DASHBOARD_URL",
        "The dashboard's login, a member of the BI reader role; else `SMART_OFFICE_WAREHOUSE_URL` with "
        "`SET ROLE` to that role. Either way it reads `marts` only.",
        DASHBOARD,
        default="(the warehouse URL)",
        kind="libpq URL (secret when it holds a password)",
        read_by="smart_office.dashboard.connection",
    ),
    Variable(
        "SMART_OFFICE_RAW_RETENTION_DAYS",
        "Delete superseded raw versions that were replaced more than this many days before the maintenance run's "
        "logical time — only those no mart reads; the latest version of every entity is always kept "
        "(docs/retention.md). Empty or `keep`: keep everything.",
        RETENTION,
        default="keep",
        kind="days",
        read_by="smart_office.retention.settings",
    ),
    Variable(
        "SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS",
        "Purge a customer's data this many days after Partner Center stopped listing it (measured from the "
        "maintenance run's logical time). Empty or `off`: never. Needs `SMART_OFFICE_PURGE_KEY`.",
        RETENTION,
        default="off",
        kind="days",
        read_by="smart_office.retention.settings",
    ),
    Variable(
        "SMART_OFFICE_PURGE_KEY",
        "The key of the purge records' HMAC of a tenant id (ops.purges holds the hash, never the id); needed to "
        "purge, and to keep customers purged on request out of discovery. Keep it outside the warehouse and "
        "never change it while purge records block tenants.",
        RETENTION,
        default="",
        kind="secret",
        read_by="smart_office.retention.settings",
    ),
    Variable(
        "SMART_OFFICE_RETENTION_BATCH_SIZE",
        "Raw rows looked at per retention batch (each batch is its own short transaction).",
        RETENTION,
        default="5000",
        kind="integer",
        read_by="smart_office.retention.settings",
    ),
    Variable(
        "SMART_OFFICE_POWERBI_DATASET_ID",
        "The Power BI semantic model (dataset) to refresh after the marts are published; set, the DAG gains the "
        "task `refresh_power_bi` (docs/bi.md). Unset: no refresh.",
        POWER_BI,
        default="",
        kind="GUID",
        read_by="smart_office.power_bi (the DAG file)",
    ),
    Variable(
        "SMART_OFFICE_POWERBI_GROUP_ID",
        "The workspace (group) holding that semantic model; required with it.",
        POWER_BI,
        default="",
        kind="GUID",
        read_by="smart_office.power_bi (the DAG file)",
    ),
    Variable(
        "SMART_OFFICE_POWERBI_CONN_ID",
        "The Airflow connection (type `powerbi`: the service principal, its tenant) the refresh signs in with.",
        POWER_BI,
        default="powerbi_default",
        kind="connection id",
        read_by="smart_office.power_bi (the DAG file)",
    ),
    Variable(
        "SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS",
        "How often the task polls the refresh history while the refresh runs.",
        POWER_BI,
        default="60",
        kind="integer",
        read_by="smart_office.power_bi (the DAG file)",
    ),
    Variable(
        "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES",
        "How long a refresh may run before the task gives up on it (the task's own limit is 15 minutes more).",
        POWER_BI,
        default="120",
        kind="integer from 1 to 600",
        read_by="smart_office.power_bi (the DAG file)",
    ),
    Variable(
        "SMART_OFFICE_REPORTS_DIR",
        "Where the monthly DAG `smart_office_customer_reports` writes every customer's report (HTML and PDF, one "
        "folder per period): a folder, or an object store URL for Airflow's ObjectStoragePath "
        "(`s3://aws_default@bucket/reports`, `abfs://…`). Required by that DAG (docs/reports.md).",
        REPORTS,
        default="",
        kind="folder or object store URL",
        read_by="smart_office.reports.settings",
    ),
    Variable(
        "SMART_OFFICE_REPORTS_EMAILS",
        "Recipients of every customer's report (the PDF attached), through Airflow's `smtp_default` connection; "
        "empty: the reports are only written.",
        REPORTS,
        default="",
        kind="comma-separated addresses",
        read_by="smart_office.reports.settings",
    ),
    Variable(
        "SMART_OFFICE_REPORTS_PERIOD",
        "What a scheduled run reports: `month` (the month that ended) or `quarter` (the quarter that ended; runs "
        "in the other months write nothing).",
        REPORTS,
        default="month",
        kind="month or quarter",
        read_by="smart_office.reports.settings",
    ),
    Variable(
        "SMART_OFFICE_REPORTS_SCHEDULE",
        "The reports DAG's schedule; by default 06:00 UTC on the 2nd, once the month's last Secure Score day has "
        "landed.",
        REPORTS,
        default="0 6 2 * *",
        kind="cron expression or preset",
        read_by="dags/smart_office_customer_reports.py",
    ),
    Variable(
        "SMART_OFFICE_REPORT_SEGMENT_BY",
        "The segment key (an attribute of `smart-office segments`, docs/segments.md) whose peers each report "
        "compares the customer with: the median Secure Score of the current customers sharing its value. "
        "Empty or `none`: no segment comparison. `smart-office report --segment-key` overrides it.",
        REPORTS,
        default="seat_band",
        kind="attribute name, none, or empty",
        read_by="smart_office.reports.settings",
    ),
    Variable(
        "SMART_OFFICE_CHROMIUM_PATH",
        "The Chromium that prints the reports' PDFs (a path or a command name); else `chromium`, "
        "`chromium-browser` or `google-chrome` from PATH. The deployment image sets `/usr/bin/chromium`, its "
        "Debian package.",
        REPORTS,
        default="(from PATH)",
        kind="file path or command",
        read_by="smart_office.reports.pdf",
    ),
    *(
        Variable(
            f"SMART_OFFICE_DBT_{part}",
            f"The warehouse login's {what}, as the connection translator resolved it; set on each dbt process "
            "by `smart-office dbt` and the DAG from the warehouse settings — do not set it yourself.",
            DBT_LOGIN,
            default="(set by the product)",
            kind=kind,
            read_by="smart_office.dbt_runner → dbt/profiles.yml",
        )
        for part, what, kind in (
            ("HOST", "host", "host"),
            ("PORT", "port", "integer"),
            ("USER", "user", "role name"),
            ("PASSWORD", "password or token", "secret"),
            ("DBNAME", "database", "database name"),
            ("CONNECT_TIMEOUT", "connect timeout", "seconds"),
        )
    ),
)
