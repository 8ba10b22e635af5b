"""`smart-office tenants`: direct tenants, the pilot and exclusions, as data in ops.tenants.

Mounted by the main CLI (`app.add_typer(tenants_app, name="tenants")`). Each change records who made it (the
OS user, or --by), when, and why (--reason; an exclusion must have one).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from smart_office.retention.cli import purge_app

if TYPE_CHECKING:
    from smart_office.tenants.registry import TenantRegistry

console = Console(stderr=True, soft_wrap=True)

tenants_app = typer.Typer(
    help="The partner's own tenant list: direct tenants (own credential), the pilot, exclusions.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# The retention's commands on one tenant (`tenants purge`, `tenants readmit`) belong to the same group.
tenants_app.registered_commands.extend(purge_app.registered_commands)

TenantArgument = Annotated[str, typer.Argument(help="The tenant's id (a GUID).")]
ByOption = Annotated[str | None, typer.Option("--by", help="Who makes the change (default: the OS user).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (recorded with the change).")]


@contextlib.contextmanager
def _registry() -> Iterator[TenantRegistry]:
    """The registry on the configured warehouse; its refusals become the CLI's one-line errors."""
    from smart_office.cli import CliError, _settings
    from smart_office.tenants.registry import TenantRegistry, TenantsError
    from smart_office.warehouse.connection import connect

    settings = _settings(require_partner=False, require_warehouse=True)
    try:
        with connect(settings.warehouse) as conn:
            yield TenantRegistry(conn)
    except TenantsError as exc:
        raise CliError(exc.what, exc.fix) from None


def _who(by: str | None) -> str:
    from smart_office.tenants.registry import current_user

    return (by or "").strip() or current_user()


@tenants_app.command("add")
def add(
    tenant: TenantArgument,
    credential: Annotated[
        str,
        typer.Option(
            help="app_only (the tenant's admin consents to the app: `tenants consent-url`) or delegated "
            "(`smart-office consent --tenant T`)."
        ),
    ] = "app_only",
    name: Annotated[str | None, typer.Option(help="A display name for reports.")] = None,
    by: ByOption = None,
    reason: ReasonOption = None,
) -> None:
    """Add a direct tenant (not in Partner Center, no GDAP), read with its own credential."""
    with _registry() as registry:
        entry = registry.add(tenant, credential=credential, by=_who(by), display_name=name, reason=reason)
    console.print(f"direct tenant {entry.tenant_id} added ({entry.credential})")
    if entry.credential == "app_only":
        console.print(f"next: its admin opens `smart-office tenants consent-url {entry.tenant_id}`")
    else:
        console.print(f"next: its admin signs in with `smart-office consent --tenant {entry.tenant_id}`")


@tenants_app.command("remove")
def remove(tenant: TenantArgument, by: ByOption = None, reason: ReasonOption = None) -> None:
    """Remove a tenant's entry (direct tenant, pilot or exclusion); its history stays in ops.tenant_changes."""
    with _registry() as registry:
        entry = registry.remove(tenant, by=_who(by), reason=reason)
    console.print(f"tenant {entry.tenant_id} removed")


@tenants_app.command("include")
def include(tenant: TenantArgument, by: ByOption = None, reason: ReasonOption = None) -> None:
    """Put a tenant in the pilot: while any tenant is included, runs read only the included ones."""
    with _registry() as registry:
        entry = registry.include(tenant, by=_who(by), reason=reason)
    console.print(f"tenant {entry.tenant_id} included in the pilot")


@tenants_app.command("exclude")
def exclude(tenant: TenantArgument, by: ByOption = None, reason: ReasonOption = None) -> None:
    """Never read a tenant (--reason is required)."""
    with _registry() as registry:
        entry = registry.exclude(tenant, by=_who(by), reason=reason)
    console.print(f"tenant {entry.tenant_id} excluded")


@tenants_app.command("clear")
def clear(tenant: TenantArgument, by: ByOption = None, reason: ReasonOption = None) -> None:
    """Take a tenant out of the pilot or the exclusions."""
    with _registry() as registry:
        entry = registry.clear(tenant, by=_who(by), reason=reason)
    console.print(f"tenant {entry.tenant_id}: {entry.scope} cleared")


@tenants_app.command("list")
def list_tenants(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
) -> None:
    """List the entries: direct tenants with their credential, the pilot, exclusions, with who/when/why."""
    with _registry() as registry:
        entries = registry.list()
    if as_json:
        for entry in entries:
            typer.echo(json.dumps(entry.as_dict()))
        return
    from rich.table import Table

    table = Table("tenant", "name", "credential", "scope", "why", "changed by", "changed at")
    for e in entries:
        table.add_row(
            e.tenant_id,
            e.display_name or "",
            e.credential or "",
            e.scope or "",
            e.scope_reason or "",
            e.changed_by,
            f"{e.changed_at:%Y-%m-%d %H:%M}",
        )
    Console(soft_wrap=True).print(table)


@tenants_app.command("consent-url")
def consent_url(tenant: TenantArgument) -> None:
    """Print the admin-consent URL for a direct tenant's admin (app-only access), for the configured cloud."""
    from smart_office.cli import CliError, _settings
    from smart_office.tenants.consent_url import admin_consent_url
    from smart_office.tenants.registry import TenantsError

    settings = _settings(require_partner=False)
    if not settings.client_id:
        raise CliError("SMART_OFFICE_CLIENT_ID is not set", "run `smart-office register-app` and set it")
    try:
        typer.echo(admin_consent_url(settings.cloud, tenant, settings.client_id))
    except TenantsError as exc:
        raise CliError(exc.what, exc.fix) from None
