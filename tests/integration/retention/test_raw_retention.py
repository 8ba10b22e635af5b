"""Raw retention deletes superseded versions only where the marts do not change: marts built, retention
applied, dbt rebuilt with --full-refresh (the weekly build), every mart compared row for row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from smart_office.dbt_runner import run_dbt
from smart_office.retention.raw_retention import VERSIONED_TABLES, apply_raw_retention
from smart_office.warehouse.migrations import migrate
from tests.integration.retention.conftest import base_tables, table_rows
from tests.support.marts_data import MartsDataSpec, build_marts
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

# Five daily runs over three weeks of history: alerts and incidents change between runs (new versions).
SPEC = MartsDataSpec(
    tenants=6, history_days=21, runs=5, seed=23, last_run_failures=(), late_history_days=None
)


@pytest.fixture(scope="module")
def built(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with fresh_database(postgres_server_url) as url:
        target = tmp_path_factory.mktemp("dbt-retention") / "target"
        build_marts(url, target, SPEC)
        yield url, target


def _entities(conn: psycopg.Connection) -> dict[str, int]:
    return {
        table: conn.execute(
            sql.SQL("select count(*) from (select distinct tenant_id, entity_id from {}) as e").format(
                sql.Identifier("raw", table)
            )
        ).fetchone()[0]
        for table in VERSIONED_TABLES
    }


def test_retention_keeps_every_mart_identical_after_a_full_refresh(built: tuple[str, Path]) -> None:
    url, target = built
    with psycopg.connect(url, autocommit=True) as conn:
        marts = base_tables(conn, "marts")
        before = {mart: table_rows(conn, "marts", mart) for mart in marts}
        entities = _entities(conn)
        # The window starts with the third run: what the first two landed and the third superseded may go.
        run_ids = [r[0] for r in conn.execute("select run_id from ops.runs order by logical_date").fetchall()]
        cutoff = conn.execute(
            "select min(extracted_at) from raw.alerts_v2 where run_id = %s", (run_ids[2],)
        ).fetchone()[0]
        versions = conn.execute(
            "select 'alerts_v2', tenant_id, entity_id, encode(payload_hash, 'hex') from raw.alerts_v2"
            " union all select 'incidents', tenant_id, entity_id, encode(payload_hash, 'hex') from raw.incidents"
        ).fetchall()

        result = apply_raw_retention(conn, cutoff, batch_size=50)

        assert result.total > 0, "the data has superseded versions: retention must delete some"
        assert result.deleted["alerts_v2"] > 0
        assert result.batches > len(VERSIONED_TABLES), "small batches: more than one per table"
        assert _entities(conn) == entities, "every entity keeps a version"
        kept = set(
            conn.execute(
                "select 'alerts_v2', tenant_id, entity_id, encode(payload_hash, 'hex') from raw.alerts_v2"
                " union all select 'incidents', tenant_id, entity_id, encode(payload_hash, 'hex') from raw.incidents"
            ).fetchall()
        )
        gone = {
            (entity, str(tenant), entity_id, version)
            for entity, tenant, entity_id, version in set(versions) - kept
        }
        assert gone
        # Nothing landed inside the window was deleted.
        assert apply_raw_retention(conn, cutoff).total == 0, "a second pass finds nothing more"

    result = run_dbt(["build", "--full-refresh"], url, capture=True, target_path=target)
    assert result.returncode == 0, result.stdout[-6000:]

    with psycopg.connect(url) as conn:
        for mart in marts:
            after = table_rows(conn, "marts", mart)
            if mart == "fct_data_issues":
                # A log of issues per version: the issues of deleted versions go, nothing else changes.
                assert set(after) <= set(before[mart])
                continue
            assert after == before[mart], f"marts.{mart} changed"


def _land(conn: psycopg.Connection, run: str, landed_at: datetime, versions: list[tuple[str, str]]) -> None:
    for entity_id, updated in versions:
        payload = f'{{"id": "{entity_id}", "lastUpdateDateTime": "{updated}", "run": "{run}"}}'
        conn.execute(
            "insert into raw.alerts_v2 (tenant_id, entity_id, payload, payload_hash, source_updated_at, extracted_at,"
            " run_id) values ('11111111-1111-1111-1111-111111111111', %s, %s::jsonb, sha256(%s::bytea),"
            " case when %s ~ 'Z$' then %s::timestamptz end, %s, %s)",
            (entity_id, payload, payload.encode(), updated, updated, landed_at, run),
        )


def test_the_version_with_the_latest_change_time_stays_though_older_ones_landed_after_it(
    warehouse_url: str,
) -> None:
    """fct_alerts reads the version with the newest lastUpdateDateTime, not the one landed last."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        migrate(conn)
        _land(
            conn,
            "r1",
            start,
            [("a", "2026-01-01T10:00:00Z"), ("b", "2026-01-01T10:00:00Z"), ("c", "2026-01-01T10:00:00")],
        )
        _land(
            conn,
            "r2",
            start + timedelta(days=1),
            [("a", "2026-01-01T09:00:00Z"), ("b", "2026-01-02T10:00:00Z"), ("c", "2026-01-02T10:00:00Z")],
        )
        _land(
            conn,
            "r3",
            start + timedelta(days=2),
            [("a", "2026-01-01T08:00:00Z"), ("b", "2026-01-03T10:00:00Z"), ("c", "2026-01-03T10:00:00Z")],
        )
        _land(conn, "r4", start + timedelta(days=30), [("b", "2026-01-31T10:00:00Z")])

        result = apply_raw_retention(conn, start + timedelta(days=10), batch_size=2)

        left = {
            (entity_id, run)
            for entity_id, run in conn.execute(
                "select entity_id, payload ->> 'run' from raw.alerts_v2"
            ).fetchall()
        }
    assert result.deleted["alerts_v2"] == 4
    # a: r1 has the newest change time (what the mart reads), r3 landed last (the incident's newest landing):
    # both stay; r2 is neither. b: r3 was current when the window began, r4 is inside it; r1, r2 go.
    # c: r1's time has no offset (staging reads it as UTC, the loader not at all): never deleted; r2 goes.
    assert left == {("a", "r1"), ("a", "r3"), ("b", "r3"), ("b", "r4"), ("c", "r1"), ("c", "r3")}
