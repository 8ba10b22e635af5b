"""Where reports go: a local folder, or an object store through Airflow's ObjectStoragePath (s3://, abfs://, gs://,
file://…, with the credentials of the Airflow connection the URL names, e.g. `s3://aws_default@bucket/reports`)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smart_office.reports.document import CustomerReport, report_html
from smart_office.reports.pdf import render_pdf


@dataclass(frozen=True, slots=True)
class WrittenReport:
    """The two files of one report, as written (paths or object-store URLs), and a local copy of the PDF."""

    html: str
    pdf: str
    local_pdf: Path


def destination(location: str | Path) -> Any:
    """A folder to write into: an ObjectStoragePath for a URL (`scheme://…`), else a local Path."""
    text = str(location).strip()
    if "://" in text:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(text)
    return Path(text).expanduser()


def file_stem(report: CustomerReport) -> str:
    """`contoso-ltd-1a2b3c4d-2026-Q3`: the company, the tenant (two customers may share a name), the period."""
    company = re.sub(r"[^a-z0-9]+", "-", report.company_name.lower()).strip("-")[:60] or "customer"
    return f"{company}-{report.tenant_id[:8]}-{report.period.label}"


def write_report(
    report: CustomerReport, folder: Any, scratch: Path, *, chromium: str | None = None
) -> WrittenReport:
    """Write the report's HTML and its PDF (printed from that HTML) into `folder` (a Path or ObjectStoragePath);
    the PDF is printed into `scratch` first (a local folder), which keeps it for an e-mail."""
    html = report_html(report)
    stem = file_stem(report)
    local_pdf = render_pdf(html, scratch / f"{stem}.pdf", executable=chromium)
    folder.mkdir(parents=True, exist_ok=True)
    html_target = folder / f"{stem}.html"
    pdf_target = folder / f"{stem}.pdf"
    html_target.write_bytes(html.encode("utf-8"))
    pdf_target.write_bytes(local_pdf.read_bytes())
    return WrittenReport(html=str(html_target), pdf=str(pdf_target), local_pdf=local_pdf)


def write_report_to_folder(
    report: CustomerReport, folder: Path, *, chromium: str | None = None
) -> WrittenReport:
    """`write_report` into a local folder, for the CLI."""
    with tempfile.TemporaryDirectory(prefix="smart-office-report-") as scratch:
        written = write_report(report, folder, Path(scratch), chromium=chromium)
    return WrittenReport(html=written.html, pdf=written.pdf, local_pdf=Path(written.pdf))
