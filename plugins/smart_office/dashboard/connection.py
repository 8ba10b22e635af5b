"""Read-only connections to the marts, as the BI reader role; the URL's password never leaves this module.

The dashboard reads `SMART_OFFICE_DASHBOARD_URL` (a login that is a member of the BI reader role) or falls
back to `SMART_OFFICE_WAREHOUSE_URL` and switches to the role with `SET ROLE`, so whatever login it is given
it can read schema `marts` and nothing else. Both go through the connection translator, so every libpq
login works, and with `SMART_OFFICE_WAREHOUSE_AUTH=entra` each new pooled connection gets a current token. Sessions are also read-only and have a statement timeout: a
dashboard must never be the thing that hurts the warehouse.
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from smart_office.redaction import redact_text
from smart_office.warehouse.connection import (
    WAREHOUSE_URL_ENV,
    WarehouseConfigError,
    WarehouseError,
    WarehouseTarget,
    as_target,
    auth_method,
    connect,
    target_from_url,
)

log = logging.getLogger(__name__)

DASHBOARD_URL_ENV = "SMART_OFFICE_DASHBOARD_URL"
BI_READER_ROLE_ENV = "SMART_OFFICE_BI_READER_ROLE"  # the same variable dbt's grants read
DEFAULT_BI_READER_ROLE = "smart_office_bi_reader"
STATEMENT_TIMEOUT_MS = 20_000


class DashboardConfigError(ValueError):
    """No usable warehouse URL; the message names the settings, never the password."""


class MartsUnavailableError(RuntimeError):
    """The warehouse answered, but the marts (or the reader role) are not there yet."""


@dataclass(frozen=True)
class MartsSource:
    """Where the marts are and which role reads them. repr and str never show a secret."""

    target: WarehouseTarget
    role: str | None

    def __init__(self, target: WarehouseTarget | str, role: str | None) -> None:
        object.__setattr__(self, "target", as_target(target))
        object.__setattr__(self, "role", role)

    def __repr__(self) -> str:
        return f"MartsSource({self.display!r})"

    @property
    def display(self) -> str:
        shown = self.target.display
        return f"{shown} as role {self.role}" if self.role else shown

    @property
    def cache_key(self) -> str:
        """A stable key for caches, from which no parameter can be read back."""
        text = "\x1f".join(f"{k}={v}" for k, v in sorted(self.target.params.items()))
        return hashlib.sha256(f"{text}\x1f{self.target.auth}\x1f{self.role}".encode()).hexdigest()[:16]

    def __str__(self) -> str:
        return self.display


def _source_target(value: str, setting: str, env: Mapping[str, str]) -> WarehouseTarget:
    try:
        return target_from_url(value, origin=setting, auth=auth_method(env), env=env)
    except WarehouseConfigError as exc:
        raise DashboardConfigError(str(exc)) from None


def marts_source_from_env(environ: Mapping[str, str] | None = None) -> MartsSource:
    """The dashboard's source from the environment (see the module docstring for the order)."""
    env = os.environ if environ is None else environ
    dashboard_url = env.get(DASHBOARD_URL_ENV, "").strip()
    if dashboard_url:
        return MartsSource(_source_target(dashboard_url, DASHBOARD_URL_ENV, env), None)
    warehouse_url = env.get(WAREHOUSE_URL_ENV, "").strip()
    if warehouse_url:
        role = env.get(BI_READER_ROLE_ENV, "").strip() or DEFAULT_BI_READER_ROLE
        return MartsSource(_source_target(warehouse_url, WAREHOUSE_URL_ENV, env), role)
    raise DashboardConfigError(
        f"set {DASHBOARD_URL_ENV} (a login with the BI reader role) or {WAREHOUSE_URL_ENV} "
        f"(the dashboard then reads as role {DEFAULT_BI_READER_ROLE})"
    )


def _redacted(error: Exception, source: MartsSource) -> str:
    password = source.target.password
    return redact_text(str(error).strip(), [password] if password else [])


def open_connection(source: MartsSource) -> psycopg.Connection:
    """A fresh autocommit, read-only connection, switched to the reader role when the source says so."""
    try:
        conn = connect(source.target, autocommit=True, application_name="smart-office-dashboard")
    except WarehouseError as exc:
        raise MartsUnavailableError(f"cannot connect to the warehouse: {exc}") from None
    try:
        if source.role:
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(source.role)))
        conn.execute("set default_transaction_read_only = on")
        conn.execute(sql.SQL("set statement_timeout = {}").format(sql.Literal(STATEMENT_TIMEOUT_MS)))
    except psycopg.Error as exc:
        conn.close()
        if isinstance(exc, psycopg.errors.InvalidParameterValue | psycopg.errors.UndefinedObject):
            raise MartsUnavailableError(
                f"the BI reader role {source.role!r} does not exist yet: build the marts first "
                "(`smart-office dbt build` creates it)"
            ) from None
        raise MartsUnavailableError(
            f"cannot read the marts as {source.display}: {_redacted(exc, source)}"
        ) from None
    return conn


class MartsReader:
    """Runs the dashboard's queries on a few pooled connections and returns small DataFrames.

    :param source: where the marts are and which role reads them.
    :param pool_size: connections kept open between queries (Streamlit sessions run in threads).
    """

    def __init__(self, source: MartsSource, pool_size: int = 4) -> None:
        self.source = source
        self._idle: queue.LifoQueue[psycopg.Connection] = queue.LifoQueue(maxsize=pool_size)

    def __repr__(self) -> str:
        return f"MartsReader({self.source.display})"

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = open_connection(self.source)
        if conn.closed or conn.broken:
            conn = open_connection(self.source)
        try:
            yield conn
        except psycopg.OperationalError:
            conn.close()
            raise
        if conn.closed:
            return
        try:
            self._idle.put_nowait(conn)
        except queue.Full:
            conn.close()

    def frame(self, query: sql.Composable, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        """Run one query and return its rows; queries are aggregates, so results are small."""
        started = time.perf_counter()
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(query, params)
            columns = [column.name for column in cur.description or []]
            rows = cur.fetchall()
        log.debug("query returned %d rows in %.0f ms", len(rows), 1000 * (time.perf_counter() - started))
        return pd.DataFrame(rows, columns=columns)

    def copy_csv(self, query: sql.Composable, params: Mapping[str, Any] | None = None) -> bytes:
        """A query's rows as CSV with a header, streamed by PostgreSQL (for exports, not for rendering)."""
        statement = sql.SQL("copy ({}) to stdout with (format csv, header true)").format(query)
        out = bytearray()
        with self.connection() as conn:
            # COPY cannot take bind parameters: merge them client-side, still quoted by psycopg.
            bound = psycopg.ClientCursor(conn).mogrify(statement, params or {})
            with conn.cursor() as cur, cur.copy(bound) as copy:
                for chunk in copy:
                    out += chunk
        return bytes(out)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
