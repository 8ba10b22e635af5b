"""Landing raw JSON: COPY a page into a temporary table, then merge it into the raw table on its natural key.

A payload is identified by (tenant, entity id, sha256 of its canonical JSON). Landing the same payload
twice is a no-op; a changed payload (an alert that moved to `resolved`) is a new version next to the old
one. Watermarks move in the same transaction as the data they cover.

Nothing is lost:
- an item PostgreSQL cannot store as sent (NUL characters inside strings, bytes that are not UTF-8) lands
  with those characters replaced by U+FFFD, its exact original bytes in `original_payload` and what was
  replaced in `repairs`; its hash is the hash of the original, so its identity does not depend on the repair;
- an item that cannot be an entity at all (not an object, no id) goes to raw.quarantine with its bytes and
  the reason, and the page reports the oldest such item's change time (`hold_before`) so the caller can
  keep the watermark from moving past it: when the source sends it again, corrected, it is read again.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from smart_office.payloads import NonFiniteNumber


@dataclass(frozen=True, slots=True)
class Entity:
    """A raw table and how to find the natural key and the source's change time in its payloads."""

    table: str
    id_field: str
    updated_field: str | None


ENTITIES: dict[str, Entity] = {
    "partner_center_customers": Entity("partner_center_customers", "id", None),
    "gdap_relationships": Entity("gdap_relationships", "id", "lastModifiedDateTime"),
    "gdap_access_assignments": Entity("gdap_access_assignments", "id", "lastModifiedDateTime"),
    "secure_scores": Entity("secure_scores", "id", "createdDateTime"),
    "secure_score_control_profiles": Entity("secure_score_control_profiles", "id", "lastModifiedDateTime"),
    "alerts_v2": Entity("alerts_v2", "id", "lastUpdateDateTime"),
    "incidents": Entity("incidents", "id", "lastUpdateDateTime"),
}


REPLACEMENT = "\ufffd"
# Longer ids cannot be an index key (a btree entry holds about 2,700 bytes); no Graph id comes close.
MAX_ID_LENGTH = 1_000


@dataclass(slots=True)
class LandResult:
    received: int = 0
    new: int = 0
    quarantined: int = 0
    repaired: int = 0
    max_updated_at: datetime | None = None
    hold_before: datetime | None = None

    def add(self, other: LandResult) -> None:
        self.received += other.received
        self.new += other.new
        self.quarantined += other.quarantined
        self.repaired += other.repaired
        self.max_updated_at = _latest(self.max_updated_at, other.max_updated_at)
        self.hold_before = _earliest(self.hold_before, other.hold_before)


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    entity_id: str | None
    reason: str
    error: str
    payload: bytes
    updated_at: datetime | None


@dataclass(slots=True)
class PreparedPage:
    """COPY-ready text for the items that land, plus what must go to quarantine."""

    copy_text: bytearray = field(default_factory=bytearray)
    rows: int = 0
    repaired: int = 0
    quarantine: list[QuarantinedItem] = field(default_factory=list)
    max_updated_at: datetime | None = None
    hold_before: datetime | None = None


