"""`smart-office report`: one customer's report for a period, as HTML and PDF, from the marts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer


def report_command(
    customer: Annotated[str, typer.Option(help="The customer: its tenant id or default domain.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the HTML and the PDF into.")],
    period: Annotated[
        str | None, typer.Option(help="A quarter (2026-Q3) or a month (2026-09); or --from and --to.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First day (2026-07-01), with --to.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day, included (2026-08-15).")] = None,
    segment_key: Annotated[
        str | None,
        typer.Option(
            "--segment-key",
            help="Compare with the median of the customer's segment for this key (seat_band, industry, a free "
            'tag); "" for none. Default: SMART_OFFICE_REPORT_SEGMENT_BY, else seat_band.',
        ),
    ] = None,
) -> None:
    """Write a customer's security review for a period (Secure Score trend, controls gained and lost, top
    opportunities, alerts and incidents) as HTML and PDF; prints the two paths."""
    from smart_office.cli import CliError
    from smart_office.dashboard.connection import (
        DashboardConfigError,
        MartsReader,
        MartsUnavailableError,
        marts_source_from_env,
    )
    from smart_office.reports.document import ReportError, build_report
    from smart_office.reports.output import write_report_to_folder
    from smart_office.reports.pdf import PdfError, find_chromium
    from smart_office.reports.period import PeriodError, parse_period
    from smart_office.reports.settings import parse_segment_key, segment_key_from_env
    from smart_office.settings import SettingsError

    try:
        chosen = parse_period(period, start, end)
    except PeriodError as exc:
        raise CliError(
            str(exc), "e.g. --period 2026-Q3, --period 2026-09, or --from 2026-07-01 --to 2026-09-30"
        ) from None
    try:
        key = (
            segment_key_from_env() if segment_key is None else parse_segment_key(segment_key, "--segment-key")
        )
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    try:
        chromium = find_chromium()  # before reading anything: a missing printer is a setup error
        source = marts_source_from_env()
    except (PdfError, DashboardConfigError) as exc:
        raise CliError(str(exc)) from None
    reader = MartsReader(source, pool_size=1)
    try:
        report = build_report(reader, customer, chosen, datetime.now(UTC), segment_key=key)
        written = write_report_to_folder(report, out, chromium=chromium)
    except ReportError as exc:
        raise CliError(str(exc), code=1) from None
    except MartsUnavailableError as exc:
        raise CliError(str(exc), code=4) from None
    except PdfError as exc:
        raise CliError(str(exc), code=1) from None
    finally:
        reader.close()
    typer.echo(written.html)
    typer.echo(written.pdf)
