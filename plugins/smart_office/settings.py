"""All configuration in one place: environment variables, validated at start with errors that name the setting.

| variable | default | meaning |
|---|---|---|
| SMART_OFFICE_CLOUD | public | public, usgov or china |
| SMART_OFFICE_ENDPOINTS_FILE | | JSON endpoint set (e.g. the emulator's line); overrides the cloud's URLs |
| SMART_OFFICE_CA_BUNDLE | | extra CA bundle to trust (the emulator's) |
| SMART_OFFICE_PARTNER_TENANT_ID | (required) | the partner's tenant id |
| SMART_OFFICE_CLIENT_ID | (required) | application id of the Secure Application Model app |
| SMART_OFFICE_TOKEN_STORE | postgres | postgres (encrypted, in the warehouse) or keyvault |
| SMART_OFFICE_TOKEN_STORE_KEY | | Fernet key(s) for the postgres store, comma-separated, newest first |
| SMART_OFFICE_KEY_VAULT_URL | | vault URL when the store is keyvault |
| SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS | 6 | a process writes the rotated partner refresh token back to the store only when the stored one is at least this much older (0: on every rotation); Entra keeps the stored one valid meanwhile |
| SMART_OFFICE_WAREHOUSE_URL | | the warehouse: a libpq URL or connection string; else the Airflow connection `smart_office_warehouse` |
| SMART_OFFICE_WAREHOUSE_AUTH | libpq | libpq (password, .pgpass, service file, certificates, trust) or entra (an Entra ID token) |
| SMART_OFFICE_SHARD_SIZE | 250 | tenants per mapped extraction task |
| SMART_OFFICE_TENANT_CONCURRENCY | 8 | tenants extracted at once inside one task |
| SMART_OFFICE_COVERAGE_THRESHOLD | 0.9 | share of extractable customers that must load, else the run fails |
| SMART_OFFICE_EXCLUDED_TENANTS | | comma-separated tenant ids never extracted |
| SMART_OFFICE_ALERTS_OVERLAP_HOURS | 12 | re-read window before the alerts/incidents watermark, for late updates |
| SMART_OFFICE_ALERTS_INITIAL_DAYS | 180 | how far back a tenant's first alerts/incidents extraction reaches: by default all Defender keeps (180 days); less to take less |
| SMART_OFFICE_ALERTS_PAGE_SIZE | 1000 | $top for alerts_v2: the largest page FACTS.md treats as safe (Graph documents no maximum), so a daily run needs no nextLink |
| SMART_OFFICE_DISCOVERY_CACHE_DIR | $XDG_CACHE_HOME/smart-office, else ~/.cache/smart-office | local directory where MSAL's OpenID discovery documents (public, no tokens) are shared by every process and run, so a daily run asks the identity service only for tokens; `off`: per process, in memory |
| SMART_OFFICE_IDENTITY_RETRY_SECONDS | 60 | how long a transient identity failure (5xx, dropped connection) of one tenant is retried before it becomes that tenant's `transient` outcome (for the partner tenant: the run stops) |
| SMART_OFFICE_TENANT_RETRY_SECONDS | 300 | how long, in total, one tenant's Graph requests may wait to retry 429/5xx/dropped connections (each Retry-After honoured up to 120 s); then its failing endpoints become outcomes |
| SMART_OFFICE_ENDPOINT_TIME_LIMIT_MINUTES | 30 | wall-clock limit for one endpoint of one tenant (paging and retries); past it, a `pagination_error` outcome |
| SMART_OFFICE_SCHEDULE | @daily | the extraction DAG's schedule |
| SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY | 7 | ISO day (1 = Monday) whose run rebuilds and tests every dbt model in full; empty: never |
| SMART_OFFICE_DBT_PROJECT_DIR | (installed) | the dbt project: by default the copy installed with the package (the repository's dbt/ for an editable install) |
| SMART_OFFICE_DBT_MANIFEST | <project>/target/manifest.json | the manifest the DAG renders the dbt task group from (`smart-office dbt-parse` writes it) |
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from smart_office.auth.discovery_cache import default_cache_directory
from smart_office.clouds import Cloud, CloudConfigError, cloud_from_env
from smart_office.warehouse.connection import (
    WAREHOUSE_URL_ENV,
    WarehouseConfigError,
    WarehouseTarget,
    auth_method,
    target_from_url,
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names it."""


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

        try:
            cloud = cloud_from_env(env)
        except CloudConfigError as exc:
            raise SettingsError(str(exc)) from None

        partner = get("PARTNER_TENANT_ID")
        client_id = get("CLIENT_ID")
        if require_partner:
            _require_guid("SMART_OFFICE_PARTNER_TENANT_ID", partner)
            _require_guid("SMART_OFFICE_CLIENT_ID", client_id)

        store = get("TOKEN_STORE", "postgres").lower()
        if store not in {"postgres", "keyvault"}:
            raise SettingsError(f"SMART_OFFICE_TOKEN_STORE must be postgres or keyvault, not {store!r}")
        keys = tuple(k for k in get("TOKEN_STORE_KEY").split(",") if k.strip())
        vault = get("KEY_VAULT_URL") or None
        if store == "keyvault" and not vault:
            raise SettingsError("SMART_OFFICE_TOKEN_STORE=keyvault needs SMART_OFFICE_KEY_VAULT_URL")
        if store == "postgres" and require_partner and not keys:
            raise SettingsError(
                "SMART_OFFICE_TOKEN_STORE=postgres needs SMART_OFFICE_TOKEN_STORE_KEY "
                "(create one with `smart-office keygen`; keep it out of the warehouse)"
            )
        warehouse = None
        try:
            auth = auth_method(env)
            if get("WAREHOUSE_URL"):
                warehouse = target_from_url(
                    get("WAREHOUSE_URL"), origin=WAREHOUSE_URL_ENV, auth=auth, env=env, cloud=cloud
                )
        except WarehouseConfigError as exc:
            raise SettingsError(str(exc)) from None

        cache_dir = get("DISCOVERY_CACHE_DIR")
        discovery_cache_dir = (
            None
            if cache_dir.lower() == "off"
            else Path(cache_dir).expanduser()
            if cache_dir
            else default_cache_directory(env)
        )

        excluded = frozenset(t.strip().lower() for t in get("EXCLUDED_TENANTS").split(",") if t.strip())
        for tenant in excluded:
            _require_guid("SMART_OFFICE_EXCLUDED_TENANTS", tenant)

        return cls(
            cloud=cloud,
            partner_tenant_id=partner.lower(),
            client_id=client_id.lower(),
            token_store=store,
            token_store_keys=keys,
            key_vault_url=vault,
            warehouse=warehouse,
            shard_size=_int(get, "SHARD_SIZE", 250, minimum=1),
            tenant_concurrency=_int(get, "TENANT_CONCURRENCY", 8, minimum=1),
            coverage_threshold=_float(get, "COVERAGE_THRESHOLD", 0.9, 0.0, 1.0),
            excluded_tenants=excluded,
            alerts_overlap_hours=_float(get, "ALERTS_OVERLAP_HOURS", 12.0, 0.0, 24.0 * 30),
            alerts_initial_days=_int(get, "ALERTS_INITIAL_DAYS", 180, minimum=1, maximum=180),
            alerts_page_size=_int(get, "ALERTS_PAGE_SIZE", 1000, minimum=1, maximum=1000),
            discovery_cache_dir=discovery_cache_dir,
            endpoint_time_limit_minutes=_float(get, "ENDPOINT_TIME_LIMIT_MINUTES", 30.0, 0.1, 24 * 60.0),
            identity_retry_seconds=_float(get, "IDENTITY_RETRY_SECONDS", 60.0, 0.0, 3600.0),
            tenant_retry_seconds=_float(get, "TENANT_RETRY_SECONDS", 300.0, 0.0, 24 * 3600.0),
            # At most a week: the stored token must stay far from Entra's 90-day inactivity expiry.
            refresh_token_write_back_hours=_float(get, "REFRESH_TOKEN_WRITE_BACK_HOURS", 6.0, 0.0, 24 * 7.0),
            schedule=get("SCHEDULE", "@daily"),
        )


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
        raise SettingsError(f"SMART_OFFICE_{name} must be between {minimum} and {maximum or 'unbounded'}")
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
        raise SettingsError(f"SMART_OFFICE_{name} must be between {minimum} and {maximum}")
    return value
