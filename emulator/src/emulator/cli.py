"""Command line of the emulator: `smart-office-emulator` (also `python -m emulator`)."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from emulator.config import ConfigError, EmulatorConfig, parse_instant

emulator_app = typer.Typer(help="The local Microsoft cloud emulator.", no_args_is_help=True)


@emulator_app.callback()
def _group() -> None:
    """The local Microsoft cloud emulator (identity, Graph, Partner Center, Key Vault, admin) over HTTPS."""


@emulator_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="First of six consecutive ports (0: six ephemeral ports).")] = 0,
    tenants: Annotated[int, typer.Option(help="Number of customer tenants.")] = 25,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic portfolio.")] = 1,
    now: Annotated[
        str | None, typer.Option(help="Start of the emulator clock, ISO 8601 (default: now, UTC).")
    ] = None,
    state_dir: Annotated[
        Path | None, typer.Option(help="Where state, keys and the CA live (default: a temp dir).")
    ] = None,
    fault_profile: Annotated[
        str, typer.Option(help="realistic (baked-in tenant faults) or none.")
    ] = "realistic",
    running_clock: Annotated[
        bool,
        typer.Option(help="Let the clock also advance with real time (default: it moves only via admin)."),
    ] = False,
) -> None:
    """Start the emulator; prints one JSON line with its endpoints, then serves until SIGTERM/SIGINT."""
    from emulator.server import serve as run

    temporary = state_dir is None
    folder = Path(tempfile.mkdtemp(prefix="smart-office-emulator-")) if temporary else state_dir
    assert folder is not None
    try:
        config = EmulatorConfig(
            now=parse_instant(now) if now else datetime.now(UTC).replace(microsecond=0),
            state_dir=folder,
            host=host,
            port=port,
            tenants=tenants,
            seed=seed,
            fault_profile=fault_profile,
            running_clock=running_clock,
        )
    except ConfigError as err:
        raise typer.BadParameter(str(err)) from None
    try:
        run(config)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


@emulator_app.command("browse")
def browse(
    url: Annotated[str, typer.Argument(help="The URL a program asked a browser to open.")],
    ca_bundle: Annotated[
        Path, typer.Option(help="The emulator's CA (ca_bundle of the endpoint set), trusted for its pages.")
    ],
) -> None:
    """Open URL as the person at the browser would: sign in at the emulator's pages, post the answer back.

    For programs that open a browser through Python's `webbrowser` (which runs the command in BROWSER):
    point BROWSER at a one-line script that runs this with the CA, and their sign-in completes unattended.
    """
    from emulator.browser import ScriptedBrowser, trusting_session

    response = ScriptedBrowser(trusting_session(str(ca_bundle))).open(url)
    if response.status_code >= 400:
        typer.echo(f"browse: HTTP {response.status_code} from {response.url}", err=True)
        raise typer.Exit(1)
