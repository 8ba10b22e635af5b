"""Command line of the emulator, mounted as `smart-office emulator`."""

from __future__ import annotations

import typer

emulator_app = typer.Typer(help="The local Microsoft cloud emulator.", no_args_is_help=True)


@emulator_app.command("serve")
def serve() -> None:
    """Start the emulator (identity, Graph, Partner Center, Key Vault, admin) over HTTPS."""
    raise typer.Exit("not built yet")
