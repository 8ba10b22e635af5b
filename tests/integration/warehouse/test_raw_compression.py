"""Raw history stays compact: payloads land lz4 (also through the loader's staging table), migration 0012
sets lz4 and a BRIN landing-time index idempotently, and `recompress` rewrites pglz history as lz4.

lz4 needs a PostgreSQL built with it: the local service (SMART_OFFICE_TEST_PG_URL, as in tests/deploy; CI
has one) when the default test server (the embedded `pgserver` one, built without lz4) lacks it. The
fallback without lz4 is tested on whichever server lacks it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import psycopg
import pytest
from psycopg import sql
from psycopg.types.json import Jsonb

from smart_office.warehouse.landing_index import summarize_landing_ranges
from smart_office.warehouse.loader import RawLoader
from smart_office.warehouse.migrations import available_migrations, migrate
from smart_office.warehouse.recompress import Lz4Unavailable, recompress, server_has_lz4
from tests.support.warehouse import fresh_database

SERVICE_URL = os.environ.get("SMART_OFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SMART_OFFICE = str(Path(sys.executable).parent / "smart-office")
TENANT = "00000000-0000-4000-8000-000000000001"
RAW_WITH_PAYLOAD = {
    "partner_center_customers",
    "gdap_relationships",
    "gdap_access_assignments",
    "secure_scores",
    "secure_score_control_profiles",
    "alerts_v2",
    "incidents",
}


def _has_lz4(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            return server_has_lz4(conn)
    except psycopg.OperationalError:
        return False


@pytest.fixture
def lz4_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, migrated database on a server built with lz4."""
    server = next((url for url in (postgres_server_url, SERVICE_URL) if _has_lz4(url)), None)
    if server is None:
        pytest.skip(
            "no PostgreSQL built with lz4 here (neither the test server nor SMART_OFFICE_TEST_PG_URL)"
        )
    with fresh_database(server) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url


@pytest.fixture
def no_lz4_url(postgres_server_url: str) -> Iterator[str]:
    if _has_lz4(postgres_server_url):
        pytest.skip("the test server has lz4; the fallback is tested where it has not")
    with fresh_database(postgres_server_url) as url:
        yield url


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _alert(n: int) -> dict[str, object]:
    # Graph-shaped and a few KB, so PostgreSQL compresses it (small values are stored as they are).
    evidence = [
        {
            "@odata.type": "#microsoft.graph.security.deviceEvidence",
            "remediationStatus": "none",
            "roles": [],
            "verdict": "suspicious",
            "deviceDnsName": f"host-{n}-{k}.contoso.example",
        }
        for k in range(40)
    ]
    return {
        "id": f"alert-{n}",
        "status": "new",
        "lastUpdateDateTime": "2026-11-01T10:00:00Z",
        "evidence": evidence,
    }


async def _land(url: str, items: list[dict[str, object]]) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await RawLoader(conn, "run-1").land("alerts_v2", TENANT, items)


def _compressions(conn: psycopg.Connection, table: str = "alerts_v2") -> dict[str | None, int]:
    rows = conn.execute(
        psycopg.sql.SQL("select pg_column_compression(payload), count(*) from {} group by 1").format(
            psycopg.sql.Identifier("raw", table)
        )
    ).fetchall()
    return dict(rows)


