"""Operators of the extraction DAG. Each returns a small JSON summary (XCom), never data or tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from smart_office.settings import Settings

WAREHOUSE_CONN_ID = "smart_office_warehouse"


def _as_of(context: Context) -> datetime:
    """The run's point in time: the end of its data interval, or when a manual run was due."""
    value = context.get("data_interval_end") or context["dag_run"].run_after
    # Airflow hands out pendulum DateTimes; the library works with plain, aware datetimes.
    return datetime.fromtimestamp(value.timestamp(), UTC)


def _interval_start(context: Context) -> datetime | None:
    """Where the run's data interval starts (None for a run triggered without a logical date)."""
    value = context.get("data_interval_start")
    return datetime.fromtimestamp(value.timestamp(), UTC) if value else None


def _run_id(context: Context) -> str:
    return re.sub(r"[^A-Za-z0-9_.:+-]", "_", f"{context['dag'].dag_id}/{context['run_id']}")[:200]


class _SmartOfficeOperator(BaseOperator):
    """Resolves settings from the environment and the warehouse through the connection translator.

    Errors only a human can fix (a refused login, a missing setting, an expired partner refresh token) fail
    the task for good with one line; transient ones (the warehouse unreachable, the identity service down)
    fail it so that Airflow retries (operators/errors.py).

    :param warehouse_conn_id: Airflow Postgres connection of the warehouse (SMART_OFFICE_WAREHOUSE_URL wins).
    """

    def __init__(self, *, warehouse_conn_id: str = WAREHOUSE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id

    def settings(self) -> Settings:
        import dataclasses

        from smart_office.operators.errors import as_airflow_error
        from smart_office.settings import Settings
        from smart_office.warehouse.connection import resolve_warehouse

        with as_airflow_error():
            settings = Settings.from_env()
            if settings.warehouse is not None:
                return settings
            target = resolve_warehouse(conn_id=self.warehouse_conn_id, cloud=settings.cloud)
        return dataclasses.replace(settings, warehouse=target)

    def execute(self, context: Context) -> Any:
        from smart_office.operators.errors import as_airflow_error

        with as_airflow_error():
            return self.work(context)

    def work(self, context: Context) -> Any:
        raise NotImplementedError


class MigrateWarehouseOperator(_SmartOfficeOperator):
    """Applies the warehouse's pending schema migrations (idempotent; concurrent migrators wait on a lock).

    The first task to touch the warehouse, so a login it refuses fails the run here, once and clearly.
    Returns the names of the migrations it applied.
    """

    def work(self, context: Context) -> list[str]:
        from smart_office.pipeline import prepare_warehouse

        applied = prepare_warehouse(self.settings())
        self.log.info("applied %d migration(s): %s", len(applied), ", ".join(applied) or "none pending")
        return applied


class PartnerTokenCheckOperator(_SmartOfficeOperator):
    """Exchanges (and thereby rotates) the partner refresh token; fails fast with one clear message."""

    def work(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import check_partner_token

        return check_partner_token(self.settings(), as_of=_as_of(context))


class DiscoverCustomersOperator(_SmartOfficeOperator):
    """Lists customers and GDAP relationships and returns the shard plan: `[{"run_id", "shard", "shards"}]`."""

    def work(self, context: Context) -> list[dict[str, Any]]:
        from smart_office.pipeline import discover_customers

        run_id = _run_id(context)
        summary = discover_customers(
            self.settings(),
            run_id=run_id,
            as_of=_as_of(context),
            dag_id=context["dag"].dag_id,
            dag_run_id=context["run_id"],
        )
        self.log.info("discovery: %s", summary)
        return [{"run_id": run_id, "shard": i, "shards": summary["shards"]} for i in range(summary["shards"])]


class ExtractShardOperator(_SmartOfficeOperator):
    """Extracts one shard of tenants concurrently. Per-tenant failures never fail it.

    :param run_id: the run (from discovery).
    :param shard: zero-based shard number.
    :param shards: number of shards.
    """

    template_fields = ("run_id", "shard", "shards")

    def __init__(self, *, run_id: str, shard: int, shards: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.shard = shard
        self.shards = shards

    def work(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import extract_shard

        return extract_shard(
            self.settings(),
            run_id=self.run_id,
            shard=int(self.shard),
            shards=int(self.shards),
            as_of=_as_of(context),
            interval_start=_interval_start(context),
        )


class CoverageGateOperator(_SmartOfficeOperator):
    """Closes the run with its coverage, computed from ops: runs once every shard is done, failed ones included,
    so the marts are built from whatever landed. Low coverage fails the run later, in CoverageCheckOperator."""

    def work(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import close_run

        return close_run(self.settings(), run_id=_run_id(context))


class CoverageCheckOperator(_SmartOfficeOperator):
    """Fails (and so notifies) when the run's coverage was under SMART_OFFICE_COVERAGE_THRESHOLD, after the marts
    were built from what landed. Not retried: a retry would not change the coverage of a closed run."""

    def work(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from smart_office.pipeline import CoverageError, enforce_coverage, run_coverage

        summary = run_coverage(self.settings(), run_id=_run_id(context))
        if summary is None:
            raise AirflowFailException("the run was never closed: discovery or the coverage gate failed")
        try:
            enforce_coverage(summary)
        except CoverageError as error:
            raise AirflowFailException(str(error)) from None
        return summary
