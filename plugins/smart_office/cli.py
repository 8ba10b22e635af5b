"""The `smart-office` command."""

from __future__ import annotations

import typer

from emulator.cli import emulator_app

app = typer.Typer(
    help="Partner Smart Office: one warehouse of security posture for all of a CSP partner's customers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold secrets
)
app.add_typer(emulator_app, name="emulator")


@app.command()
def demo() -> None:
    """Run the main job on embedded defaults: an embedded PostgreSQL and the emulator."""
    typer.echo("demo: not built yet")


if __name__ == "__main__":
    app()
