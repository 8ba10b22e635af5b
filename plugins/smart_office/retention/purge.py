"""Purging one customer's data from every schema of the warehouse, and the record of it that holds none.

Which tables hold a customer's rows is read from the catalogue, not listed here: every base table, in any
schema, with a tenant column (`tenant_id`, or a name ending in `_tenant_id`) — raw, ops and whatever dbt
builds (staging, intermediate, marts), including tables added later. Tables without one are either in
`NOT_TENANT_SCOPED` (deliberately: run bookkeeping, catalogues, portfolio aggregates) or make the purge refuse
to run, so a new table is never skipped silently. Per-tenant entries of the token store are the other place
(`TENANT_SECRET_MARKER`): entries whose name holds the tenant id are deleted in the same transaction
(PostgreSQL store), or through `TenantSecretDeleter` (Key Vault) after it commits.

The record (ops.purges) names the tenant by a keyed hash only (HMAC-SHA256 under SMART_OFFICE_PURGE_KEY): who
holds the warehouse but not the key cannot test a guessed tenant id against it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import orjson
import psycopg
from psycopg import sql

from smart_office.auth.stores import key_fingerprint

log = logging.getLogger(__name__)

# A column naming the customer tenant a row belongs to.
TENANT_COLUMN = re.compile(r"^(.+_)?tenant_id$")
# Schemas that are PostgreSQL's own.
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
# Base tables without a tenant column, deliberately: what they hold is not one customer's data.
NOT_TENANT_SCOPED: dict[tuple[str, str], str] = {
    ("ops", "runs"): "one row per run; its summary holds counts, no tenant",
    ("ops", "schema_migrations"): "the warehouse's schema version",
    ("ops", "token_store"): "secrets by name; per-tenant entries are deleted by name (TENANT_SECRET_MARKER)",
    ("ops", "purges"): "the purge records: a keyed hash, never the tenant",
    ("ops", "posture_rules"): (
        "the partner's posture rules, rewritten from its rules file before every build; a tenant a rule's scope "
        "names is the partner's configuration, removed from that file (docs/retention.md)"
    ),
    (
        "staging",
        "dbt_read_through",
    ): "dbt bookkeeping: the time each incremental model has read landed rows through",
    ("staging", "mitre_attack_techniques"): "dbt seed: MITRE ATT&CK names",
    ("staging", "service_sources"): "dbt seed: Microsoft's service source names",
    ("staging", "seat_bands"): "dbt seed: the seat bands licences are placed in (docs/segments.md)",
    ("marts", "dim_mitre_techniques"): "MITRE ATT&CK catalogue",
    (
        "marts",
        "fct_ingestion_coverage",
    ): "counts of customers per run and outcome: recomputed at the next dbt build",
    ("marts", "dim_controls"): "Microsoft's control catalogue (the same for every tenant)",
    (
        "marts",
        "fct_control_adoption",
    ): "portfolio aggregate: recomputed without the tenant at the next dbt build",
}
# Tables whose rows belong to a tenant through one of its posture events (marts.fct_posture_events.event_id):
# what people did with the tenant's events, and their delivery log. Deleted before the events themselves.
SCOPED_BY_EVENT: dict[tuple[str, str], str] = {
    ("ops", "posture_event_actions"): "acks and snoozes of the tenant's posture events",
    ("ops", "posture_event_deliveries"): "the delivery log of the tenant's posture events",
}
EVENTS_TABLE = ("marts", "fct_posture_events")
# A token-store entry belongs to a tenant when its name holds the tenant id (auth/stores.tenant_secret_name).
TENANT_SECRET_MARKER = "tenant id in the secret's name"


class PurgeError(RuntimeError):
    """The purge cannot run as asked (no key, an unknown table shape); nothing was deleted."""


class TenantSecretDeleter(Protocol):
    """A credential store outside the warehouse that can delete a tenant's own entries (Key Vault)."""

    def delete_tenant_secrets(self, tenant_id: str) -> int:
        """Delete every entry whose name holds `tenant_id`; return how many."""
        ...


@dataclass(frozen=True, slots=True)
class TenantTable:
    schema: str
    table: str
    columns: tuple[tuple[str, str], ...]  # (column, data type)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


@dataclass(slots=True)
class PurgeRecord:
    """What a purge did, as ops.purges holds it (no tenant id, no name)."""

    purge_id: int
    tenant_hash: str
    reason: str
    tables: dict[str, int] = field(default_factory=dict)
    secrets_deleted: int = 0

    @property
    def rows_deleted(self) -> int:
        return sum(self.tables.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "purge_id": self.purge_id,
            "tenant_hash": self.tenant_hash,
            "reason": self.reason,
            "rows_deleted": self.rows_deleted,
            "tables": dict(self.tables),
            "secrets_deleted": self.secrets_deleted,
        }


def normalise_tenant(tenant_id: str) -> str:
    """The tenant id as the warehouse stores it (lower-case GUID); PurgeError when it is not a GUID."""
    try:
        return str(uuid.UUID(tenant_id.strip()))
    except ValueError:
        raise PurgeError(f"{tenant_id!r} is not a tenant id (a GUID)") from None