def _land_as_pglz(url: str, items: list[dict[str, object]]) -> None:
    """History as an older release left it: rows written while the column compressed with pglz."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("alter table raw.alerts_v2 alter column payload set compression pglz")
        with conn.transaction():
            for item in items:
                conn.execute(
                    """
                    insert into raw.alerts_v2 (tenant_id, entity_id, payload, payload_hash, run_id)
                    values (%s, %s, %s, sha256(convert_to(%s, 'UTF8')), 'old-run')
                    """,
                    (TENANT, item["id"], Jsonb(item), item["id"]),
                )
        conn.execute("alter table raw.alerts_v2 alter column payload set compression lz4")


@pytest.mark.anyio
async def test_landed_payloads_are_lz4_even_through_the_staging_table(lz4_url: str) -> None:
    await _land(lz4_url, [_alert(n) for n in range(5)])
    with psycopg.connect(lz4_url) as conn:
        assert _compressions(conn) == {"lz4": 5}


def test_migration_sets_lz4_and_brin_and_running_it_again_changes_nothing(lz4_url: str) -> None:
    latest = available_migrations()[-1]
    assert latest.name == "compact_raw_history"

    def state(conn: psycopg.Connection) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        compression = conn.execute(
            """
            select c.relname, a.attcompression::text from pg_attribute a
            join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'raw' and c.relkind = 'r' and a.attname = 'payload'
            """
        ).fetchall()
        indexes = conn.execute(
            """
            select tablename, indexname from pg_indexes
            where schemaname = 'raw' and indexdef like '%(extracted_at)%'
            """
        ).fetchall()
        return set(compression), set(indexes)

    with psycopg.connect(lz4_url, autocommit=True) as conn:
        before = state(conn)
        conn.execute(psycopg.sql.SQL(latest.sql_text))  # type: ignore[arg-type]  # the shipped migration
        conn.execute(psycopg.sql.SQL(latest.sql_text))  # type: ignore[arg-type]
        after = state(conn)
        method = conn.execute(
            "select amname from pg_class c join pg_am am on am.oid = c.relam "
            "where c.relname = 'alerts_v2_extracted_at_brin'"
        ).fetchone()
    assert before == after
    compression, indexes = after
    assert compression == {(table, "l") for table in RAW_WITH_PAYLOAD}
    # One landing-time index per raw table, BRIN; the btree ones it replaces are gone.
    assert indexes == {(table, f"{table}_extracted_at_brin") for table in RAW_WITH_PAYLOAD}
    assert method == ("brin",)


def test_without_lz4_the_migration_applies_and_says_so(
    no_lz4_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="smart_office.warehouse.migrations"),
        psycopg.connect(no_lz4_url) as conn,
    ):
        migrate(conn)
        assert migrate(conn) == []
        compression = conn.execute(
            "select attcompression::text from pg_attribute where attrelid = 'raw.alerts_v2'::regclass "
            "and attname = 'payload'"
        ).fetchone()
    assert compression == ("",)
    assert "lz4 not available on this server; raw.alerts_v2.payload keeps pglz" in caplog.text
    with psycopg.connect(no_lz4_url, autocommit=True) as conn, pytest.raises(Lz4Unavailable):
        recompress(conn)


def test_recompress_rewrites_pglz_history_in_batches_and_a_second_run_is_a_noop(lz4_url: str) -> None:
    items = [_alert(n) for n in range(7)]
    _land_as_pglz(lz4_url, items[:5])
    anyio.run(_land, lz4_url, items[5:])
    with psycopg.connect(lz4_url, autocommit=True) as conn:
        assert _compressions(conn) == {"pglz": 5, "lz4": 2}
        payloads = dict(conn.execute("select entity_id, payload from raw.alerts_v2").fetchall())
        batches: list[int] = []
        results = recompress(conn, batch_size=2, progress=lambda done: batches.append(done.rows))
        assert _compressions(conn) == {"lz4": 7}
        # Same documents, same keys: only their storage changed.
        assert dict(conn.execute("select entity_id, payload from raw.alerts_v2").fetchall()) == payloads
        again = recompress(conn, batch_size=2)
    alerts = next(r for r in results if r.table == "alerts_v2")
    assert alerts.rows == 5
    assert alerts.batches == 4  # 7 keys, 2 per batch
    assert batches == sorted(batches)
    assert batches[-1] == 5
    assert alerts.bytes_before > 0
    assert alerts.bytes_after > 0
    assert sum(r.rows for r in results) == 5
    assert sum(r.rows for r in again) == 0


def test_the_cli_recompresses_and_reports_bytes(lz4_url: str) -> None:
    _land_as_pglz(lz4_url, [_alert(n) for n in range(3)])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_"))}
    env["SMART_OFFICE_WAREHOUSE_URL"] = lz4_url
    done = subprocess.run(
        [SMART_OFFICE, "warehouse", "recompress", "--table", "alerts_v2", "--batch-size", "2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    output = done.stdout + done.stderr
    assert "raw.alerts_v2: 3 payloads recompressed" in output
    assert "bytes -> " in output
    with psycopg.connect(lz4_url) as conn:
        assert _compressions(conn) == {"lz4": 3}
    unknown = subprocess.run(
        [SMART_OFFICE, "warehouse", "recompress", "--table", "ops_runs"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert unknown.returncode == 2
    assert "ops_runs" in unknown.stdout + unknown.stderr


def test_recompress_on_a_warehouse_never_migrated_says_so(postgres_server_url: str) -> None:
    """Not "0 payloads recompressed": it never looked into a warehouse, and the operator should migrate it."""
    server = next((url for url in (postgres_server_url, SERVICE_URL) if _has_lz4(url)), None)
    if server is None:
        pytest.skip(
            "no PostgreSQL built with lz4 here (neither the test server nor SMART_OFFICE_TEST_PG_URL)"
        )
    with fresh_database(server) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_"))}
        env["SMART_OFFICE_WAREHOUSE_URL"] = url
        done = subprocess.run(
            [SMART_OFFICE, "warehouse", "recompress"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "not migrated" in output
    assert "smart-office migrate" in output
    assert "0 payloads" not in output


def test_landing_ranges_are_summarised_so_the_brin_index_narrows_the_recent_window(lz4_url: str) -> None:
    with psycopg.connect(lz4_url, autocommit=True) as conn:
        # ~3 MB of rows in landing order: a few full 128-page block ranges, none summarised yet.
        conn.execute(
            """
            insert into raw.alerts_v2 (tenant_id, entity_id, payload, payload_hash, run_id, extracted_at)
            select %s, 'a' || n, jsonb_build_object('id', 'a' || n, 'pad', repeat(md5(n::text), 12)),
                sha256(n::text::bytea), 'run', timestamptz '2026-01-01' + n * interval '1 minute'
            from generate_series(1, 6000) as n
            """,
            (TENANT,),
        )
        first = summarize_landing_ranges(conn)
        again = summarize_landing_ranges(conn)
        conn.execute("analyze raw.alerts_v2")
        conn.execute("set enable_seqscan = off")
        plan = conn.execute(
            "explain (analyze, costs off, timing off) select count(*) from raw.alerts_v2 "
            "where extracted_at >= timestamptz '2026-01-01' + interval '5990 minutes'"
        ).fetchall()
    assert first > 0
    assert again == 0
    lossy = next(int(line.split("lossy=")[1]) for (line,) in plan if "lossy=" in line)
    pages = 6000 * 500 // 8192  # a lower bound of the table's pages
    assert lossy <= 128 * 2 < pages  # one or two ranges read, not the table


def test_a_locked_raw_table_skips_its_summary_and_the_others_still_get_theirs(
    lz4_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with psycopg.connect(lz4_url, autocommit=True) as conn, psycopg.connect(lz4_url) as holder:
        for table in ("alerts_v2", "incidents"):
            conn.execute(
                sql.SQL(
                    "insert into raw.{} (tenant_id, entity_id, payload, payload_hash, run_id, extracted_at) "
                    "select %s, 'e' || n, jsonb_build_object('id', 'e' || n, 'pad', repeat(md5(n::text), 12)), "
                    "sha256(n::text::bytea), 'run', timestamptz '2026-01-01' + n * interval '1 minute' "
                    "from generate_series(1, 3000) as n"
                ).format(sql.Identifier(table)),
                (TENANT,),
            )
        holder.execute("lock table raw.alerts_v2 in access exclusive mode")  # held until holder's rollback
        conn.execute("set lock_timeout = '200ms'")
        with caplog.at_level(logging.WARNING, logger="smart_office.warehouse.landing_index"):
            summarized = summarize_landing_ranges(conn)
        holder.rollback()
        unsummarized_alerts = summarize_landing_ranges(conn)
    assert "raw.alerts_v2_extracted_at_brin skipped (LockNotAvailable)" in caplog.text
    assert summarized > 0  # incidents' ranges, past the locked table
    assert unsummarized_alerts > 0  # alerts_v2's were left for the next run
