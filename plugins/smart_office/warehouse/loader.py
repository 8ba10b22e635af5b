"""Landing raw JSON: COPY a page into a temporary table, then merge it into the raw table on its natural key.

A payload is identified by (tenant, entity id, sha256 of its canonical JSON). Landing the same payload
twice is a no-op; a changed payload (an alert that moved to `resolved`) is a new version next to the old
one. Items PostgreSQL would reject — NUL characters inside strings, undecodable bytes — or that lack an id
go to raw.quarantine with the reason; the rest of the page lands. Watermarks move in the same transaction
as the data they cover.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql


@dataclass(frozen=True, slots=True)
class Entity:
    """A raw table and how to find the natural key and the source's change time in its payloads."""

    table: str
    id_field: str
    updated_field: str | None


ENTITIES: dict[str, Entity] = {
    "partner_center_customers": Entity("partner_center_customers", "id", None),
    "gdap_relationships": Entity("gdap_relationships", "id", "lastModifiedDateTime"),
    "secure_scores": Entity("secure_scores", "id", "createdDateTime"),
    "secure_score_control_profiles": Entity("secure_score_control_profiles", "id", "lastModifiedDateTime"),
    "alerts_v2": Entity("alerts_v2", "id", "lastUpdateDateTime"),
    "incidents": Entity("incidents", "id", "lastUpdateDateTime"),
}


@dataclass(slots=True)
class LandResult:
    received: int = 0
    new: int = 0
    quarantined: int = 0
    max_updated_at: datetime | None = None

    def add(self, other: LandResult) -> None:
        self.received += other.received
        self.new += other.new
        self.quarantined += other.quarantined
        if other.max_updated_at is not None and (
            self.max_updated_at is None or other.max_updated_at > self.max_updated_at
        ):
            self.max_updated_at = other.max_updated_at


@dataclass(slots=True)
class PreparedPage:
    """COPY-ready text for the good items, plus what must go to quarantine."""

    copy_text: bytearray = field(default_factory=bytearray)
    rows: int = 0
    quarantine: list[tuple[str | None, str, str, bytes]] = field(default_factory=list)
    max_updated_at: datetime | None = None


def prepare(entity: Entity, tenant_id: str, items: list[Any]) -> PreparedPage:
    """Serialise items canonically, hash them, and sort out what PostgreSQL would reject."""
    page = PreparedPage()
    tenant = _copy_field(tenant_id)
    for item in items:
        if not isinstance(item, dict):
            page.quarantine.append(
                (None, "not_an_object", f"item is a {type(item).__name__}", _lenient(item))
            )
            continue
        entity_id = item.get(entity.id_field)
        if not isinstance(entity_id, str) or not entity_id:
            page.quarantine.append((None, "missing_id", f"no string `{entity.id_field}`", _lenient(item)))
            continue
        try:
            data = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError as exc:
            # Lone surrogates: the source sent bytes that are not UTF-8 inside a string.
            page.quarantine.append((entity_id, "invalid_utf8", str(exc), _lenient(item)))
            continue
        if b"\\u0000" in data:
            page.quarantine.append(
                (entity_id, "nul_character", "string contains \\u0000, which jsonb rejects", data)
            )
            continue
        updated = _timestamp(item.get(entity.updated_field)) if entity.updated_field else None
        if updated is not None and (page.max_updated_at is None or updated > page.max_updated_at):
            page.max_updated_at = updated
        digest = hashlib.sha256(data).hexdigest()
        page.copy_text += b"\t".join(
            (
                tenant,
                _copy_field(entity_id),
                data.replace(b"\\", b"\\\\"),
                b"\\\\x" + digest.encode(),
                updated.isoformat().encode() if updated else b"\\N",
            )
        )
        page.copy_text += b"\n"
        page.rows += 1
    return page


