"""
### Partner Smart Office — customer reports

Monthly, at 06:00 UTC on the 2nd (`SMART_OFFICE_REPORTS_SCHEDULE`): writes every current customer's security
review for the month that just ended — or, with `SMART_OFFICE_REPORTS_PERIOD=quarter`, for the quarter that just
ended (runs in other months write nothing) — as HTML and PDF to `SMART_OFFICE_REPORTS_DIR` (a folder, or an
object store URL read by Airflow's ObjectStoragePath, such as `s3://aws_default@bucket/reports`), one folder
per period, and e-mails each PDF to `SMART_OFFICE_REPORTS_EMAILS` through the `smtp_default` connection when set.

Scheduled by time, not on the `smart_office_marts` asset: the marts are published every day, a report is due
once a month. The 2nd, not the 1st: Microsoft writes a day's Secure Score once the day is over, so the month's
last day lands with the next day's extraction run. The report reads only the marts, as the BI reader role.

One customer's failure (no Chromium, a broken record) costs that customer only: the others are written, the
failure is recorded in the period folder's `manifest.json`, and the task then fails (and notifies); a retry
writes only what is missing and never e-mails a customer twice. Paused when first deployed: set
`SMART_OFFICE_REPORTS_DIR`, then unpause it. See docs/reports.md.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG

from smart_office.notifications import failure_notifiers
from smart_office.reports.operator import CustomerReportsOperator
from smart_office.reports.settings import DEFAULT_SCHEDULE, REPORTS_SCHEDULE_ENV

with DAG(
    dag_id="smart_office_customer_reports",
    description="Every customer's security review (HTML and PDF) for the month or quarter that ended",
    doc_md=__doc__,
    schedule=os.environ.get(REPORTS_SCHEDULE_ENV, "").strip() or DEFAULT_SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    is_paused_upon_creation=True,
    dagrun_timeout=timedelta(hours=12),
    tags=["smart-office", "reports"],
    on_failure_callback=failure_notifiers(event="run failed"),
    default_args={
        "on_failure_callback": failure_notifiers(),
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=8),
    },
) as dag:
    CustomerReportsOperator(task_id="write_customer_reports")