def tenant_hash(key: str, tenant_id: str) -> str:
    """HMAC-SHA256 of the tenant id under the purge key, hex: the only way the record names a tenant."""
    if not key:
        raise PurgeError("SMART_OFFICE_PURGE_KEY is not set")
    message = b"smart-office-purge:" + normalise_tenant(tenant_id).encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def tenant_scoped_tables(conn: psycopg.Connection) -> list[TenantTable]:
    """Every base table with a tenant column, in every schema; PurgeError for an unknown table without one."""
    rows = conn.execute(
        """
        select t.table_schema, t.table_name, c.column_name, c.data_type
        from information_schema.tables as t
        left join information_schema.columns as c
            on c.table_schema = t.table_schema and c.table_name = t.table_name
        where t.table_type = 'BASE TABLE' and t.table_schema <> all(%s) and t.table_schema not like 'pg\\_temp%%'
        order by t.table_schema, t.table_name, c.ordinal_position
        """,
        (list(SYSTEM_SCHEMAS),),
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        found = columns.setdefault((schema, table), [])
        if column is not None and TENANT_COLUMN.match(column):
            found.append((column, data_type))
    unknown = sorted(
        f"{s}.{t}"
        for (s, t), cols in columns.items()
        if not cols and (s, t) not in NOT_TENANT_SCOPED and (s, t) not in SCOPED_BY_EVENT
    )
    if unknown:
        raise PurgeError(
            f"table(s) without a tenant column and not declared as not tenant-scoped: {', '.join(unknown)}"
        )
    return [TenantTable(s, t, tuple(cols)) for (s, t), cols in columns.items() if cols]


def _matches(column: str, data_type: str) -> sql.Composable:
    if data_type == "uuid":
        return sql.SQL("{} = %(tenant)s::uuid").format(sql.Identifier(column))
    return sql.SQL("lower({}::text) = %(tenant)s").format(sql.Identifier(column))


def purge_tenant(
    conn: psycopg.Connection,
    tenant_id: str,
    *,
    key: str,
    purged_by: str,
    purged_at: datetime,
    reason: str = "request",
    blocks_return: bool = True,
    secret_deleter: TenantSecretDeleter | None = None,
) -> PurgeRecord:
    """Delete every row of `tenant_id` in one transaction and record the purge (ops.purges).

    :param conn: a connection not inside a transaction.
    :param key: SMART_OFFICE_PURGE_KEY (the hash key); never stored.
    :param purged_by: who asked (an operator's name, or the maintenance run); no customer data.
    :param purged_at: when (the CLI's clock, or the maintenance run's logical time).
    :param reason: `request` or `departed`.
    :param blocks_return: discovery skips the tenant from now on, until readmitted.
    :param secret_deleter: a Key Vault store, whose per-tenant entries are deleted after the commit.
    """
    tenant = normalise_tenant(tenant_id)
    digest = tenant_hash(key, tenant)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return _purge_once(
                conn, tenant, digest, key, purged_by, purged_at, reason, blocks_return, secret_deleter
            )
        except _TablesMoved:
            # dbt replaced or created a table while the purge waited for its locks: look at the catalogue again.
            log.info("purge: tables changed while locking (attempt %d of %d)", attempt, _ATTEMPTS)
    raise PurgeError(
        "the warehouse's tables kept changing (dbt builds running); nothing was deleted, try again"
    )


_ATTEMPTS = 3
# How long the purge waits for a load or a dbt build to release a table it must lock.
LOCK_TIMEOUT = "120s"


class _TablesMoved(Exception):
    pass


def _lock_all(conn: psycopg.Connection, tables: list[TenantTable]) -> None:
    """Lock every tenant-scoped table against readers and writers until the purge commits.

    Access exclusive, because only that waits for transactions that have *read* a table: a dbt model that read
    the tenant's rows before the purge commits its rebuilt table first (and the purge then deletes from it), and
    one that starts later waits and reads what the purge left. Loads of those tables wait too.
    """
    conn.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    try:
        for table in sorted(tables, key=lambda t: t.name):
            conn.execute(
                sql.SQL("lock table {} in access exclusive mode").format(
                    sql.Identifier(table.schema, table.table)
                )
            )
        conn.execute("lock table ops.token_store in access exclusive mode")
    except (psycopg.errors.UndefinedTable, psycopg.errors.DeadlockDetected):
        raise _TablesMoved from None
    except psycopg.errors.LockNotAvailable:
        raise PurgeError(
            f"a load or dbt build held a table for more than {LOCK_TIMEOUT}; nothing was deleted, try again"
        ) from None


def _delete_by_event(conn: psycopg.Connection, tenant: str) -> dict[str, int]:
    """Delete the rows of SCOPED_BY_EVENT that belong to the tenant's posture events; counts by table."""
    present = {
        (schema, table)
        for schema, table in (*SCOPED_BY_EVENT, EVENTS_TABLE)
        if conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]
    }
    if EVENTS_TABLE not in present:
        return {}
    deleted: dict[str, int] = {}
    for schema, table in sorted(SCOPED_BY_EVENT):
        if (schema, table) not in present:
            continue
        conn.execute(sql.SQL("lock table {} in access exclusive mode").format(sql.Identifier(schema, table)))
        count = conn.execute(
            sql.SQL(
                "delete from {} where event_id in (select event_id from {} where tenant_id = %s::uuid)"
            ).format(sql.Identifier(schema, table), sql.Identifier(*EVENTS_TABLE)),
            (tenant,),
        ).rowcount
        if count:
            deleted[f"{schema}.{table}"] = count
    return deleted


