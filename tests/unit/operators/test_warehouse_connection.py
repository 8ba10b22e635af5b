"""The warehouse URL the operators build from the Airflow connection keeps socket hosts and TLS options."""

from __future__ import annotations

import json

import pytest

from smart_office.operators.extraction import warehouse_url_from_connection


@pytest.mark.parametrize(
    ("connection", "expected"),
    [
        (
            {
                "conn_type": "postgres",
                "host": "db.example.test",
                "port": 5432,
                "login": "loader",
                "password": "p@ss/word",
                "schema": "smart_office",
                "extra": {"sslmode": "require", "foo": "x"},
            },
            "postgresql://loader:p%40ss%2Fword@db.example.test:5432/smart_office?sslmode=require",
        ),
        (
            {"conn_type": "postgres", "host": "/tmp/pg-socket", "login": "postgres", "schema": "wh"},
            "postgresql://postgres@/wh?host=/tmp/pg-socket",
        ),
    ],
)
def test_url_from_connection(
    monkeypatch: pytest.MonkeyPatch, connection: dict[str, object], expected: str
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_TEST_WAREHOUSE", json.dumps(connection))
    assert warehouse_url_from_connection("test_warehouse") == expected


def test_missing_connection_is_none() -> None:
    assert warehouse_url_from_connection("no_such_connection_for_test") is None
