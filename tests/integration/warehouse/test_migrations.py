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


def test_an_upgraded_warehouse_keeps_its_history_complete_from_its_first_run(
    warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outcomes landed by the version before history spans get the spans that version read (0005)."""
    released = [m for m in migrations.available_migrations() if m.version == 1]
    monkeypatch.setattr(migrations, "available_migrations", lambda: released)
    tenant = "00000000-0000-4000-8000-0000000000aa"
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
        for run, day in (("run-1", "2026-09-01"), ("run-2", "2026-09-02")):
            conn.execute(
                "insert into ops.runs (run_id, logical_date, started_at, status) values (%s, %s, %s, 'succeeded')",
                (run, f"{day}T06:00:00Z", f"{day}T06:05:00Z"),
            )
            for endpoint in ("alerts_v2", "secure_scores", "control_profiles"):
                conn.execute(
                    "insert into ops.tenant_runs (run_id, tenant_id, endpoint, outcome, state, started_at, "
                    "finished_at) values (%s, %s, %s, 'loaded', 'ok', %s, %s)",
                    (run, tenant, endpoint, f"{day}T06:05:00Z", f"{day}T06:06:00Z"),
                )
        conn.execute(
            "insert into ops.watermarks (tenant_id, endpoint, watermark, run_id) "
            "values (%s, 'alerts_v2', '2026-08-20T00:00:00Z', 'run-2')",
            (tenant,),
        )
    monkeypatch.undo()
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
        spans = conn.execute(
            "select run_id, endpoint, window_from::date::text, window_to from ops.tenant_runs order by 1, 2"
        ).fetchall()
        read_through = conn.execute("select read_through from ops.watermarks").fetchall()
    day_1, day_2 = (f"2026-09-0{d}T06:00:00+00:00" for d in (1, 2))
    assert [(r, e, f, t.isoformat() if t else None) for r, e, f, t in spans] == [
        ("run-1", "alerts_v2", "2026-08-02", day_1),
        ("run-1", "control_profiles", None, None),
        ("run-1", "secure_scores", "2026-06-03", day_1),
        ("run-2", "alerts_v2", "2026-08-03", day_2),
        ("run-2", "control_profiles", None, None),
        ("run-2", "secure_scores", "2026-06-04", day_2),
    ]
    assert [r[0].isoformat() for r in read_through] == [day_2]
