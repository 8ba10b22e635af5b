"""Operators of the extraction DAG. Each returns a small JSON summary (XCom), never data or tokens."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from smart_office.settings import Settings

WAREHOUSE_CONN_ID = "smart_office_warehouse"


def warehouse_url_from_connection(conn_id: str) -> str | None:
    """A libpq URL from an Airflow Postgres connection (None if it does not exist).

    Socket directories work as host; libpq options in the connection's extras (sslmode, sslrootcert, …)
    are kept, so a managed warehouse that requires TLS gets it.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError

    try:
        conn = BaseHook.get_connection(conn_id)
    except (AirflowNotFoundException, AirflowRuntimeError):
        return None
    host = conn.host or ""
    auth = quote(conn.login or "", safe="")
    if conn.password:
        auth += ":" + quote(conn.password, safe="")
    database = conn.schema or "postgres"
    options = {k: str(v) for k, v in (conn.extra_dejson or {}).items() if k in LIBPQ_OPTIONS}
    if host.startswith("/"):
        options = {"host": host, **({"port": str(conn.port)} if conn.port else {}), **options}
        return f"postgresql://{auth}@/{database}?{urlencode(options, safe='/')}"
    port = f":{conn.port}" if conn.port else ""
    query = f"?{urlencode(options, safe='/')}" if options else ""
    return f"postgresql://{auth}@{host}{port}/{database}{query}"


LIBPQ_OPTIONS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "connect_timeout",
        "application_name",
        "options",
        "target_session_attrs",
    }
)


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


@contextmanager
def fail_fast_on_human_errors() -> Iterator[None]:
    """Errors only a human can fix fail the task without Airflow's retries; transient ones are retried.

    Retrying an expired refresh token or a missing setting five minutes later only delays the page to the
    data engineer; a 503 from the identity service is worth another try.
    """
    from airflow.sdk.exceptions import AirflowFailException

    from smart_office.auth.errors import AuthState
    from smart_office.auth.rotation import NoRefreshTokenError
    from smart_office.auth.stores import TokenStoreError
    from smart_office.extract.tenant import PartnerAuthFailure
    from smart_office.runtime import CredentialMissingError
    from smart_office.settings import SettingsError

    try:
        yield
    except PartnerAuthFailure as failure:
        if failure.error.state is AuthState.TRANSIENT:
            raise
        raise AirflowFailException(str(failure)) from None
    except (SettingsError, CredentialMissingError, NoRefreshTokenError, TokenStoreError) as error:
        raise AirflowFailException(f"configuration error: {error}") from None


class _SmartOfficeOperator(BaseOperator):
    """Resolves settings from the environment and the warehouse URL from the Airflow connection.

    :param warehouse_conn_id: Airflow Postgres connection of the warehouse (falls back to SMART_OFFICE_WAREHOUSE_URL).
    """

    def __init__(self, *, warehouse_conn_id: str = WAREHOUSE_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id

    def settings(self) -> Settings:
        import dataclasses

        from smart_office.settings import Settings

        settings = Settings.from_env()
        url = settings.warehouse_url or warehouse_url_from_connection(self.warehouse_conn_id)
        if not url:
            raise RuntimeError(
                f"no warehouse: define Airflow connection {self.warehouse_conn_id!r} or SMART_OFFICE_WAREHOUSE_URL"
            )
        return dataclasses.replace(settings, warehouse_url=url)


class PartnerTokenCheckOperator(_SmartOfficeOperator):
    """Exchanges (and thereby rotates) the partner refresh token; fails fast with one clear message."""

    def execute(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import check_partner_token, prepare_warehouse

        with fail_fast_on_human_errors():
            settings = self.settings()
            prepare_warehouse(settings)
            return check_partner_token(settings, as_of=_as_of(context))


class DiscoverCustomersOperator(_SmartOfficeOperator):
    """Lists customers and GDAP relationships and returns the shard plan: `[{"run_id", "shard", "shards"}]`."""

    def execute(self, context: Context) -> list[dict[str, Any]]:
        from smart_office.pipeline import discover_customers

        run_id = _run_id(context)
        with fail_fast_on_human_errors():
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

    def execute(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import extract_shard

        with fail_fast_on_human_errors():
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

    def execute(self, context: Context) -> dict[str, Any]:
        from smart_office.pipeline import close_run

        with fail_fast_on_human_errors():
            return close_run(self.settings(), run_id=_run_id(context))


class CoverageCheckOperator(_SmartOfficeOperator):
    """Fails (and so notifies) when the run's coverage was under SMART_OFFICE_COVERAGE_THRESHOLD, after the marts
    were built from what landed. Not retried: a retry would not change the coverage of a closed run."""

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.sdk.exceptions import AirflowFailException

        from smart_office.pipeline import CoverageError, enforce_coverage, run_coverage

        with fail_fast_on_human_errors():
            summary = run_coverage(self.settings(), run_id=_run_id(context))
        if summary is None:
            raise AirflowFailException("the run was never closed: discovery or the coverage gate failed")
        try:
            enforce_coverage(summary)
        except CoverageError as error:
            raise AirflowFailException(str(error)) from None
        return summary
