"""`smart-office-demo` (what `make demo` runs): the demo by default, `stop` for what it leaves running."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="Partner Smart Office end to end on embedded defaults: an embedded PostgreSQL, the emulator, the real DAG.",
    add_completion=False,
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)

TenantsOption = Annotated[
    int | None,
    typer.Option(help="Customers in the emulated portfolio (default SMART_OFFICE_DEMO_TENANTS, 50)."),
]


@app.callback()
def main(ctx: typer.Context, tenants: TenantsOption = None) -> None:
    """Without a command: the demo (`run`)."""
    if ctx.invoked_subcommand is None:
        run(tenants)


@app.command()
def run(tenants: TenantsOption = None) -> None:
    """Run the main job on embedded defaults: an embedded PostgreSQL (or SMART_OFFICE_WAREHOUSE_URL) and the
    emulator; prints what the marts hold and starts the dashboard."""
    from smart_office_demo.demo import run_demo

    raise typer.Exit(run_demo(tenants=tenants))


@app.command()
def docs(
    target_path: Annotated[Path | None, typer.Option(help="Where dbt writes (default dbt/target/).")] = None,
) -> None:
    """dbt's docs as one HTML file, from the demo's warehouse (SMART_OFFICE_WAREHOUSE_URL, else the embedded
    PostgreSQL), migrated first: `make docs` on a fresh clone."""
    from smart_office_demo.demo import _state_dir, console, generate_docs

    console.print(f"dbt docs: {generate_docs(_state_dir(), target_path)}")


@app.command()
def stop() -> None:
    """Stop what the demo left running: the dashboard and the embedded PostgreSQL (safe to repeat)."""
    from smart_office_demo.demo import console, state_path, stop_demo

    for line in stop_demo(state_path()):
        console.print(line)