def prepare(entity: Entity, tenant_id: str, items: list[Any], *, lenient: bool = False) -> PreparedPage:
    """Serialise items canonically, hash them, repair what PostgreSQL cannot store, set aside non-entities.

    `lenient`: the items come from a page parsed leniently (GraphPage.salvaged), which may hold bare
    NaN/Infinity tokens; those land as strings, and the item's original bytes keep the token.
    """
    page = PreparedPage()
    tenant = _copy_field(tenant_id)
    for item in items:
        updated = (
            _timestamp(item.get(entity.updated_field))
            if isinstance(item, dict) and entity.updated_field
            else None
        )
        if not isinstance(item, dict):
            page.quarantine.append(
                QuarantinedItem(
                    None, "not_an_object", f"item is a {type(item).__name__}", _lenient(item), None
                )
            )
            continue
        entity_id = item.get(entity.id_field)
        if not usable_id(entity_id):
            page.quarantine.append(
                QuarantinedItem(
                    None, "missing_id", f"no usable string `{entity.id_field}`", _lenient(item), updated
                )
            )
            page.hold_before = _earliest(page.hold_before, updated)
            continue
        repairs: list[str] = []
        original: bytes | None = None
        if lenient and _has_non_finite(item):
            original = _canonical_lenient(item)
            repairs.append("non_finite_number")
        try:
            data = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            fixed = _replace_in_strings(item, _unpaired_surrogate, REPLACEMENT)
            if fixed != item:
                # Lone surrogates: the source sent bytes that are not UTF-8 inside a string.
                original = original or _canonical_lenient(item)
                item = fixed
                repairs.append("invalid_utf8")
            data = _canonical(item)
        if b"\\u0000" in data:
            # jsonb cannot hold U+0000. Decide on the parsed value, not on the bytes: `\\u0000` in the JSON
            # may be an escaped backslash followed by the text "u0000".
            fixed = _replace_in_strings(item, "\x00", REPLACEMENT)
            if fixed != item:
                original = original or data
                item = fixed
                repairs.append("nul_character")
                data = _canonical(item)
        page.max_updated_at = _latest(page.max_updated_at, updated)
        digest = hashlib.sha256(original if original is not None else data).hexdigest()
        page.copy_text += b"\t".join(
            (
                tenant,
                _copy_field(entity_id),
                data.replace(b"\\", b"\\\\"),
                b"\\\\x" + digest.encode(),
                updated.isoformat().encode() if updated else b"\\N",
                b"\\\\x" + original.hex().encode() if original is not None else b"\\N",
                ("{" + ",".join(repairs) + "}").encode() if repairs else b"\\N",
            )
        )
        page.copy_text += b"\n"
        page.rows += 1
        page.repaired += bool(repairs)
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
        watermark: tuple[str, datetime | None] | None = None,
        read_through: datetime | None = None,
        hold_before: datetime | None = None,
        lenient: bool = False,
    ) -> LandResult:
        """Land one page; with `watermark=(endpoint, value)` also advance that watermark, atomically, and with
        `read_through` the point in time that endpoint is now read completely to (the collection's last page).

        The watermark never passes a quarantined item: not this page's (see `LandResult.hold_before`), nor
        `hold_before`, the earliest one of the collection's earlier pages. Neither ever moves back.
        """
        entity = ENTITIES[entity_name]
        page = prepare(entity, tenant_id, items, lenient=lenient)
        result = LandResult(
            received=len(items),
            quarantined=len(page.quarantine),
            repaired=page.repaired,
            max_updated_at=page.max_updated_at,
            hold_before=page.hold_before,
        )
        async with self._conn.transaction():
            if page.rows:
                result.new = await self._merge(entity, page)
            for bad in page.quarantine:
                await self.quarantine(
                    endpoint or entity_name,
                    tenant_id,
                    bad.reason,
                    bad.error,
                    bad.payload,
                    entity_id=bad.entity_id,
                    updated_at=bad.updated_at,
                    in_transaction=True,
                )
            if watermark is not None:
                name, value = watermark
                held = _earliest(hold_before, page.hold_before)
                if value is not None and held is not None:
                    value = min(value, held)
                await self._advance_watermark(tenant_id, name, value, read_through)
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
        updated_at: datetime | None = None,
        in_transaction: bool = False,
    ) -> None:
        """Keep what could not be landed, with why, so nothing is silently lost (one row per distinct item)."""
        query = """
            insert into raw.quarantine (
                run_id, tenant_id, endpoint, entity_id, reason, error, payload_bytes, payload_hash,
                source_updated_at, last_run_id, last_received_at
            )
            values (%s, %s, %s, %s, %s, %s, %s, sha256(%s), %s, %s, now())
            on conflict (
                coalesce(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid), endpoint, reason, payload_hash
            ) do update set last_run_id = excluded.last_run_id, last_received_at = excluded.last_received_at
        """
        params = (
            self.run_id,
            tenant_id,
            endpoint,
            entity_id,
            reason,
            error[:2000],
            payload,
            payload,
            updated_at,
            self.run_id,
        )
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
            # INSERT ... SELECT keeps a value compressed as it was in the staging table, whatever the raw
            # column's method: staging must compress like the raw tables (lz4 when the server has it), or
            # every landed payload stays pglz.
            compression = sql.SQL("compression lz4" if await server_has_lz4(self._conn) else "")
            await self._conn.execute(
                sql.SQL(
                    """
                    create temp table if not exists _landing (
                        tenant_id uuid, entity_id text, payload jsonb {compression}, payload_hash bytea,
                        source_updated_at timestamptz, original_payload bytea, repairs text[]
                    ) on commit delete rows
                    """
                ).format(compression=compression)
            )
            self._temp_ready = True
        async with self._conn.cursor() as cur:
            async with cur.copy(
                "copy _landing (tenant_id, entity_id, payload, payload_hash, source_updated_at, original_payload, "
                "repairs) from stdin"
            ) as copy:
                await copy.write(bytes(page.copy_text))
            await cur.execute(
                sql.SQL(
                    """
                    insert into raw.{table} (
                        tenant_id, entity_id, payload, payload_hash, source_updated_at, original_payload, repairs, run_id
                    )
                    select tenant_id, entity_id, payload, payload_hash, source_updated_at, original_payload, repairs, %s
                    from _landing
                    on conflict (tenant_id, entity_id, payload_hash) do nothing
                    """
                ).format(table=sql.Identifier(entity.table)),
                (self.run_id,),
            )
            return cur.rowcount

    async def _advance_watermark(
        self, tenant_id: str, endpoint: str, value: datetime | None, read_through: datetime | None = None
    ) -> None:
        # greatest() skips nulls: a page with no change time, or a backfill, never moves either point back.
        await self._conn.execute(
            """
            insert into ops.watermarks (tenant_id, endpoint, watermark, read_through, run_id)
            values (%s, %s, %s, %s, %s)
            on conflict (tenant_id, endpoint) do update
            set watermark = greatest(ops.watermarks.watermark, excluded.watermark),
                read_through = greatest(ops.watermarks.read_through, excluded.read_through),
                run_id = excluded.run_id,
                updated_at = now()
            """,
            (tenant_id, endpoint, value, read_through, self.run_id),
        )


