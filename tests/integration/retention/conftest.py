"""Warehouses for the retention and purge tests: generated customers landed as daily runs, marts built by dbt."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from tests.support.warehouse import postgres_server_url, warehouse_url  # noqa: F401 - fixtures

PURGE_KEY = "test-purge-key-not-a-secret"


def table_rows(conn: psycopg.Connection, schema: str, table: str) -> list[str]:
    """Every row of a table as text, sorted: two tables are equal row for row when these lists are."""
    rows = conn.execute(
        sql.SQL("select t::text from {} as t").format(sql.Identifier(schema, table))
    ).fetchall()
    return sorted(row[0] for row in rows)


def base_tables(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'"
        " order by table_name",
        (schema,),
    ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def purge_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("SMART_OFFICE_PURGE_KEY", PURGE_KEY)
    return PURGE_KEY
