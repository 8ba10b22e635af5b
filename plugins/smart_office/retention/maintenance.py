"""The maintenance task: purge customers departed long enough ago, then apply the raw retention.

Both measure time from the run's logical time (`as_of`), never the wall clock, so a rerun of the same
interval deletes the same things (and, everything having gone the first time, nothing more).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from smart_office.retention.purge import purge_departed
from smart_office.retention.raw_retention import apply_raw_retention
from smart_office.retention.settings import RetentionSettings
from smart_office.warehouse.connection import WarehouseTarget, connect

log = logging.getLogger(__name__)


def run_maintenance(
    warehouse: WarehouseTarget | str, settings: RetentionSettings, *, as_of: datetime, run_label: str
) -> dict[str, Any]:
    """Apply what the settings ask for; returns a summary of counts (no tenant ids) for XCom and the log.

    :param run_label: who the purge records name as having purged (the maintenance run), no customer data.
    """
    summary: dict[str, Any] = {"as_of": as_of.isoformat(), "departed_purged": 0, "raw_versions_deleted": 0}
    with connect(warehouse, autocommit=True, application_name="smart-office-maintenance") as conn:
        if settings.purge_departed_after_days is not None and settings.purge_key is not None:
            records = purge_departed(
                conn,
                as_of=as_of,
                after_days=settings.purge_departed_after_days,
                key=settings.purge_key.reveal(),
                purged_by=run_label,
            )
            summary["departed_purged"] = len(records)
            summary["departed_rows_deleted"] = sum(r.rows_deleted for r in records)
        if settings.raw_retention_days is not None:
            result = apply_raw_retention(
                conn, as_of - timedelta(days=settings.raw_retention_days), batch_size=settings.batch_size
            )
            summary["raw_versions_deleted"] = result.total
            summary["raw_retention"] = result.as_dict()
    log.info("maintenance: %s", summary)
    return summary
