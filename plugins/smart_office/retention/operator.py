"""The maintenance DAG's operator: thin glue over smart_office.retention.maintenance."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from smart_office.operators.extraction import _as_of, _run_id, _SmartOfficeOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class RetentionMaintenanceOperator(_SmartOfficeOperator):
    """Purges departed customers (SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS) and applies the raw retention
    (SMART_OFFICE_RAW_RETENTION_DAYS), measured from the run's logical time. Returns counts only."""

    def work(self, context: Context) -> dict[str, Any]:
        import dataclasses

        from smart_office.retention.maintenance import run_maintenance
        from smart_office.retention.settings import RetentionSettings
        from smart_office.settings import Settings
        from smart_office.warehouse.connection import resolve_warehouse

        # Errors are turned into Airflow's by execute(): a bad setting fails for good, an unreachable warehouse retries.
        retention = RetentionSettings.from_env()
        settings = Settings.from_env(require_partner=False)
        if settings.warehouse is None:
            settings = dataclasses.replace(
                settings, warehouse=resolve_warehouse(conn_id=self.warehouse_conn_id, cloud=settings.cloud)
            )
        return run_maintenance(
            settings.warehouse, retention, as_of=_as_of(context), run_label=f"maintenance:{_run_id(context)}"
        )
