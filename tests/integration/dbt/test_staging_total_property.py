"""Property: whatever Graph sends — payloads drawn from its CSDL, then broken anywhere — lands without loss and
reads through every staging model without an error; a large broken batch builds every mart.

Each example lands through `RawLoader` into a warehouse whose staging views dbt created once, then reads the
views in full: every item is in raw or in raw.quarantine, every raw row is a staging row (every controlScores
element a control row), and no view raises. `dbt build` per example would take minutes; the last test runs it
once over a large batch instead.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.loader import RawLoader, usable_id
from smart_office.warehouse.migrations import migrate
from tests.support.graph_strategies import broken_entities, entity
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

TENANT = "11111111-0000-4000-8000-000000000001"
ENTITIES = ("alerts_v2", "incidents", "secure_scores")
STAGING = {
    "alerts_v2": ("stg_graph__alerts", "alert_id"),
    "incidents": ("stg_graph__incidents", "incident_id"),
    "secure_scores": ("stg_graph__secure_scores", "secure_score_id"),
}
_IDS = st.one_of(st.sampled_from(["a", "b", "c"]), st.uuids().map(str))


def _score_ids(tenant: str) -> st.SearchStrategy[Any]:
    """Graph's `{tenantId}_{yyyy-MM-dd}`, and now and then another id."""
    days = st.dates(
        min_value=datetime(2026, 10, 1, tzinfo=UTC).date(),
        max_value=datetime(2026, 11, 20, tzinfo=UTC).date(),
    )
    return st.one_of(days.map(lambda day: f"{tenant}_{day.isoformat()}"), _IDS)


def payloads(tenant: str, size: int, min_size: int = 0) -> st.SearchStrategy[dict[str, list[Any]]]:
    return st.fixed_dictionaries(
        {
            "alerts_v2": st.lists(
                broken_entities(entity("securityAlertV2", "microsoft.graph.security.alert"), _IDS),
                min_size=min_size,
                max_size=size,
            ),
            "incidents": st.lists(
                broken_entities(entity("securityIncident", "microsoft.graph.security.incident"), _IDS),
                min_size=min_size,
                max_size=size,
            ),
            "secure_scores": st.lists(
                broken_entities(entity("secureScore", "microsoft.graph.secureScore"), _score_ids(tenant)),
                min_size=min_size,
                max_size=size,
            ),
        }
    )


async def _land(url: str, batches: dict[str, dict[str, list[Any]]]) -> None:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        loader = RawLoader(conn, "property")
        for tenant, batch in batches.items():
            for entity_name, items in batch.items():
                result = await loader.land(entity_name, tenant, items)
                assert result.received == len(items)
    finally:
        await conn.close()


def _truncate(conn: psycopg.Connection) -> None:
    conn.execute("truncate raw.alerts_v2, raw.incidents, raw.secure_scores, raw.quarantine")


def _assert_nothing_lost(conn: psycopg.Connection, tenant: str, batch: dict[str, list[Any]]) -> None:
    """Every item is in raw (under its id) or in raw.quarantine."""
    for entity_name, items in batch.items():
        landed = {
            row[0]
            for row in conn.execute(
                f"select entity_id from raw.{entity_name} where tenant_id = %s",  # noqa: S608 - a fixed table name
                (tenant,),
            )
        }
        quarantined = [
            row[0]
            for row in conn.execute(
                "select entity_id from raw.quarantine where tenant_id = %s and endpoint = %s",
                (tenant, entity_name),
            )
        ]
        # Quarantine keeps one row per distinct item, so identical id-less items count once.
        without_id = set()
        for item in items:
            item_id = item.get("id") if isinstance(item, dict) else None
            if usable_id(item_id):
                assert item_id in landed or item_id in quarantined, (entity_name, item_id)
            else:
                without_id.add(json.dumps(item, sort_keys=True, default=str))
        assert quarantined.count(None) >= len(without_id), entity_name


def _assert_staging_reads_every_row(conn: psycopg.Connection) -> None:
    """Each raw row is one staging row, every column computed (the whole row is read), nothing raises."""
    for entity_name, (view, id_column) in STAGING.items():
        raw = conn.execute(
            f"select tenant_id, entity_id, encode(payload_hash, 'hex') from raw.{entity_name} order by 1, 2, 3"  # noqa: S608
        ).fetchall()
        staged = conn.execute(
            f"select tenant_id, {id_column}, version_id, length(s::text) > 0, data_issues is not null"  # noqa: S608
            f" from staging.{view} as s order by 1, 2, 3"
        ).fetchall()
        assert [row[:3] for row in staged] == raw, view
        assert all(row[3] and row[4] for row in staged), view
    elements = conn.execute(
        "select coalesce(sum(jsonb_array_length(payload -> 'controlScores')), 0) from raw.secure_scores"
        " where jsonb_typeof(payload -> 'controlScores') = 'array'"
    ).fetchone()[0]
    controls = conn.execute(
        "select count(*), count(*) filter (where length(s::text) > 0) from staging.stg_graph__secure_score_controls s"
    ).fetchone()
    assert controls == (elements, elements)
    conn.execute("select length(s::text) from staging.stg_loader__quarantined_items s").fetchall()


