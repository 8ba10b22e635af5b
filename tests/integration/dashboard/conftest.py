"""Warehouses for the dashboard tests, each built once per session by the real dbt models."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from smart_office.warehouse.migrations import migrate
from tests.support.marts_data import LandedPortfolio, MartsDataSpec, build_empty_marts, build_marts
from tests.support.warehouse import fresh_database, postgres_server_url, warehouse_url  # noqa: F401 - fixtures


@pytest.fixture(scope="session")
def marts_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, LandedPortfolio]]:
    """A dbt-built warehouse of 12 generated customers, 100 days, three runs (two failures in the last)."""
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        landed = build_marts(url, tmp_path_factory.mktemp("dbt-data") / "target")
        yield url, landed


@pytest.fixture(scope="session")
def odd_records_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, LandedPortfolio]]:
    """A small dbt-built warehouse in which one customer's alerts are odd (marts_data.ODD_ALERTS)."""
    spec = MartsDataSpec(tenants=4, history_days=10, runs=1, last_run_failures=(), odd_records=True)
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        landed = build_marts(url, tmp_path_factory.mktemp("dbt-odd") / "target", spec)
        yield url, landed


@pytest.fixture(scope="session")
def empty_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Marts built, but no run has recorded anything yet."""
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        build_empty_marts(url, tmp_path_factory.mktemp("dbt-empty") / "target")
        yield url


@pytest.fixture(scope="session")
def unbuilt_warehouse(request: pytest.FixtureRequest, empty_warehouse: str) -> Iterator[str]:
    """Migrated, but dbt never ran (the reader role exists: roles are server-wide, built by `empty_warehouse`)."""
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url


@pytest.fixture
def superuser(marts_warehouse: tuple[str, LandedPortfolio]) -> Iterator[psycopg.Connection]:
    """A connection that can read everything, to compute the expected numbers independently."""
    with psycopg.connect(marts_warehouse[0], autocommit=True) as conn:
        yield conn
