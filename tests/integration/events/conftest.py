"""A small dbt-built warehouse for the posture-events tests, built once per session by the real models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.marts_data import MartsDataSpec, warehouse_with_rules
from tests.support.warehouse import postgres_server_url, warehouse_url  # noqa: F401 - fixtures

SPEC = MartsDataSpec(tenants=6, history_days=20, runs=2)


@pytest.fixture(scope="session")
def events_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(url, dbt target path) of a warehouse of 6 generated customers, two runs, the default rules, built."""
    target = tmp_path_factory.mktemp("dbt-events") / "target"
    with warehouse_with_rules(request.getfixturevalue("postgres_server_url"), target, SPEC) as url:
        yield url, target
