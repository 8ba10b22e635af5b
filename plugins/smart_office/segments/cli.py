"""`smart-office segments`: the partner's own attributes of its customers (tag, untag, list, import, export).

Mounted by the main CLI (`app.add_typer(segments_app, name="segments")`); its errors are the main CLI's one-line
errors (CliError). Who made a change is the operating-system user unless `--by` says otherwise.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from smart_office.wording import counted

if TYPE_CHECKING:
    import psycopg

# The header row of `segments list`.
LIST_COLUMNS = ("tenant", "company", "key", "value", "set by", "set at")
console = Console(stderr=True, soft_wrap=True)

segments_app = typer.Typer(
    help="Customer segments: attributes you own about your customers (service model, industry, contract tier, "
    "seat band, free tags), for dim_customers, the posture marts and the dashboard's segment filter.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

TenantArgument = Annotated[str, typer.Argument(help="The customer's tenant id.", show_default=False)]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (recorded with it); default: your user name.")
]


def _who(by: str | None) -> str:
    from smart_office.cli import CliError

    if by is None:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no user name in the environment nor the password database
            raise CliError("cannot tell who you are", "say it with --by NAME") from None
    who = by.strip()
    if not who or len(who) > 200:
        raise CliError("--by: give a name of 1 to 200 characters")
    return who


@contextmanager
def _warehouse() -> Iterator[psycopg.Connection]:
    from smart_office.cli import _settings
    from smart_office.warehouse.connection import connect

    settings = _settings(require_partner=False, require_warehouse=True)
    with connect(settings.warehouse) as conn:
        missing = conn.execute("select to_regclass('ops.customer_attributes') is null").fetchone()
        if missing is None or missing[0]:
            from smart_office.cli import CliError

            raise CliError(
                "the warehouse has no ops.customer_attributes table", "run `smart-office migrate` first"
            )
        yield conn


def _bad_input(exc: ValueError) -> Exception:
    from smart_office.cli import CliError

    return CliError(str(exc))


def _warn_unknown(conn: psycopg.Connection, tenants: list[str]) -> None:
    from smart_office.segments.store import unknown_tenants

    unknown = unknown_tenants(conn, tenants)
    if unknown:
        shown = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        console.print(
            f"[yellow]note:[/] not (yet) listed by discovery: {shown}; their attributes apply once it lists them"
        )


@segments_app.command("tag")
def tag(
    tenant: TenantArgument,
    assignments: Annotated[
        list[str], typer.Argument(help="key=value pairs, e.g. service_model=managed industry=healthcare.")
    ],
    by: ByOption = None,
) -> None:
    """Set attributes of one customer (a key already set gets the new value)."""
    from smart_office.segments.attributes import (
        Attribute,
        InvalidAttributeError,
        parse_assignment,
        parse_tenant,
    )
    from smart_office.segments.store import apply

    try:
        tenant_id = parse_tenant(tenant)
        pairs = dict(parse_assignment(text) for text in assignments)
    except InvalidAttributeError as exc:
        raise _bad_input(exc) from None
    who = _who(by)
    with _warehouse() as conn:
        _warn_unknown(conn, [tenant_id])
        applied = apply(conn, write=[Attribute(tenant_id, k, v) for k, v in pairs.items()], set_by=who)
    console.print(
        f"{tenant_id}: {counted(applied.written, 'attribute')} set, {len(pairs) - applied.written} unchanged"
    )


@segments_app.command("untag")
def untag(
    tenant: TenantArgument,
    keys: Annotated[list[str], typer.Argument(help="The attribute names to remove, e.g. industry.")],
) -> None:
    """Remove attributes of one customer."""
    from smart_office.segments.attributes import InvalidAttributeError, check_key, parse_tenant
    from smart_office.segments.store import apply

    try:
        tenant_id = parse_tenant(tenant)
        checked = [check_key(key.partition("=")[0]) for key in keys]
    except InvalidAttributeError as exc:
        raise _bad_input(exc) from None
    with _warehouse() as conn:
        applied = apply(conn, remove=[(tenant_id, key) for key in checked], set_by=_who(None))
    console.print(f"{tenant_id}: {counted(applied.removed, 'attribute')} removed")


@segments_app.command("list")
def list_command(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this customer.")] = None,
    key: Annotated[str | None, typer.Option("--key", help="Only this attribute, e.g. industry.")] = None,
) -> None:
    """Print the attributes set, after a header row, one per line: tenant, company, key, value, who, when
    (tab-separated)."""
    from smart_office.segments.attributes import InvalidAttributeError, check_key, parse_tenant
    from smart_office.segments.store import stored

    try:
        tenant_id = parse_tenant(tenant) if tenant is not None else None
        checked = check_key(key) if key is not None else None
    except InvalidAttributeError as exc:
        raise _bad_input(exc) from None
    with _warehouse() as conn:
        rows = stored(conn, tenant_id=tenant_id, key=checked)
    # Column names as `tenants list` heads its table; on stdout with the rows, so a reader skips one line.
    typer.echo("\t".join(LIST_COLUMNS))
    for row in rows:
        typer.echo(
            "\t".join(
                [
                    row.tenant_id,
                    row.company_name or "",
                    row.key,
                    row.value,
                    row.set_by,
                    row.set_at.isoformat(),
                ]
            )
        )
    console.print(counted(len(rows), "attribute"))


@segments_app.command("export")
def export(path: Annotated[Path, typer.Argument(help="The CSV file to write.", show_default=False)]) -> None:
    """Write the segments CSV: one row per customer, one column per attribute, to edit and import."""
    from smart_office.segments.csv_file import write
    from smart_office.segments.store import known_customers, stored

    with _warehouse() as conn:
        customers = write(path, stored(conn), known_customers(conn))
    console.print(f"{counted(customers, 'customer')} written to {path}")


@segments_app.command("import")
def import_command(
    path: Annotated[Path, typer.Argument(help="The CSV file to read.", show_default=False)],
    by: ByOption = None,
) -> None:
    """Apply a segments CSV: a filled cell sets, an empty cell removes; any bad row and nothing changes."""
    from smart_office.segments.csv_file import SegmentsFileError, read
    from smart_office.segments.store import apply

    try:
        changes = read(path)
    except SegmentsFileError as exc:
        raise _bad_input(exc) from None
    who = _who(by)
    with _warehouse() as conn:
        _warn_unknown(conn, sorted({a.tenant_id for a in changes.write}))
        applied = apply(conn, write=changes.write, remove=changes.remove, set_by=who)
    console.print(
        f"{path}: {counted(changes.tenants, 'customer')}; {counted(applied.written, 'attribute')} set, "
        f"{applied.removed} removed"
    )
