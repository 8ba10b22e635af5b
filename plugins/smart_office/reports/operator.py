"""The monthly reports task: thin Airflow glue over smart_office.reports.batch. Heavy imports inside execute()."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from smart_office.dashboard.connection import MartsSource

WAREHOUSE_CONN_ID = "smart_office_warehouse"


class CustomerReportsOperator(BaseOperator):
    """Writes every current customer's report for the period the run closes (the month, or the quarter, before
    the run's date: SMART_OFFICE_REPORTS_PERIOD) to SMART_OFFICE_REPORTS_DIR, and e-mails each to
    SMART_OFFICE_REPORTS_EMAILS when set; each compares the customer with its segment for
    SMART_OFFICE_REPORT_SEGMENT_BY. Returns a small summary; fails, after writing every other customer's
    report, when some customer's failed (each recorded in the period folder's manifest.json).

    :param warehouse_conn_id: Airflow Postgres connection of the warehouse (SMART_OFFICE_DASHBOARD_URL, then
        SMART_OFFICE_WAREHOUSE_URL win); read as the BI reader role, so the task can only read the marts.
    :param smtp_conn_id: Airflow SMTP connection the reports are e-mailed through.
    """

    def __init__(
        self,
        *,
        warehouse_conn_id: str = WAREHOUSE_CONN_ID,
        smtp_conn_id: str = "smtp_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id
        self.smtp_conn_id = smtp_conn_id

    def marts_source(self) -> MartsSource:
        from smart_office.clouds import cloud_from_env
        from smart_office.dashboard.connection import (
            BI_READER_ROLE_ENV,
            DASHBOARD_URL_ENV,
            DEFAULT_BI_READER_ROLE,
            MartsSource,
            marts_source_from_env,
        )
        from smart_office.warehouse.connection import resolve_warehouse

        if os.environ.get(DASHBOARD_URL_ENV, "").strip():
            return marts_source_from_env()
        target = resolve_warehouse(conn_id=self.warehouse_conn_id, cloud=cloud_from_env(os.environ))
        return MartsSource(target, os.environ.get(BI_READER_ROLE_ENV, "").strip() or DEFAULT_BI_READER_ROLE)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowException, AirflowFailException

        from smart_office.dashboard.connection import DashboardConfigError, MartsReader
        from smart_office.operators.errors import as_airflow_error
        from smart_office.operators.extraction import _as_of, _run_id
        from smart_office.reports.batch import write_customer_reports
        from smart_office.reports.email import ReportMailer
        from smart_office.reports.output import destination
        from smart_office.reports.pdf import PdfError, find_chromium
        from smart_office.reports.period import period_before
        from smart_office.reports.settings import ReportSettings

        with as_airflow_error():
            settings = ReportSettings.from_env()
            try:
                chromium = find_chromium()
                source = self.marts_source()
            except (PdfError, DashboardConfigError) as exc:
                raise AirflowFailException(str(exc)) from None
        as_of = _as_of(context)
        period = period_before(as_of, settings.period)
        if period is None:
            self.log.info("no %s ended before %s: nothing to report", settings.period, as_of.date())
            return {"period": None, "customers": 0}
        mailer = ReportMailer(settings.emails, smtp_conn_id=self.smtp_conn_id) if settings.emails else None
        reader = MartsReader(source, pool_size=1)
        try:
            with as_airflow_error():
                summary = write_customer_reports(
                    reader,
                    destination(settings.location),
                    period,
                    generated_at=as_of,
                    run_id=_run_id(context),
                    send=(lambda report, pdf: mailer.send(report, pdf, context)) if mailer else None,
                    chromium=chromium,
                    segment_key=settings.segment_key,
                )
        finally:
            reader.close()
        self.log.info("customer reports: %s", summary)
        if summary["failed"]:
            raise AirflowException(
                f"{summary['failed']} of {summary['customers']} customers' reports for {period.label} failed "
                f"(the others were written; each failure is in {summary['location']}/manifest.json): "
                + ", ".join(summary["failed_tenants"])
            )
        return summary
