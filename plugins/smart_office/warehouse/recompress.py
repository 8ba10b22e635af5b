"""Rewrite raw payloads landed before lz4 (or through the old pglz staging path) so old history is lz4 too.

Setting a column's compression only applies to values written afterwards, and VACUUM FULL or CLUSTER copy
compressed values as they are: the only way to recompress is to write each value again. `payload || '{}'`
hands PostgreSQL the decompressed document (same content, same hash), which it compresses with the
column's method on the way back in.

Batched (one transaction per batch of primary keys, walked in key order) and resumable: only pglz values
are rewritten, so a run that stops halfway picks up where the rewritten rows end, and a second run is a
no-op. The old row versions are dead tuples afterwards: autovacuum (or VACUUM) makes their space reusable.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from smart_office.warehouse.loader import LZ4_AVAILABLE

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 5_000


@dataclass(slots=True)
class TableRecompression:
    """What one table's pass rewrote: rows, and the payloads' stored bytes before and after."""

    table: str
    rows: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    batches: int = 0

    @property
    def saved(self) -> int:
        return self.bytes_before - self.bytes_after


class Lz4Unavailable(RuntimeError):
    """The server was built without lz4: there is nothing to recompress to."""


class NotMigrated(ValueError):
    """The warehouse has no raw table set to lz4 because migration 0012 never ran on it."""


def server_has_lz4(conn: psycopg.Connection) -> bool:
    """The loader's lz4 probe, for a synchronous connection."""
    row = conn.execute(LZ4_AVAILABLE).fetchone()
    return bool(row and row[0])


def raw_payload_tables(conn: psycopg.Connection) -> list[str]:
    """Raw tables whose jsonb payload column is set to lz4 (the ones recompressing can help)."""
    rows = conn.execute(
        """
        select c.relname
        from pg_attribute a
        join pg_class c on c.oid = a.attrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'raw' and c.relkind = 'r' and a.attname = 'payload' and a.atttypid = 'jsonb'::regtype
            and a.attcompression = 'l' and not a.attisdropped
        order by c.relname
        """
    ).fetchall()
    return [row[0] for row in rows]


def _lz4_migration_applied(conn: psycopg.Connection) -> bool:
    # Two statements: a query naming a table that does not exist fails before any condition guards it.
    found = conn.execute("select to_regclass('ops.schema_migrations')").fetchone()
    if not found or found[0] is None:
        return False
    return conn.execute(
        "select exists (select from ops.schema_migrations where version = 12)"
    ).fetchone() == (True,)


def recompress(
    conn: psycopg.Connection,
    *,
    tables: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[TableRecompression], None] | None = None,
) -> list[TableRecompression]:
    """Rewrite every pglz payload of the raw tables (all lz4 ones by default) as lz4, `batch_size` rows
    (keys walked) per transaction; `progress` is called after each batch. Needs an autocommit connection."""
    if not conn.autocommit:
        raise ValueError("recompress needs an autocommit connection (one transaction per batch)")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if not server_has_lz4(conn):
        raise Lz4Unavailable("this PostgreSQL was built without lz4; raw payloads stay pglz")
    eligible = raw_payload_tables(conn)
    if not eligible and not _lz4_migration_applied(conn):
        # Otherwise it would report "0 payloads recompressed" on a warehouse it never looked into.
        raise NotMigrated(
            "the warehouse is not migrated (no raw tables set to lz4): run `smart-office migrate` first"
        )
    if tables is not None:
        unknown = sorted(set(tables) - set(eligible))
        if unknown:
            raise ValueError(f"not a raw table with an lz4 payload column: {', '.join(unknown)}")
        eligible = [t for t in eligible if t in tables]
    return [_recompress_table(conn, table, batch_size, progress) for table in eligible]


def _recompress_table(
    conn: psycopg.Connection,
    table: str,
    batch_size: int,
    progress: Callable[[TableRecompression], None] | None,
) -> TableRecompression:
    result = TableRecompression(table)
    ident = sql.Identifier("raw", table)
    # Keyset over the primary key: each batch costs an index range, not a scan of what is already done.
    first_keys = sql.SQL(
        "select tenant_id, entity_id, payload_hash from {table} order by tenant_id, entity_id, payload_hash limit %s"
    ).format(table=ident)
    next_keys = sql.SQL(
        """
        select tenant_id, entity_id, payload_hash from {table}
        where (tenant_id, entity_id, payload_hash) > (%s, %s, %s)
        order by tenant_id, entity_id, payload_hash
        limit %s
        """
    ).format(table=ident)
    rewrite = sql.SQL(
        """
        with batch as (
            select tenant_id, entity_id, payload_hash, pg_column_size(payload) as size_before
            from {table}
            where (tenant_id, entity_id, payload_hash) >= (%s, %s, %s)
                and (tenant_id, entity_id, payload_hash) <= (%s, %s, %s)
                and pg_column_compression(payload) = 'pglz'
            for update
        )
        update {table} as t
        set payload = t.payload || '{{}}'::jsonb
        from batch
        where (t.tenant_id, t.entity_id, t.payload_hash) = (batch.tenant_id, batch.entity_id, batch.payload_hash)
        returning batch.size_before
        """
    ).format(table=ident)
    # RETURNING sees the value before it is compressed again; the stored size is read back from the rows
    # this transaction wrote.
    stored = sql.SQL(
        """
        select coalesce(sum(pg_column_size(payload)), 0) from {table}
        where (tenant_id, entity_id, payload_hash) >= (%s, %s, %s)
            and (tenant_id, entity_id, payload_hash) <= (%s, %s, %s)
            and xmin = pg_current_xact_id()::xid
        """
    ).format(table=ident)
    after: tuple[object, ...] | None = None
    while True:
        with conn.transaction():
            if after is None:
                keys = conn.execute(first_keys, (batch_size,)).fetchall()
            else:
                keys = conn.execute(next_keys, (*after, batch_size)).fetchall()
            if not keys:
                break
            rows = conn.execute(rewrite, (*keys[0], *keys[-1])).fetchall()
            size_after = conn.execute(stored, (*keys[0], *keys[-1])).fetchone()
        after = tuple(keys[-1])
        result.batches += 1
        result.rows += len(rows)
        result.bytes_before += sum(before for (before,) in rows)
        result.bytes_after += int(size_after[0]) if rows and size_after else 0
        if progress is not None:
            progress(result)
    log.info(
        "raw.%s: %d payloads recompressed to lz4, %d -> %d bytes",
        table,
        result.rows,
        result.bytes_before,
        result.bytes_after,
    )
    return result