def _purge_once(
    conn: psycopg.Connection,
    tenant: str,
    digest: str,
    key: str,
    purged_by: str,
    purged_at: datetime,
    reason: str,
    blocks_return: bool,
    secret_deleter: TenantSecretDeleter | None,
) -> PurgeRecord:
    tables: dict[str, int] = {}
    with conn.transaction():
        scoped = tenant_scoped_tables(conn)
        _lock_all(conn, scoped)
        locked = {t.name for t in scoped}
        scoped = tenant_scoped_tables(conn)
        if {t.name for t in scoped} != locked:
            raise _TablesMoved
        tables.update(_delete_by_event(conn, tenant))
        for table in scoped:
            condition = sql.SQL(" or ").join(_matches(c, t) for c, t in table.columns)
            deleted = conn.execute(
                sql.SQL("delete from {} where {}").format(
                    sql.Identifier(table.schema, table.table), condition
                ),
                {"tenant": tenant},
            ).rowcount
            if deleted:
                tables[table.name] = deleted
        secrets = conn.execute(
            "delete from ops.token_store where strpos(lower(name), %s) > 0", (tenant,)
        ).rowcount
        if secrets:
            tables["ops.token_store"] = secrets
        row = conn.execute(
            """
            insert into ops.purges (purged_at, purged_by, reason, tenant_hash, key_id, row_counts, rows_deleted,
                secrets_deleted, blocks_return)
            values (%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s)
            returning purge_id
            """,
            (
                purged_at,
                purged_by,
                reason,
                digest,
                key_fingerprint(key),
                orjson.dumps(tables).decode(),
                sum(tables.values()),
                secrets,
                blocks_return,
            ),
        ).fetchone()
    record = PurgeRecord(
        purge_id=row[0], tenant_hash=digest, reason=reason, tables=tables, secrets_deleted=secrets
    )
    if secret_deleter is not None:
        outside = secret_deleter.delete_tenant_secrets(tenant)
        if outside:
            record.secrets_deleted += outside
            conn.execute(
                "update ops.purges set secrets_deleted = secrets_deleted + %s where purge_id = %s",
                (outside, record.purge_id),
            )
            conn.commit()
    log.info("purge %d (%s): %d row(s) deleted", record.purge_id, reason, record.rows_deleted)
    return record


def departed_tenants(conn: psycopg.Connection, *, departed_before: datetime) -> list[str]:
    """Customers that departed before `departed_before` (and are still in the warehouse)."""
    rows = conn.execute(
        "select tenant_id::text from ops.customers where departed_at is not null and departed_at <= %s "
        "order by tenant_id",
        (departed_before,),
    ).fetchall()
    return [row[0] for row in rows]


def purge_departed(
    conn: psycopg.Connection, *, as_of: datetime, after_days: int, key: str, purged_by: str
) -> list[PurgeRecord]:
    """Purge every customer departed at least `after_days` before `as_of` (the run's logical time).

    A departed customer that comes back to Partner Center later is welcome again: these purges do not block.
    """
    from datetime import timedelta

    records = []
    for tenant in departed_tenants(conn, departed_before=as_of - timedelta(days=after_days)):
        records.append(
            purge_tenant(
                conn,
                tenant,
                key=key,
                purged_by=purged_by,
                purged_at=as_of,
                reason="departed",
                blocks_return=False,
            )
        )
    return records


def blocked_hashes(conn: psycopg.Connection) -> set[str]:
    """The hashes of tenants purged on request and not readmitted."""
    rows = conn.execute(_BLOCKED).fetchall()
    return {row[0] for row in rows}


async def ablocked_hashes(conn: psycopg.AsyncConnection) -> set[str]:
    """`blocked_hashes` for asyncio (discovery)."""
    cur = await conn.execute(_BLOCKED)
    return {row[0] for row in await cur.fetchall()}


_BLOCKED = "select tenant_hash from ops.purges where blocks_return and readmitted_at is null"


def readmit(conn: psycopg.Connection, tenant_id: str, *, key: str, readmitted_by: str, at: datetime) -> int:
    """Lift the block a purge on request put on `tenant_id`; returns how many purge records it lifted."""
    with conn.transaction():
        return conn.execute(
            """
            update ops.purges set readmitted_at = %s, readmitted_by = %s
            where tenant_hash = %s and blocks_return and readmitted_at is null
            """,
            (at, readmitted_by, tenant_hash(key, tenant_id)),
        ).rowcount
