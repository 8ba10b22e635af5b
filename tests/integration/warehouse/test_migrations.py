"""Migrations create the raw and ops schemas once, idempotently, and refuse edited history."""

from __future__ import annotations

import threading

import psycopg
import pytest

from smart_office.warehouse import migrations
from smart_office.warehouse.migrations import Migration, MigrationError, migrate

RAW_TABLES = {
    "partner_center_customers",
    "gdap_relationships",
    "secure_scores",
    "secure_score_control_profiles",
    "alerts_v2",
    "incidents",
    "quarantine",
}


def _tables(conn: psycopg.Connection, schema: str) -> set[str]:
    rows = conn.execute("select table_name from information_schema.tables where table_schema = %s", (schema,))
    return {r[0] for r in rows}


def test_migrate_creates_schemas_and_is_idempotent(warehouse_url: str) -> None:
    with psycopg.connect(warehouse_url) as conn:
        first = migrate(conn)
        second = migrate(conn)
        assert [m.version for m in first] == [m.version for m in migrations.available_migrations()]
        assert second == []
        assert _tables(conn, "raw") >= RAW_TABLES
        assert {
            "runs",
            "customers",
            "tenant_runs",
            "watermarks",
            "token_store",
            "schema_migrations",
        } <= _tables(conn, "ops")
        # Every raw entity table has the loader's shape and a key that includes the payload hash.
        key = conn.execute(
            """
            select array_agg(a.attname order by a.attname)
            from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
            where i.indrelid = 'raw.alerts_v2'::regclass and i.indisprimary
            """
        ).fetchone()[0]
        assert key == ["entity_id", "payload_hash", "tenant_id"]


def test_concurrent_migrators_apply_each_migration_once(warehouse_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(warehouse_url) as conn:
                migrate(conn)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with psycopg.connect(warehouse_url) as conn:
        count = conn.execute("select count(*) from ops.schema_migrations").fetchone()[0]
    assert count == len(migrations.available_migrations())


def test_edited_applied_migration_is_refused(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    original = migrations.available_migrations()
    edited = [Migration(m.version, m.name, m.sql_text + "\n-- edited") for m in original]
    monkeypatch.setattr(migrations, "available_migrations", lambda: edited)
    with (
        psycopg.connect(warehouse_url) as conn,
        pytest.raises(MigrationError, match="changed after it was applied"),
    ):
        migrate(conn)
