"""The one connection translator: every way of naming the warehouse gives the same libpq parameters, secrets never
show, and connection failures are sorted into "fix the configuration" and "try again"."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from airflow.sdk import Connection

from smart_office.warehouse.connection import (
    WarehouseConfigError,
    WarehouseLoginError,
    WarehouseTarget,
    WarehouseUnreachableError,
    connect_error,
    is_configuration_error,
    params_to_url,
    resolve_warehouse,
    target_from_airflow_connection,
    target_from_url,
)

FAKE_PASSWORD = "fake-p@ss/w:rd%42"


@pytest.mark.parametrize(
    ("value", "params"),
    [
        (
            "postgresql://postgres@127.0.0.1:5433/db",
            {"user": "postgres", "host": "127.0.0.1", "port": "5433", "dbname": "db"},
        ),
        (
            "postgresql://loader:fake-p%40ss%2Fw%3Ard%2542@db.example.test/smart_office",
            {
                "user": "loader",
                "password": FAKE_PASSWORD,
                "host": "db.example.test",
                "dbname": "smart_office",
            },
        ),
        (
            "postgresql:///wh?host=/run/postgresql&user=etl",
            {"host": "/run/postgresql", "user": "etl", "dbname": "wh"},
        ),
        ("postgresql://?service=smart_office", {"service": "smart_office"}),
        ("service=smart_office dbname=other", {"service": "smart_office", "dbname": "other"}),
        (
            "postgres://etl@db.example.test/wh?sslmode=verify-full&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem",
            {
                "user": "etl",
                "host": "db.example.test",
                "dbname": "wh",
                "sslmode": "verify-full",
                "sslrootcert": "/ca.pem",
                "sslcert": "/c.pem",
                "sslkey": "/k.pem",
            },
        ),
        (
            "postgresql://h1:5432,h2:5433/wh?target_session_attrs=read-write",
            {"host": "h1,h2", "port": "5432,5433", "dbname": "wh", "target_session_attrs": "read-write"},
        ),
        (
            "host=/tmp/pg port=5433 user=postgres passfile=/secrets/pgpass",
            {"host": "/tmp/pg", "port": "5433", "user": "postgres", "passfile": "/secrets/pgpass"},
        ),
    ],
)
def test_urls_and_connection_strings_are_parsed_by_libpq(value: str, params: dict[str, str]) -> None:
    target = target_from_url(value)
    assert dict(target.params) == params
    assert target.auth == "libpq"
    assert target.origin == "SMART_OFFICE_WAREHOUSE_URL"


@pytest.mark.parametrize(
    "params",
    [
        {
            "user": "lo ader",
            "password": FAKE_PASSWORD,
            "host": "db.example.test",
            "port": "5432",
            "dbname": "smart office",
        },
        {"host": "/tmp/socket dir", "user": "postgres", "dbname": "wh"},
        {"host": "h1,h2", "port": "5432,5433", "dbname": "d"},
        {"service": "smart_office"},
        {"host": "::1", "port": "5432", "options": "-c search_path=a,b"},
        {"host": "db", "sslmode": "verify-full", "sslrootcert": "/etc/ssl/ca one.pem"},
    ],
)
def test_url_form_round_trips_through_libpq(params: dict[str, str]) -> None:
    assert dict(target_from_url(params_to_url(params)).params) == params


def test_secrets_never_show() -> None:
    target = target_from_url(
        params_to_url({"user": "loader", "password": FAKE_PASSWORD, "host": "db", "dbname": "wh"})
    )
    assert target.password == FAKE_PASSWORD
    for shown in (target.display, repr(target), str(target)):
        assert FAKE_PASSWORD not in shown
        assert "***" in shown
    also = target_from_url("host=db password=fake-pw-in-kv sslpassword=fake-key-pass")
    assert "fake-pw-in-kv" not in also.display
    assert "fake-key-pass" not in also.display
    # The URL handed to child processes keeps the password, exactly.
    assert target_from_url(target.url()).password == FAKE_PASSWORD


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("mysql://u:fake-pw-123@h/d", "must be a postgresql:// URL"),
        ("postgresql://h/d?sslmod=require", 'invalid URI query parameter: "sslmod"'),
        ("host=h sslmod=require", 'invalid connection option "sslmod"'),
        ("host='unterminated", "unterminated quoted string"),
    ],
)
def test_bad_urls_name_the_setting_not_the_password(value: str, fragment: str) -> None:
    with pytest.raises(WarehouseConfigError) as caught:
        target_from_url(value)
    assert caught.value.setting == "SMART_OFFICE_WAREHOUSE_URL"
    assert fragment in str(caught.value)
    assert str(caught.value).startswith("SMART_OFFICE_WAREHOUSE_URL: ")
    assert "fake-pw-123" not in str(caught.value)


def _connection(**fields: Any) -> Connection:
    return Connection.from_json(
        json.dumps({"conn_type": "postgres", **fields}), conn_id="smart_office_warehouse"
    )


@pytest.mark.parametrize(
    ("fields", "params"),
    [
        (
            {
                "host": "db.example.test",
                "port": 5432,
                "login": "loader",
                "password": FAKE_PASSWORD,
                "schema": "wh",
                "extra": {
                    "sslmode": "require",
                    "cursor": "dictcursor",
                    "sqlalchemy_scheme": "postgresql+psycopg",
                },
            },
            {
                "host": "db.example.test",
                "port": "5432",
                "user": "loader",
                "password": FAKE_PASSWORD,
                "dbname": "wh",
                "sslmode": "require",
            },
        ),
        (
            {"host": "/tmp/pg-socket", "login": "postgres", "schema": "wh"},
            {"host": "/tmp/pg-socket", "user": "postgres", "dbname": "wh"},
        ),
        # No schema: libpq's default (the user name), or the service file's dbname — never an invented one.
        ({"extra": {"service": "smart_office"}}, {"service": "smart_office"}),
        (
            {
                "host": "db",
                "login": "etl",
                "extra": {
                    "sslmode": "verify-full",
                    "sslrootcert": "/ca.pem",
                    "sslcert": "/c.pem",
                    "sslkey": "/k.pem",
                    "keepalives": True,
                },
            },
            {
                "host": "db",
                "user": "etl",
                "sslmode": "verify-full",
                "sslrootcert": "/ca.pem",
                "sslcert": "/c.pem",
                "sslkey": "/k.pem",
                "keepalives": "1",
            },
        ),
        # The connection's own fields win over extras of the same name (as in the Postgres provider).
        (
            {"host": "db", "extra": {"host": "other", "passfile": "/run/secrets/pgpass"}},
            {"host": "db", "passfile": "/run/secrets/pgpass"},
        ),
    ],
)
def test_airflow_connections_become_libpq_parameters(fields: dict[str, Any], params: dict[str, str]) -> None:
    target = target_from_airflow_connection(
        _connection(**fields), origin="AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    )
    assert dict(target.params) == params


def test_airflow_uri_form_carries_extras_as_libpq_parameters() -> None:
    conn = Connection.from_uri(
        "postgresql://loader:fake-pw%2F1@db.example.test:6432/wh?sslmode=verify-full&sslrootcert=%2Fca.pem",
        conn_id="smart_office_warehouse",
    )
    target = target_from_airflow_connection(conn, origin="AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE")
    assert dict(target.params) == {
        "host": "db.example.test",
        "port": "6432",
        "user": "loader",
        "password": "fake-pw/1",
        "dbname": "wh",
        "sslmode": "verify-full",
        "sslrootcert": "/ca.pem",
    }


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"conn_type": "mysql", "host": "h"}, "conn_type must be postgres, not 'mysql'"),
        ({"host": "h", "extra": {"ssl_mode": "require"}}, "ssl_mode: not a libpq connection parameter"),
        (
            {"host": "h", "extra": {"iam": True, "azure_conn_id": "azure_default"}},
            "SMART_OFFICE_WAREHOUSE_AUTH=entra",
        ),
    ],
)
def test_bad_connections_are_named(fields: dict[str, Any], fragment: str) -> None:
    conn = Connection.from_json(json.dumps({"conn_type": "postgres", **fields}), conn_id="x")
    with pytest.raises(WarehouseConfigError) as caught:
        target_from_airflow_connection(conn, origin="AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE")
    assert caught.value.setting == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    "url",
    [
        params_to_url(
            {
                "user": "loader",
                "password": FAKE_PASSWORD,
                "host": "db",
                "port": "5432",
                "dbname": "wh",
                "sslmode": "verify-full",
                "sslrootcert": "/ca.pem",
            }
        ),
        "postgresql://postgres@/smart_office?host=/tmp/pg",
        "postgresql://?service=smart_office",
        "postgresql:///wh?host=h1,h2&port=5432,5433",
    ],
)
def test_the_demo_hands_the_dag_the_same_target_as_an_airflow_connection(url: str) -> None:
    target = target_from_url(url)
    value = target.airflow_connection()
    again = resolve_warehouse({"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": value})
    assert again.params == target.params
    assert again.origin == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"


def test_resolution_order_url_then_connection_then_secrets_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    conn_json = json.dumps({"conn_type": "postgres", "host": "from-connection", "login": "etl"})
    both = {
        "SMART_OFFICE_WAREHOUSE_URL": "postgresql://etl@from-url/wh",
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": conn_json,
    }
    assert resolve_warehouse(both).params["host"] == "from-url"
    assert (
        resolve_warehouse({"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": conn_json}).params["host"]
        == "from-connection"
    )
    assert (
        resolve_warehouse({"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE": "postgres://etl@uri-host/wh"}).params[
            "host"
        ]
        == "uri-host"
    )

    asked: list[str] = []

    def backend(conn_id: str) -> Connection:
        asked.append(conn_id)
        return _connection(host="from-key-vault", login="etl")

    # An explicit environment is all there is; the process environment also reaches Airflow's backends.
    with pytest.raises(WarehouseConfigError) as caught:
        resolve_warehouse({}, lookup=backend)
    assert caught.value.setting == "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"
    assert "no warehouse configured" in caught.value.message
    for name in (
        "SMART_OFFICE_WAREHOUSE_URL",
        "AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE",
        "SMART_OFFICE_WAREHOUSE_AUTH",
    ):
        monkeypatch.delenv(name, raising=False)
    found = resolve_warehouse(lookup=backend)
    assert (found.params["host"], found.origin, asked) == (
        "from-key-vault",
        "Airflow connection 'smart_office_warehouse'",
        ["smart_office_warehouse"],
    )


def test_entra_login_needs_a_user_and_no_password() -> None:
    entra = {"SMART_OFFICE_WAREHOUSE_AUTH": "entra"}
    target = resolve_warehouse(
        {
            **entra,
            "SMART_OFFICE_WAREHOUSE_URL": "postgresql://smart-office-mi@srv.postgres.database.azure.com/wh?sslmode=require",
        }
    )
    assert target.auth == "entra"
    assert target.token_provider is not None
    assert target.token_provider.scope == "https://ossrdbms-aad.database.windows.net/.default"
    assert target.env() == {
        "SMART_OFFICE_WAREHOUSE_URL": "postgresql://smart-office-mi@srv.postgres.database.azure.com/wh?sslmode=require",
        "SMART_OFFICE_WAREHOUSE_AUTH": "entra",
    }
    usgov = resolve_warehouse(
        {**entra, "SMART_OFFICE_CLOUD": "usgov", "SMART_OFFICE_WAREHOUSE_URL": "postgresql://mi@srv/wh"}
    )
    assert usgov.token_provider is not None
    assert usgov.token_provider.scope == "https://ossrdbms-aad.database.usgovcloudapi.net/.default"
    with pytest.raises(WarehouseConfigError, match="needs the user"):
        resolve_warehouse({**entra, "SMART_OFFICE_WAREHOUSE_URL": "postgresql://srv/wh"})
    with pytest.raises(WarehouseConfigError, match="carries a password") as caught:
        resolve_warehouse({**entra, "SMART_OFFICE_WAREHOUSE_URL": "postgresql://mi:fake-pw-9@srv/wh"})
    assert "fake-pw-9" not in str(caught.value)
    with pytest.raises(WarehouseConfigError) as bad:
        resolve_warehouse(
            {"SMART_OFFICE_WAREHOUSE_AUTH": "kerberos", "SMART_OFFICE_WAREHOUSE_URL": "postgresql://h/d"}
        )
    assert bad.value.setting == "SMART_OFFICE_WAREHOUSE_AUTH"


def _error(sqlstate: str | None, message: str) -> psycopg.Error:
    cls = psycopg.errors.lookup(sqlstate) if sqlstate else psycopg.OperationalError
    return cls(message)


@pytest.mark.parametrize(
    ("sqlstate", "message", "kind"),
    [
        ("28P01", 'FATAL:  password authentication failed for user "loader"', WarehouseLoginError),
        ("28000", 'FATAL:  no pg_hba.conf entry for host "10.0.0.5", user "loader"', WarehouseLoginError),
        ("3D000", 'FATAL:  database "wh" does not exist', WarehouseLoginError),
        ("57P03", "FATAL:  the database system is starting up", WarehouseUnreachableError),
        ("53300", "FATAL:  sorry, too many clients already", WarehouseUnreachableError),
        # What libpq really reports for a failed attempt: the server's message without its SQLSTATE.
        (None, 'FATAL:  password authentication failed for user "loader"', WarehouseLoginError),
        (None, "FATAL:  sorry, too many clients already", WarehouseUnreachableError),
        (None, "FATAL:  the database system is starting up", WarehouseUnreachableError),
        (None, "fe_sendauth: no password supplied", WarehouseLoginError),
        (None, 'root certificate file "/missing.pem" does not exist', WarehouseLoginError),
        (None, "SSL error: certificate verify failed", WarehouseLoginError),
        (None, 'server certificate for "db" does not match host name "127.0.0.1"', WarehouseLoginError),
        (None, 'definition of service "smart_office" not found', WarehouseLoginError),
        (
            None,
            'connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?',
            WarehouseUnreachableError,
        ),
        (None, "connection timeout expired", WarehouseUnreachableError),
        (
            None,
            'could not translate host name "db" to address: Temporary failure in name resolution',
            WarehouseUnreachableError,
        ),
    ],
)
def test_failures_are_sorted_into_configuration_and_transient(
    sqlstate: str | None, message: str, kind: type
) -> None:
    target = target_from_url(f"postgresql://loader:{'fake-pw-77'}@db:5432/wh")
    error = connect_error(target, _error(sqlstate, message + " fake-pw-77"), password="fake-pw-77")
    assert type(error) is kind
    assert is_configuration_error(error) is (kind is WarehouseLoginError)
    text = str(error)
    assert "\n" not in text
    assert text.startswith("SMART_OFFICE_WAREHOUSE_URL: cannot ")
    assert "postgresql://loader:***@db:5432/wh" in text
    assert "fake-pw-77" not in text


def test_connect_parameters_bound_the_wait_and_keep_the_configured_login() -> None:
    target = target_from_url("postgresql://etl@db/wh?connect_timeout=3")
    assert target.connect_params(application_name="x") == {
        "user": "etl",
        "host": "db",
        "dbname": "wh",
        "connect_timeout": "3",
        "application_name": "x",
    }
    assert target_from_url("postgresql://etl@db/wh").connect_params()["connect_timeout"] == "10"
    assert WarehouseTarget({"host": "db"}, "x").with_database("other").params == {
        "host": "db",
        "dbname": "other",
    }
