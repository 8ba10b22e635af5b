"""`smart-office dashboard`: serve the Streamlit dashboard, or export static HTML pages for e-mail.

Mounted by the main CLI as `smart-office dashboard` (also `python -m smart_office.dashboard`). The
warehouse URL reaches Streamlit through the environment only — never on a command line, where `ps` would
show its password.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

APP_SCRIPT = Path(__file__).resolve().parent / "app.py"
DEFAULT_PORT = 8501
console = Console(stderr=True)

dashboard_app = typer.Typer(
    help="The dashboard on the marts: portfolio, customer, alerts, opportunities.",
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,  # locals may hold the warehouse URL
)

PortOption = Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)]
HostOption = Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")]


def streamlit_command(port: int, host: str) -> list[str]:
    """The `streamlit run` command line: headless, no telemetry, no file watching, no developer menus."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--server.runOnSave",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",
        # Tracebacks could quote a query's parameters; the pages explain their own errors.
        "--client.showErrorDetails",
        "none",
        "--theme.base",
        "light",
    ]


def _source():  # type: ignore[no-untyped-def]
    from smart_office.dashboard.connection import DashboardConfigError, marts_source_from_env

    try:
        return marts_source_from_env()
    except DashboardConfigError as exc:
        console.print(f"[red]configuration error:[/] {exc}")
        raise typer.Exit(2) from None


def _serve(port: int, host: str) -> None:
    from smart_office.dashboard.connection import MartsUnavailableError, open_connection

    source = _source()
    try:
        open_connection(source).close()
    except MartsUnavailableError as exc:
        # Start anyway: the pages explain the problem, and the marts may be built while it runs.
        console.print(f"[yellow]warning:[/] {exc}")
    shown_host = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - only for the printed URL
    console.print(f"dashboard: http://{shown_host}:{port}/ (reading {source.display})")
    env = {
        **os.environ,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "STREAMLIT_SERVER_HEADLESS": "true",
    }
    sys.stdout.flush()
    sys.stderr.flush()
    # Replace this process: signals reach Streamlit directly and there is no parent to clean up.
    os.execve(sys.executable, streamlit_command(port, host), env)  # noqa: S606 - fixed argv, no shell


@dashboard_app.callback()
def default(
    ctx: typer.Context,
    port: PortOption = DEFAULT_PORT,
    host: HostOption = "127.0.0.1",
) -> None:
    """Serve the dashboard (the same as `serve`) unless a subcommand is given."""
    if ctx.invoked_subcommand is None:
        _serve(port, host)


@dashboard_app.command()
def serve(port: PortOption = DEFAULT_PORT, host: HostOption = "127.0.0.1") -> None:
    """Start the dashboard (Streamlit) on the marts, as the BI reader role."""
    _serve(port, host)


@dashboard_app.command()
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the HTML files into.")],
    customer: Annotated[
        str | None, typer.Option(help="Tenant id of the customer page (default: the lowest Secure Score).")
    ] = None,
) -> None:
    """Write self-contained HTML of the portfolio page and one customer page, for e-mail."""
    from smart_office.dashboard.connection import MartsReader, MartsUnavailableError
    from smart_office.dashboard.export import ExportError, export_pages
    from smart_office.dashboard.filters import Filters

    if customer is not None:
        parsed, problems = Filters.from_query({"customer": customer})
        if problems:
            console.print(f"[red]error:[/] {problems[0]}")
            raise typer.Exit(2)
        customer = parsed.customer
    reader = MartsReader(_source())
    try:
        pages = export_pages(reader, out, customer)
    except (MartsUnavailableError, ExportError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    finally:
        reader.close()
    typer.echo(str(pages.portfolio))
    if pages.customer is None:
        console.print("[yellow]no customer page: no customer has a Secure Score yet[/]")
    else:
        typer.echo(str(pages.customer))
