"""`smart-office tenants purge TENANT` and `smart-office tenants readmit TENANT` (docs/retention.md)."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import Annotated

import typer

from smart_office.wording import counted

purge_app = typer.Typer(help="Delete one customer's data everywhere, on request.")

TenantArgument = Annotated[str, typer.Argument(help="The customer's tenant id (a GUID).")]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who asked, for the purge record (default: your login name).")
]


def _key() -> str:
    from smart_office.cli import CliError
    from smart_office.retention.settings import PURGE_KEY, RetentionSettings

    key = RetentionSettings.from_env().purge_key
    if key is None:
        raise CliError(
            f"{PURGE_KEY} is not set",
            "set it to a secret kept outside the warehouse (e.g. `smart-office keygen`); it keys the purge record's hash",
        )
    return key.reveal()


@purge_app.command("purge")
def purge(
    tenant: TenantArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    by: ByOption = None,
) -> None:
    """Delete every row of TENANT in raw, ops and the dbt schemas, and its token-store entries; record the
    purge (a keyed hash, no customer data) and keep the tenant out of discovery until readmitted."""
    from smart_office.cli import CliError, _settings, console
    from smart_office.retention.purge import PurgeError, normalise_tenant, purge_tenant
    from smart_office.warehouse.connection import connect

    try:
        tenant_id = normalise_tenant(tenant)
    except PurgeError as error:
        raise CliError(f"tenants purge: {error}") from None
    key = _key()
    settings = _settings(require_partner=False, require_warehouse=True)
    if not yes and not typer.confirm(
        f"Delete every row of tenant {tenant_id} from the warehouse and keep it out of future runs?"
    ):
        raise CliError("tenants purge: not confirmed; nothing was deleted", code=1)
    deleter = None
    if settings.token_store == "keyvault":
        from smart_office.runtime import build_secret_store

        deleter = build_secret_store(settings)
    try:
        with connect(settings.warehouse, autocommit=True, application_name="smart-office-purge") as conn:
            record = purge_tenant(
                conn,
                tenant_id,
                key=key,
                purged_by=by or getpass.getuser(),
                purged_at=datetime.now(UTC),  # a person's request: its own time is the right one
                secret_deleter=deleter,  # type: ignore[arg-type]
            )
    except PurgeError as error:
        raise CliError(f"tenants purge: {error}", code=1) from None
    console.print(
        f"purge {record.purge_id}: {counted(record.rows_deleted, 'row')} in {counted(len(record.tables), 'table')}, "
        f"{counted(record.secrets_deleted, 'secret')} deleted; the tenant stays out of discovery "
        "(smart-office tenants readmit to lift that)"
    )


@purge_app.command("readmit")
def readmit_command(tenant: TenantArgument, by: ByOption = None) -> None:
    """Let a tenant purged on request be discovered (and extracted) again."""
    from smart_office.cli import CliError, _settings, console
    from smart_office.retention.purge import PurgeError, readmit
    from smart_office.warehouse.connection import connect

    key = _key()
    settings = _settings(require_partner=False, require_warehouse=True)
    try:
        with connect(settings.warehouse, autocommit=True) as conn:
            lifted = readmit(
                conn, tenant, key=key, readmitted_by=by or getpass.getuser(), at=datetime.now(UTC)
            )
    except PurgeError as error:
        raise CliError(f"tenants readmit: {error}") from None
    if not lifted:
        raise CliError("tenants readmit: no purge blocks this tenant", code=1)
    console.print("readmitted: the next run discovers it again")
