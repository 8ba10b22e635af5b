"""Versioned, checksummed schema migrations: `NNNN_name.sql` files applied in order, each in one transaction."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
# Any constant works; it only has to be the same for every process migrating this warehouse.
_ADVISORY_LOCK_KEY = 0x534D4F4D  # "SMOM"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql_text: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql_text.encode()).hexdigest()


class MigrationError(RuntimeError):
    """An applied migration was edited, or the files are inconsistent."""


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {versions}")
    return found


def migrate(conn: psycopg.Connection) -> list[Migration]:
    """Apply pending migrations; safe to call concurrently from several workers. Returns what was applied."""
    applied_now: list[Migration] = []
    conn.add_notice_handler(_log_notice)
    try:
        with conn.transaction():
            _apply(conn, applied_now)
    finally:
        conn.remove_notice_handler(_log_notice)
    return applied_now


def _log_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
    # A migration raises WARNING for what it could not do on this server (lz4 missing); the NOTICEs of
    # `if not exists` statements are routine.
    level = logging.WARNING if diagnostic.severity_nonlocalized == "WARNING" else logging.DEBUG
    log.log(level, "migration: %s", diagnostic.message_primary)


def _apply(conn: psycopg.Connection, applied_now: list[Migration]) -> None:
    # Serialises concurrent migrators (several Airflow workers starting at once).
    conn.execute("select pg_advisory_xact_lock(%s)", (_ADVISORY_LOCK_KEY,))
    conn.execute("create schema if not exists ops")
    conn.execute(
        """
        create table if not exists ops.schema_migrations (
            version integer primary key,
            name text not null,
            checksum text not null,
            applied_at timestamptz not null default now()
        )
        """
    )
    done = {
        version: checksum
        for version, checksum in conn.execute("select version, checksum from ops.schema_migrations")
    }
    for migration in available_migrations():
        if migration.version in done:
            if done[migration.version] != migration.checksum:
                raise MigrationError(
                    f"migration {migration.version:04d}_{migration.name} was changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
            continue
        log.info("applying migration %04d_%s", migration.version, migration.name)
        conn.execute(sql.SQL(migration.sql_text))  # type: ignore[arg-type]  # trusted file shipped with the package
        conn.execute(
            "insert into ops.schema_migrations (version, name, checksum) values (%s, %s, %s)",
            (migration.version, migration.name, migration.checksum),
        )
        applied_now.append(migration)