# Whether this PostgreSQL was built with lz4 (Debian's is; the embedded `pgserver` one is not).
LZ4_AVAILABLE = (
    "select coalesce(bool_or('lz4' = any(enumvals)), false) from pg_settings "
    "where name = 'default_toast_compression'"
)


async def server_has_lz4(conn: psycopg.AsyncConnection) -> bool:
    """Whether this PostgreSQL was built with lz4 (Debian's is; the embedded `pgserver` one is not)."""
    cur = await conn.execute(LZ4_AVAILABLE)
    row = await cur.fetchone()
    return bool(row and row[0])


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
        # In UTC: Python takes offsets up to ±24 h, PostgreSQL's timestamptz only up to ±15:59.
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    except (ValueError, OverflowError):
        return None


def usable_id(value: Any) -> bool:
    """Whether a value can be an entity's key: a non-empty string an index and the text type can hold."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH and _storable(value)


def _canonical(item: Any) -> bytes:
    """Sorted-key, compact JSON of an item PostgreSQL can store (no lone surrogates left in it)."""
    try:
        return orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # Integers beyond 64 bits are valid JSON (jsonb takes them as numeric); orjson refuses them with a
        # plain TypeError, not always its JSONEncodeError.
        return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _lenient(item: Any) -> bytes:
    """Bytes of an item that orjson refused (e.g. lone surrogates), keeping the original bytes where possible."""
    return json.dumps(item, ensure_ascii=False, default=str).encode("utf-8", "surrogateescape")


def _canonical_lenient(item: Any) -> bytes:
    """The canonical form of an item as it came: undecodable bytes and bare NaN/Infinity tokens included."""
    text = json.dumps(
        _restore_non_finite(item), ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    )
    return text.encode("utf-8", "surrogateescape")


def _has_non_finite(value: Any) -> bool:
    if isinstance(value, NonFiniteNumber):
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_has_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_non_finite(v) for v in value)
    return False


def _restore_non_finite(value: Any) -> Any:
    """Markers back to the floats json.dumps writes as bare NaN/Infinity (for the original bytes only)."""
    if isinstance(value, NonFiniteNumber):
        return value.as_float()
    if isinstance(value, dict):
        return {k: _restore_non_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore_non_finite(v) for v in value]
    return value


def _unpaired_surrogate(text: str) -> str:
    # surrogateescape maps an undecodable byte to U+DC80..U+DCFF; orjson refuses any lone surrogate.
    return "".join(REPLACEMENT if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)


def _replace_in_strings(value: Any, old: str | Any, new: str) -> Any:
    """`value` with `old` replaced in every string, keys included (`old` may be a str -> str function)."""
    if isinstance(value, str):
        return old(value) if callable(old) else value.replace(old, new)
    if isinstance(value, dict):
        return {_replace_in_strings(k, old, new): _replace_in_strings(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_in_strings(v, old, new) for v in value]
    return value


def _storable(text: str) -> bool:
    """Whether PostgreSQL's text type takes the string (no NUL, valid UTF-8)."""
    return "\x00" not in text and not any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
