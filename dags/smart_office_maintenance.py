"""
### Partner Smart Office — retention and purge maintenance

Daily, at 03:00 UTC: purge customers that departed from Partner Center at least
`SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS` days before the run's logical time (default: never), then delete
superseded raw versions older than `SMART_OFFICE_RAW_RETENTION_DAYS` (default: keep everything) — only those
no mart reads, so the marts and the weekly full refresh stay the same. See docs/retention.md.

**Why a DAG of its own, not a task after `publish_marts`:** maintenance must never delay or fail the marts of
the day (a first retention over a year of history takes long; its failure is not the extraction's), it is
retried and alerted on its own, and it can be paused alone. It is safe beside a running extraction: deletions
commit in small batches (no long locks on the daily merge), and what it deletes is never what a run reads.
Daily rather than weekly so that a departed customer is purged within a day of its deadline. Time comes from
the run's data interval, never the wall clock. With neither setting it does nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from airflow.sdk import DAG

from smart_office.notifications import failure_notifiers
from smart_office.retention.operator import RetentionMaintenanceOperator

with DAG(
    dag_id="smart_office_maintenance",
    description="Raw retention and departed customers' purge (docs/retention.md)",
    doc_md=__doc__,
    schedule="0 3 * * *",
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    tags=["smart-office", "maintenance", "retention"],
    on_failure_callback=failure_notifiers(event="run failed"),
    default_args={
        "on_failure_callback": failure_notifiers(),
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=10),
        "retry_exponential_backoff": True,
        "execution_timeout": timedelta(hours=4),
    },
) as dag:
    RetentionMaintenanceOperator(task_id="retention_and_purge")
