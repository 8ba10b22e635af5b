"""Every libpq login method and the Entra ID token, through the one connection translator, against a PostgreSQL
the test started: psycopg (migrations, the token store), dbt (`dbt debug` with the profile the translator
gives it) and the dashboard's reader connection — and, when the login is wrong, one line that names the
setting and libpq's reason, at once.

The whole DAG per method: tests/deploy/test_dag_login_methods.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
import yaml

from smart_office.auth.stores import PostgresSecretStore
from smart_office.dashboard.connection import MartsSource, MartsUnavailableError, open_connection
from smart_office.dbt_runner import DBT_PROJECT_DIR, dbt_env
from smart_office.warehouse.connection import (
    WarehouseLoginError,
    WarehouseTarget,
    WarehouseUnreachableError,
    check_warehouse,
    connect,
    resolve_warehouse,
)
from smart_office.warehouse.dbt_login import dbt_login
from smart_office.warehouse.migrations import migrate
from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.login_methods import METHODS, READER_ROLE, LoginMatrix, login_matrix, with_endpoints
from tests.support.private_postgres import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def matrix(emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoginMatrix]:
    with login_matrix(tmp_path_factory.mktemp("logins"), emulator) as built:
        yield built


def _target(
    matrix: LoginMatrix, name: str, emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> WarehouseTarget:
    """The method's settings in this process's environment (libpq reads PGPASSFILE & co. from there)."""
    settings = with_endpoints(matrix.method(name), emulator, tmp_path)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return resolve_warehouse()


@pytest.mark.parametrize("name", METHODS)
def test_each_login_method_reaches_every_part_of_the_product(
    matrix: LoginMatrix, name: str, emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    method = matrix.method(name)
    target = _target(matrix, name, emulator, tmp_path, monkeypatch)
    assert target.auth == ("entra" if name == "entra" else "libpq")
    check_warehouse(target)

    # psycopg: the loader's and ops' connections, as this method's role.
    with connect(target, autocommit=True) as conn:
        role, database, ssl_used = conn.execute(
            "select current_user, current_database(), coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)"
        ).fetchone()
        assert (role, database) == (method.role, method.database)
        if name == "certificate":
            assert ssl_used is True  # (the Entra front ends TLS itself and reaches the server by its socket)
        migrate(conn)
    store = PostgresSecretStore(target, ["ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE="])
    store.put(
        "login-method-check",
        "fake-secret",
        issued_at=datetime(2026, 11, 2, tzinfo=UTC),
        expected_version=None,
    )
    assert store.get("login-method-check").value.reveal() == "fake-secret"

    # dbt logs in the same way, with nothing but what the translator hands it.
    login = dbt_login(target)
    port = matrix.front.port if name == "entra" and matrix.front else matrix.cluster.port
    assert (login.host, login.port, login.user, login.dbname) == (
        "127.0.0.1",
        port,
        method.role,
        method.database,
    )
    if name == "trust":
        assert login.password.reveal() == ""  # no password invented: the server asks for none
    if name == "entra":
        assert jwt_claims(login.password.reveal())["aud"] == "https://ossrdbms-aad.database.windows.net"
    if name == "certificate":
        assert {"PGSSLMODE", "PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"} <= set(login.libpq_env)
    env = dbt_env(target)
    for key in ("PGPASSFILE", "PGSERVICEFILE", "PGPASSWORD", "AZURE_CLIENT_SECRET"):
        env.pop(key, None)  # dbt needs none of them: the translator resolved the login
    debug = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "debug", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env, cwd=DBT_PROJECT_DIR, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert debug.returncode == 0, debug.stdout[-3000:]
    assert "Connection test: [OK connection ok]" in debug.stdout

    # The dashboard: the same login, switched to the reader role, read-only.
    with open_connection(MartsSource(target, READER_ROLE)) as conn:
        assert conn.execute("select current_user, current_setting('transaction_read_only')").fetchone() == (
            READER_ROLE,
            "on",
        )


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        (
            "password_url",
            {"url": lambda url: url.replace("fake-url-pw-1", "fake-wrong-pw")},
            'password authentication failed for user "smart_url"',
        ),
        ("pgpass", {"env": {"PGPASSFILE": "/nonexistent/pgpass"}}, "no password supplied"),
        (
            "pgpassword",
            {"env": {"PGPASSWORD": "fake-wrong-pw"}},
            'password authentication failed for user "smart_env"',
        ),
        (
            "service",
            {"url": lambda url: url.replace("smart_office", "no_such_service")},
            'definition of service "no_such_service" not found',
        ),
        (
            "certificate",
            {"url": lambda url: url.split("&sslcert=")[0]},
            "connection requires a valid client certificate",
        ),
        ("certificate", {"other_ca": True}, "certificate verify failed"),
        (
            "trust",
            {"url": lambda url: url.replace("/trust_db", "/password_url_db")},
            "pg_hba.conf rejects connection",
        ),
    ],
)
def test_a_wrong_login_fails_at_once_with_one_line_naming_the_setting(
    matrix: LoginMatrix,
    name: str,
    change: dict,
    reason: str,
    emulator: EmulatorHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    method = matrix.method(name)
    settings = with_endpoints(method, emulator, tmp_path)
    if "url" in change:
        settings["SMART_OFFICE_WAREHOUSE_URL"] = change["url"](settings["SMART_OFFICE_WAREHOUSE_URL"])
    if change.get("other_ca"):
        stranger = tmp_path / "another-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(stranger))
        url = settings["SMART_OFFICE_WAREHOUSE_URL"]
        settings["SMART_OFFICE_WAREHOUSE_URL"] = url.replace(str(matrix.ca_file), str(stranger))
    settings.update(change.get("env", {}))
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    started = time.monotonic()
    with pytest.raises(WarehouseLoginError) as caught:
        check_warehouse(resolve_warehouse())
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith("SMART_OFFICE_WAREHOUSE_URL: cannot log in to postgresql://")
    assert reason in message
    assert "\n" not in message
    assert "fake-" not in message.replace("fake-wrong", "")  # no password, right or wrong
    assert caught.value.__cause__ is None


def test_an_unreachable_warehouse_is_transient_and_fails_within_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "SMART_OFFICE_WAREHOUSE_URL", f"postgresql://smart_trust@127.0.0.1:{free_port()}/trust_db"
    )
    started = time.monotonic()
    with pytest.raises(WarehouseUnreachableError) as caught:
        check_warehouse(resolve_warehouse())
    assert time.monotonic() - started < 5
    assert "Connection refused" in str(caught.value)
    assert str(caught.value).startswith(
        "SMART_OFFICE_WAREHOUSE_URL: cannot reach postgresql://smart_trust@127.0.0.1:"
    )


def test_the_dashboard_says_what_is_wrong_in_one_line(
    matrix: LoginMatrix, emulator: EmulatorHandle, tmp_path: Path
) -> None:
    url = matrix.method("password_url").url.replace("fake-url-pw-1", "fake-wrong-pw")
    with pytest.raises(MartsUnavailableError) as caught:
        open_connection(MartsSource(url, READER_ROLE))
    assert 'password authentication failed for user "smart_url"' in str(caught.value)
    assert "fake-wrong-pw" not in str(caught.value)


def _context() -> dict:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    return {
        "dag": SimpleNamespace(dag_id="smart_office_security_posture"),
        "run_id": "manual__login_check",
        "data_interval_end": datetime(2026, 11, 2, 9, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    "task", ["MigrateWarehouseOperator", "PartnerTokenCheckOperator", "DiscoverCustomersOperator"]
)
def test_a_refused_login_fails_the_task_for_good_and_an_unreachable_one_for_a_retry(
    matrix: LoginMatrix, task: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    import smart_office.operators as operators

    operator = getattr(operators, task)(task_id="check", retries=2)
    monkeypatch.setenv("SMART_OFFICE_PARTNER_TENANT_ID", "00000000-0000-4000-8000-000000000001")
    monkeypatch.setenv("SMART_OFFICE_CLIENT_ID", "00000000-0000-4000-8000-000000000002")
    monkeypatch.setenv("SMART_OFFICE_TOKEN_STORE_KEY", "ZmFrZS1rZXktZm9yLXRlc3RzLW9ubHktMzJieXRlcyE=")
    wrong = matrix.method("password_url").url.replace("fake-url-pw-1", "fake-wrong-pw")
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", wrong)
    # Airflow does not retry AirflowFailException: a wrong password stays wrong.
    with pytest.raises(AirflowFailException) as refused:
        operator.execute(_context())
    assert 'password authentication failed for user "smart_url"' in str(refused.value)
    assert refused.value.__cause__ is None
    assert refused.value.__suppress_context__
    monkeypatch.setenv(
        "SMART_OFFICE_WAREHOUSE_URL", f"postgresql://smart_trust@127.0.0.1:{free_port()}/trust_db"
    )
    with pytest.raises(AirflowException) as unreachable:
        operator.execute(_context())
    assert not isinstance(unreachable.value, AirflowFailException)  # retried: the server may be restarting
    assert "Connection refused" in str(unreachable.value)


def test_the_dbt_tasks_refuse_a_wrong_login_before_dbt_starts(
    matrix: LoginMatrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.sdk.exceptions import AirflowFailException

    from smart_office.operators.dbt_profile import WarehouseProfileMapping

    monkeypatch.delenv("SMART_OFFICE_WAREHOUSE_URL", raising=False)
    wrong = matrix.method("password_url").url.replace("fake-url-pw-1", "fake-wrong-pw")
    monkeypatch.setenv("AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE", wrong)
    mapping = WarehouseProfileMapping("smart_office_warehouse", {"schema": "dbt"})
    with pytest.raises(
        AirflowFailException, match=r"^AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE: cannot log in to "
    ):
        _ = mapping.profile
    assert "fake-wrong-pw" not in str(mapping.mock_profile)


def test_the_dbt_profile_needs_no_password_and_writes_none(
    matrix: LoginMatrix, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smart_office.operators.dbt_profile import WarehouseProfileMapping

    monkeypatch.delenv("SMART_OFFICE_WAREHOUSE_URL", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE", matrix.method("password_url").url)
    mapping = WarehouseProfileMapping("smart_office_warehouse", {"schema": "dbt"})
    contents = mapping.get_profile_file_contents("smart_office", "airflow")
    assert "fake-url-pw-1" not in contents
    written = yaml.safe_load(contents)["smart_office"]["outputs"]["airflow"]
    assert written["password"] == "{{ env_var('COSMOS_CONN_POSTGRES_PASSWORD') }}"
    assert (written["user"], written["dbname"], written["schema"]) == ("smart_url", "password_url_db", "dbt")
    assert mapping.env_vars["COSMOS_CONN_POSTGRES_PASSWORD"] == "fake-url-pw-1"
    trust = WarehouseProfileMapping("smart_office_warehouse", {"schema": "dbt"})
    monkeypatch.setenv("AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE", matrix.method("trust").url)
    assert trust.env_vars["COSMOS_CONN_POSTGRES_PASSWORD"] == ""  # trust: nothing to send, nothing invented
    assert trust.profile["user"] == "smart_trust"


def test_make_demo_stops_at_once_with_one_line_on_a_refused_login(
    matrix: LoginMatrix, tmp_path: Path
) -> None:
    wrong = matrix.method("password_url").url.replace("fake-url-pw-1", "fake-wrong-pw")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_"))}
    env.update(
        {
            "SMART_OFFICE_WAREHOUSE_URL": wrong,
            "SMART_OFFICE_STATE_DIR": str(tmp_path / "state"),
            "COLUMNS": "300",
        }
    )
    started = time.monotonic()
    result = subprocess.run(
        [str(Path(sys.executable).parent / "smart-office-demo")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert time.monotonic() - started < 30  # (the emulator and Airflow never start)
    assert result.returncode == 2
    output = (result.stdout + result.stderr).strip().splitlines()
    assert len(output) == 1, output
    assert output[0].startswith(
        "warehouse: SMART_OFFICE_WAREHOUSE_URL: cannot log in to postgresql://smart_url:***@127.0.0.1:"
    )
    assert 'password authentication failed for user "smart_url"' in output[0]
    assert "fake-wrong-pw" not in output[0]