@pytest.fixture(scope="module")
def staged_warehouse(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated warehouse with the staging views (compiled and created once by dbt)."""
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        result = run_dbt(
            ["run", "--select", "staging"],
            url,
            capture=True,
            target_path=tmp_path_factory.mktemp("dbt") / "target",
        )
        assert result.returncode == 0, result.stdout[-4000:]
        yield url


TENANTS = [str(uuid.UUID(int=index + 1, version=4)) for index in range(4)]


def _build_marts(url: str, target: Path, batches: dict[str, dict[str, list[Any]]]) -> str:
    now = datetime(2026, 11, 20, 6, tzinfo=UTC)
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "insert into ops.runs (run_id, logical_date, started_at, status) values ('property', %s, %s, 'succeeded')",
            (now, now),
        )
        for tenant in batches:
            conn.execute(
                "insert into ops.customers (tenant_id, access_state, first_seen_at, last_seen_at, last_run_id)"
                " values (%s, 'gdap', %s, %s, 'property')",
                (tenant, now, now),
            )
    asyncio.run(_land(url, batches))
    result = run_dbt(["build"], url, capture=True, target_path=target)
    assert result.returncode == 0, result.stdout[-6000:]
    return result.stdout


def test_any_payload_lands_without_loss_reads_through_staging_and_builds_the_marts(
    staged_warehouse: str, postgres_server_url: str, tmp_path: Path
) -> None:
    generated: list[dict[str, list[Any]]] = []

    # How many examples, and whether they are drawn afresh, is the profile's (tests/conftest.py).
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batch=payloads(TENANT, size=4))
    def each_batch_lands_and_reads(batch: dict[str, list[Any]]) -> None:
        with psycopg.connect(staged_warehouse, autocommit=True) as conn:
            _truncate(conn)
        asyncio.run(_land(staged_warehouse, {TENANT: batch}))
        with psycopg.connect(staged_warehouse, autocommit=True) as conn:
            _assert_nothing_lost(conn, TENANT, batch)
            _assert_staging_reads_every_row(conn)
        generated.append(batch)

    each_batch_lands_and_reads()

    # Everything generated, spread over a few customers, through one real `dbt build`.
    batches: dict[str, dict[str, list[Any]]] = {tenant: {name: [] for name in ENTITIES} for tenant in TENANTS}
    for index, batch in enumerate(generated):
        for name, items in batch.items():
            batches[TENANTS[index % len(TENANTS)]][name].extend(items)
    with fresh_database(postgres_server_url) as url:
        output = _build_marts(url, tmp_path / "target", batches)
        assert "ERROR=0 SKIP=0" in output
        with psycopg.connect(url) as conn:
            for tenant, batch in batches.items():
                _assert_nothing_lost(conn, tenant, batch)
            marts = {
                row[0]
                for row in conn.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts'"
                )
            }
            assert {
                "fct_alerts",
                "fct_incidents",
                "fct_secure_scores",
                "fct_data_issues",
                "rpt_customer_posture",
            } <= marts
            landed = conn.execute("select count(*) from raw.alerts_v2").fetchone()[0]
            alerts = conn.execute("select count(*) from marts.fct_alerts").fetchone()[0]
            assert 0 < alerts <= landed
            tenants_with_issues = conn.execute(
                "select count(distinct tenant_id) from marts.fct_data_issues"
            ).fetchone()[0]
            assert tenants_with_issues == len(TENANTS)


def test_an_item_whose_id_holds_a_nul_character_does_not_stop_landing(staged_warehouse: str) -> None:
    with psycopg.connect(staged_warehouse, autocommit=True) as conn:
        _truncate(conn)
    batch = {"alerts_v2": [{"id": "a\u0000b", "severity": "high"}], "incidents": [], "secure_scores": []}
    asyncio.run(_land(staged_warehouse, {TENANT: batch}))
    with psycopg.connect(staged_warehouse, autocommit=True) as conn:
        assert (
            conn.execute("select count(*) from raw.quarantine").fetchone()[0]
            + conn.execute("select count(*) from raw.alerts_v2").fetchone()[0]
            == 1
        )
