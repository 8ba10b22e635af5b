"""`smart-office bi-login`: a login for BI tools that really connects over TCP with its password, reads the
marts, cannot write, cannot read raw or ops — and whose password reaches neither a log nor the server.

The server is the demo's embedded PostgreSQL listening on 127.0.0.1 (SMART_OFFICE_DEMO_PORT), where TCP logins
need a password: the setup a Power BI or Superset user of the demo connects to.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from smart_office.warehouse.migrations import migrate
from smart_office_demo.embedded import start_embedded_postgres, stop_embedded_postgres

pytestmark = pytest.mark.integration

READER = "smart_office_bi_reader"
SMART_OFFICE = str(Path(sys.executable).parent / "smart-office")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Path]]:
    """(superuser socket URL of database smart_office, TCP port, data dir), with raw/ops migrated and a mart
    granted to the reader role as dbt grants it; every statement logged, to look for the password."""
    data_dir = tmp_path_factory.mktemp("bi-login") / "pg"
    port = _free_port()
    admin = start_embedded_postgres(data_dir, keep_running=True, listen_port=port)
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("create database smart_office")
            conn.execute("alter system set log_statement = 'all'")
            conn.execute("select pg_reload_conf()")
        url = admin.replace("/postgres?", "/smart_office?")
        with psycopg.connect(url, autocommit=True) as conn:
            migrate(conn)
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(READER)))
            conn.execute("create schema marts")
            conn.execute("create table marts.dim_customers as select 'contoso' as customer_name")
            # What dbt's grants config and grant_warehouse_access() give the reader role.
            conn.execute(sql.SQL("grant usage on schema marts to {}").format(sql.Identifier(READER)))
            conn.execute(sql.SQL("grant select on marts.dim_customers to {}").format(sql.Identifier(READER)))
            # The extraction's login, as docs/setup.md makes it: the loader and the reader.
            conn.execute("create role smart_office_loader nologin")
            conn.execute("create role airflow_login login")
            conn.execute(
                sql.SQL("grant smart_office_loader, {} to airflow_login").format(sql.Identifier(READER))
            )
        yield url, port, data_dir
    finally:
        stop_embedded_postgres(data_dir)


def bi_login(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_"))}
    env["SMART_OFFICE_WAREHOUSE_URL"] = url
    return subprocess.run(
        [SMART_OFFICE, "bi-login", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def tcp(port: int, user: str, password: str) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=port, dbname="smart_office", user=user, password=password, connect_timeout=5
    )


def test_a_bi_login_reads_the_marts_and_nothing_else(server: tuple[str, int, Path], tmp_path: Path) -> None:
    url, port, data_dir = server
    password_file = tmp_path / "analyst.password"
    created = bi_login(url, "create", "analyst", "--password-file", str(password_file))
    assert created.returncode == 0, created.stderr
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 24
    assert password not in created.stdout + created.stderr

    with tcp(port, "analyst", password) as conn:
        assert conn.execute("select customer_name from marts.dim_customers").fetchall() == [("contoso",)]
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("insert into marts.dim_customers values ('fabrikam')")
        conn.rollback()
        for table in ("raw.secure_scores", "ops.runs", "ops.tenant_runs"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.SQL("select * from {}").format(sql.SQL(table)))
            conn.rollback()
        # Not even a read-write transaction it opened itself may write.
        conn.execute("set transaction read write")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("insert into marts.dim_customers values ('fabrikam')")
        conn.rollback()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        tcp(port, "analyst", password + "x")
    # Over TCP even the superuser needs a password now: the socket stays the demo's only trusted door.
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(
            host="127.0.0.1", port=port, dbname="smart_office", user="postgres", connect_timeout=5
        )

    # The server logged every statement; what reached it was a SCRAM verifier, never the password.
    server_log = (data_dir / "log").read_text(errors="replace")
    assert "SCRAM-SHA-256$" in server_log
    assert password not in server_log


def test_printed_once_refused_twice_rotated_on_request_and_dropped(server: tuple[str, int, Path]) -> None:
    url, port, _ = server
    created = bi_login(url, "create", "superset")
    assert created.returncode == 0, created.stderr
    first = created.stdout.strip()  # stdout holds the password and nothing else
    tcp(port, "superset", first).close()
    assert first not in created.stderr

    again = bi_login(url, "create", "superset")
    assert again.returncode == 1
    assert "exists already" in again.stderr
    tcp(port, "superset", first).close()  # a refused create changes nothing

    rotated = bi_login(url, "create", "superset", "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    second = rotated.stdout.strip()
    assert second != first
    tcp(port, "superset", second).close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        tcp(port, "superset", first)

    dropped = bi_login(url, "drop", "superset")
    assert dropped.returncode == 0
    assert "dropped" in dropped.stderr
    with pytest.raises(psycopg.OperationalError):
        tcp(port, "superset", second)
    assert "does not exist" in bi_login(url, "drop", "superset").stderr


@pytest.mark.parametrize(
    "command",
    [
        ("create", "postgres", "--rotate"),
        ("drop", "postgres"),
        ("create", "airflow_login", "--rotate"),
        ("drop", "airflow_login"),
    ],
)
def test_roles_that_are_not_bi_logins_are_left_alone(
    server: tuple[str, int, Path], command: tuple[str, ...]
) -> None:
    url, _, _ = server
    result = bi_login(url, *command)
    assert result.returncode == 1
    assert "is not a BI login" in result.stderr
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from pg_roles where rolname = %s", (command[1],)).fetchone() == (
            1,
        )
