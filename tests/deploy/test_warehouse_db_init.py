"""deploy/compose/warehouse-db-init.sh against the local PostgreSQL: the dashboard's login is created,
belongs to the marts reader role, cannot write, and odd passwords survive the trip."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from tests.deploy.cluster import scratch_database
from tests.deploy.compose import REPO
from tests.support.services import missing_services

SCRIPT = REPO / "deploy" / "compose" / "warehouse-db-init.sh"

_SERVICES_MISSING = missing_services(postgres=True, redis=False)
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(_SERVICES_MISSING is not None, reason=str(_SERVICES_MISSING)),
]

PG_URL = os.environ.get("SMART_OFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def roles() -> Iterator[tuple[str, str]]:
    """Role names of this test alone (roles are cluster-wide and other tests share the server)."""
    suffix = uuid.uuid4().hex[:8]
    reader, login = f"so_test_reader_{suffix}", f"so_test_dashboard_{suffix}"
    yield reader, login
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        for role in (login, reader):
            admin.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def run_script(database_url: str, reader: str, login: str, password: str) -> subprocess.CompletedProcess[str]:
    parts = urlsplit(database_url)
    env = {
        **os.environ,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_DB": parts.path.lstrip("/"),
        "DASHBOARD_DB_USER": login,
        "DASHBOARD_DB_PASSWORD": password,
        "SMART_OFFICE_BI_READER_ROLE": reader,
    }
    return subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, check=False)


def test_the_dashboard_login_reads_through_the_reader_role_and_cannot_write(roles: tuple[str, str]) -> None:
    reader, login = roles
    password = 'it\'s a "quoted" :password; drop role x'
    with scratch_database(PG_URL, "so_init") as database:
        first = run_script(database, reader, login, password)
        assert first.returncode == 0, first.stderr
        again = run_script(database, reader, login, password)  # a restarted container must not fail
        assert again.returncode == 0, again.stderr
        with psycopg.connect(PG_URL) as admin:
            (can_login_reader,) = admin.execute(
                "select rolcanlogin from pg_roles where rolname = %s", (reader,)
            ).fetchone()
            can_login, config, secret = admin.execute(
                "select r.rolcanlogin, r.rolconfig, a.rolpassword from pg_roles r join pg_authid a using (oid) "
                "where r.rolname = %s",
                (login,),
            ).fetchone()
            (is_member,) = admin.execute("select pg_has_role(%s, %s, 'member')", (login, reader)).fetchone()
        assert can_login_reader is False
        assert can_login is True
        assert is_member is True
        assert "default_transaction_read_only=on" in config
        assert secret.startswith("SCRAM-SHA-256$")
        as_dashboard = urlsplit(database)._replace(
            netloc=f"{login}@{urlsplit(database).netloc.split('@')[-1]}"
        )
        with (
            psycopg.connect(as_dashboard.geturl()) as conn,
            pytest.raises(psycopg.errors.ReadOnlySqlTransaction),
        ):
            conn.execute("create table marts_copy (id int)")
    assert (
        first.stdout.strip().splitlines()[-1]
        == f"warehouse roles: {reader} (marts reader), {login} (dashboard login)"
    )


def test_a_missing_password_stops_the_script(roles: tuple[str, str]) -> None:
    reader, login = roles
    with scratch_database(PG_URL, "so_init") as database:
        result = run_script(database, reader, login, "")
    assert result.returncode != 0
    assert "DASHBOARD_DB_PASSWORD is not set" in result.stderr
