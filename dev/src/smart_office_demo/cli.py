"""`smart-office-demo` (what `make demo` runs)."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="Partner Smart Office end to end on embedded defaults: an embedded PostgreSQL, the emulator, the real DAG.",
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)


@app.command()
def run(
    tenants: Annotated[
        int | None,
        typer.Option(help="Customers in the emulated portfolio (default SMART_OFFICE_DEMO_TENANTS, 50)."),
    ] = None,
) -> None:
    """Run the main job on embedded defaults: an embedded PostgreSQL (or SMART_OFFICE_WAREHOUSE_URL) and the
    emulator; prints what the marts hold and starts the dashboard."""
    from smart_office_demo.demo import run_demo

    raise typer.Exit(run_demo(tenants=tenants))