class RawLoader:
    """Lands pages into raw tables over one async connection, one explicit transaction per call.

    :param conn: an autocommit AsyncConnection to the migrated warehouse (so each `transaction()` is a real
        BEGIN/COMMIT, not a savepoint inside an implicit transaction).
    :param run_id: the run every landed version is attributed to.
    """

    def __init__(self, conn: psycopg.AsyncConnection, run_id: str) -> None:
        if not conn.autocommit:
            raise ValueError("RawLoader needs an autocommit connection")
        self._conn = conn
        self.run_id = run_id
        self._temp_ready = False

    async def land(
        self,
        entity_name: str,
        tenant_id: str,
        items: list[Any],
        *,
        endpoint: str | None = None,
        watermark: tuple[str, datetime] | None = None,
    ) -> LandResult:
        """Land one page; with `watermark=(endpoint, value)` also advance that watermark, atomically."""
        entity = ENTITIES[entity_name]
        page = prepare(entity, tenant_id, items)
        result = LandResult(
            received=len(items), quarantined=len(page.quarantine), max_updated_at=page.max_updated_at
        )
        async with self._conn.transaction():
            if page.rows:
                result.new = await self._merge(entity, page)
            for entity_id, reason, error, payload in page.quarantine:
                await self.quarantine(
                    endpoint or entity_name,
                    tenant_id,
                    reason,
                    error,
                    payload,
                    entity_id=entity_id,
                    in_transaction=True,
                )
            if watermark is not None:
                await self._advance_watermark(tenant_id, *watermark)
        return result

    async def quarantine(
        self,
        endpoint: str,
        tenant_id: str | None,
        reason: str,
        error: str,
        payload: bytes,
        *,
        entity_id: str | None = None,
        in_transaction: bool = False,
    ) -> None:
        """Keep what could not be landed, with why, so nothing is silently lost."""
        query = """
            insert into raw.quarantine (run_id, tenant_id, endpoint, entity_id, reason, error, payload_bytes)
            values (%s, %s, %s, %s, %s, %s, %s)
        """
        params = (self.run_id, tenant_id, endpoint, entity_id, reason, error[:2000], payload)
        if in_transaction:
            await self._conn.execute(query, params)
        else:
            async with self._conn.transaction():
                await self._conn.execute(query, params)

    async def advance_watermark(self, tenant_id: str, endpoint: str, value: datetime) -> None:
        async with self._conn.transaction():
            await self._advance_watermark(tenant_id, endpoint, value)

    async def _merge(self, entity: Entity, page: PreparedPage) -> int:
        if not self._temp_ready:
            await self._conn.execute(
                """
                create temp table if not exists _landing (
                    tenant_id uuid, entity_id text, payload jsonb, payload_hash bytea, source_updated_at timestamptz
                ) on commit delete rows
                """
            )
            self._temp_ready = True
        async with self._conn.cursor() as cur:
            async with cur.copy(
                "copy _landing (tenant_id, entity_id, payload, payload_hash, source_updated_at) from stdin"
            ) as copy:
                await copy.write(bytes(page.copy_text))
            await cur.execute(
                sql.SQL(
                    """
                    insert into raw.{table} (tenant_id, entity_id, payload, payload_hash, source_updated_at, run_id)
                    select tenant_id, entity_id, payload, payload_hash, source_updated_at, %s from _landing
                    on conflict (tenant_id, entity_id, payload_hash) do nothing
                    """
                ).format(table=sql.Identifier(entity.table)),
                (self.run_id,),
            )
            return cur.rowcount

    async def _advance_watermark(self, tenant_id: str, endpoint: str, value: datetime) -> None:
        await self._conn.execute(
            """
            insert into ops.watermarks (tenant_id, endpoint, watermark, run_id)
            values (%s, %s, %s, %s)
            on conflict (tenant_id, endpoint) do update
            set watermark = greatest(ops.watermarks.watermark, excluded.watermark),
                run_id = excluded.run_id,
                updated_at = now()
            """,
            (tenant_id, endpoint, value, self.run_id),
        )


async def read_watermark(conn: psycopg.AsyncConnection, tenant_id: str, endpoint: str) -> datetime | None:
    cur = await conn.execute(
        "select watermark from ops.watermarks where tenant_id = %s and endpoint = %s", (tenant_id, endpoint)
    )
    row = await cur.fetchone()
    return row[0] if row else None


def _copy_field(value: str) -> bytes:
    """Escape a value for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").encode()


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _lenient(item: Any) -> bytes:
    """Bytes of an item that orjson refused (e.g. lone surrogates), keeping the original bytes where possible."""
    return json.dumps(item, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")
