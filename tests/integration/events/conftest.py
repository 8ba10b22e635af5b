"""A small dbt-built warehouse for the posture-events tests, built once per session by the real models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from smart_office.events.rules import DEFAULT_RULES_FILE, load_rules
from smart_office.events.store import write_rules
from smart_office.warehouse.migrations import migrate
from tests.support.marts_data import MartsDataSpec, _land, dbt_build
from tests.support.warehouse import fresh_database, postgres_server_url, warehouse_url  # noqa: F401 - fixtures

SPEC = MartsDataSpec(tenants=6, history_days=20, runs=2)


@pytest.fixture(scope="session")
def events_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(url, dbt target path) of a warehouse of 6 generated customers, two runs, the default rules, built."""
    target = tmp_path_factory.mktemp("dbt-events") / "target"
    with fresh_database(request.getfixturevalue("postgres_server_url")) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
            write_rules(conn, load_rules(DEFAULT_RULES_FILE), loaded_at=datetime(2026, 11, 20, tzinfo=UTC))
        asyncio.run(_land(url, SPEC))
        dbt_build(url, target)
        yield url, target
