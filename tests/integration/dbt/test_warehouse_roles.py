"""The BI reader role can read the marts and nothing else; it cannot write anywhere."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.migrations import migrate
from tests.support.warehouse import fresh_database


@pytest.fixture(scope="module")
def built_warehouse(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty warehouse with every model built once for the module (dbt build takes seconds)."""
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        result = run_dbt(["build"], url, capture=True, target_path=tmp_path_factory.mktemp("dbt") / "target")
        assert result.returncode == 0, result.stdout[-4000:]
        yield url


def _as_role(conn: psycopg.Connection, role: str, statement: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("set local role {}").format(sql.Identifier(role)))
        conn.execute(statement)


def _as_reader(conn: psycopg.Connection, statement: str) -> None:
    _as_role(conn, "smart_office_bi_reader", statement)


def test_reader_reads_marts(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse, autocommit=True) as conn:
        _as_reader(conn, "select count(*) from marts.rpt_customer_posture")
        _as_reader(conn, "select count(*) from marts.fct_alerts")


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from raw.alerts_v2",
        "select count(*) from ops.token_store",
        "select count(*) from staging.stg_graph__alerts",
        "insert into marts.dim_controls (control_id) values ('x')",
        "delete from marts.fct_alerts",
        "create table marts.sneaky (x int)",
    ],
)
def test_reader_cannot_read_raw_or_write(built_warehouse: str, statement: str) -> None:
    with (
        psycopg.connect(built_warehouse, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        _as_reader(conn, statement)


def test_loader_writes_raw_but_cannot_read_marts(built_warehouse: str) -> None:
    with psycopg.connect(built_warehouse, autocommit=True) as conn:
        with conn.transaction():
            conn.execute("set local role smart_office_loader")
            conn.execute("select count(*) from raw.alerts_v2")
            conn.execute("select count(*) from ops.runs")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as_role(conn, "smart_office_loader", "select count(*) from marts.fct_alerts")
