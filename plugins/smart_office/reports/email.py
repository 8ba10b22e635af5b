"""E-mailing a report: the PDF attached, through Airflow's SMTP connection, with the transport the failure e-mails
use (smart_office.notifications: the SMTP provider's notifier, sent as built, never rendered as a template)."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from smart_office.notifications import SUBJECT_PREFIX
from smart_office.reports.document import CustomerReport


def subject(report: CustomerReport) -> str:
    return f"{SUBJECT_PREFIX} {report.company_name}: security review, {report.period.title}"


def body(report: CustomerReport) -> str:
    return (
        f"<p>The security review of <b>{escape(report.company_name)}</b> for {escape(report.period.title)} "
        f"({report.period.start:%d %b %Y} to {report.period.end:%d %b %Y}) is attached as a PDF.</p>"
    )


class ReportMailer:
    """Sends one report to fixed recipients.

    :param to: recipients (SMART_OFFICE_REPORTS_EMAILS).
    :param smtp_conn_id: Airflow SMTP connection (host, login, `from_email` extra); default `smtp_default`.
    """

    def __init__(self, to: tuple[str, ...], *, smtp_conn_id: str = "smtp_default") -> None:
        self.to = to
        self.smtp_conn_id = smtp_conn_id

    def send(self, report: CustomerReport, pdf: Path, context: Mapping[str, Any]) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        SmtpNotifier(
            to=list(self.to),
            subject=subject(report),
            html_content=body(report),
            files=[str(pdf)],
            smtp_conn_id=self.smtp_conn_id,
        ).notify(context)  # type: ignore[arg-type]
