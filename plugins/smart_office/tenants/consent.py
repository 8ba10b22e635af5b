"""The CLI's view of direct tenants: `consent --tenant T` only for a delegated direct tenant; `token` reads a
direct tenant with its own credential."""

from __future__ import annotations

from smart_office.settings import Settings
from smart_office.tenants.registry import TenantRegistry, TenantsError


def check_delegated_tenant(settings: Settings, tenant: str) -> str:
    """The tenant's id if ops.tenants lists it as a delegated direct tenant; else a one-line CLI error."""
    from smart_office.cli import CliError
    from smart_office.warehouse.connection import connect

    if settings.warehouse is None:
        raise CliError(
            "--tenant needs the warehouse, where the tenants table is", "set SMART_OFFICE_WAREHOUSE_URL"
        )
    try:
        with connect(settings.warehouse) as conn:
            entry = TenantRegistry(conn).get(tenant)
    except TenantsError as exc:
        raise CliError(exc.what, exc.fix) from None
    if entry is None or entry.credential != "delegated":
        raise CliError(
            f"tenant {tenant} is not a delegated direct tenant",
            f"add it first: `smart-office tenants add {tenant} --credential delegated`",
        )
    return entry.tenant_id


def direct_credentials(settings: Settings) -> dict[str, str]:
    """The direct tenants and their credential kinds, when a migrated warehouse is configured; else none (a
    deployment without a warehouse has no tenants table, and then every tenant is read as the partner)."""
    import psycopg

    from smart_office.warehouse.connection import connect

    if settings.warehouse is None:
        return {}
    try:
        with connect(settings.warehouse) as conn:
            return TenantRegistry(conn).direct_credentials()
    except psycopg.errors.UndefinedTable:
        return {}
