"""COPY-then-merge landing: idempotent, versioned, lossless (repairing what PostgreSQL cannot store, quarantining
what cannot be an entity)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import psycopg
import pytest

from smart_office.warehouse.loader import RawLoader, read_watermark
from smart_office.warehouse.migrations import migrate

pytestmark = pytest.mark.anyio

TENANT = "00000000-0000-4000-8000-000000000001"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def conn(warehouse_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    with psycopg.connect(warehouse_url) as sync:
        migrate(sync)
    aconn = await psycopg.AsyncConnection.connect(warehouse_url, autocommit=True)
    try:
        yield aconn
    finally:
        await aconn.close()


def _alert(alert_id: str, status: str, updated: str, **extra: object) -> dict[str, object]:
    return {"id": alert_id, "status": status, "lastUpdateDateTime": updated, "severity": "high", **extra}


async def _count(conn: psycopg.AsyncConnection, table: str) -> int:
    cur = await conn.execute(f"select count(*) from raw.{table}")  # noqa: S608 - fixed test table names
    return (await cur.fetchone())[0]


async def test_relanding_is_a_noop_and_changes_become_versions(conn: psycopg.AsyncConnection) -> None:
    loader = RawLoader(conn, "run-1")
    page = [_alert("a1", "new", "2026-11-01T10:00:00Z"), _alert("a2", "new", "2026-11-01T11:00:00.1234567Z")]
    first = await loader.land("alerts_v2", TENANT, page)
    again = await loader.land("alerts_v2", TENANT, page)
    assert (first.received, first.new, again.new) == (2, 2, 0)
    # Same content with keys in another order is the same version.
    reordered = [dict(reversed(list(page[0].items())))]
    assert (await loader.land("alerts_v2", TENANT, reordered)).new == 0
    updated = await RawLoader(conn, "run-2").land(
        "alerts_v2", TENANT, [_alert("a1", "resolved", "2026-11-02T09:00:00Z")]
    )
    assert updated.new == 1
    cur = await conn.execute(
        "select payload->>'status', run_id, source_updated_at from raw.alerts_v2 where entity_id = 'a1' "
        "order by source_updated_at"
    )
    rows = await cur.fetchall()
    assert [(r[0], r[1]) for r in rows] == [("new", "run-1"), ("resolved", "run-2")]
    assert rows[1][2] == datetime(2026, 11, 2, 9, tzinfo=UTC)
    assert updated.max_updated_at == datetime(2026, 11, 2, 9, tzinfo=UTC)


async def test_an_item_sent_twice_in_one_page_or_one_run_lands_once(conn: psycopg.AsyncConnection) -> None:
    # Pages read ahead by $skip can repeat an item that moved between them while they were read.
    loader = RawLoader(conn, "run-1")
    incident = {"id": "i1", "status": "active", "lastUpdateDateTime": "2026-11-01T10:00:00Z"}
    other = {"id": "i2", "status": "active", "lastUpdateDateTime": "2026-11-01T11:00:00Z"}
    first = await loader.land("incidents", TENANT, [incident, other, dict(reversed(list(incident.items())))])
    again = await loader.land("incidents", TENANT, [incident])
    assert (first.received, first.new, again.new) == (3, 2, 0)
    assert await _count(conn, "incidents") == 2


async def test_unknown_fields_and_copy_special_characters_survive(conn: psycopg.AsyncConnection) -> None:
    odd = _alert(
        "id\twith\\tab\nnewline",
        "someFutureStatus",
        "2026-11-01T10:00:00Z",
        description='back\\slash "quote" \t tab',
        brandNewField={"nested": [1, 2.5, None, True]},
    )
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, [odd])
    assert result.new == 1
    cur = await conn.execute("select entity_id, payload from raw.alerts_v2")
    entity_id, payload = await cur.fetchone()
    assert entity_id == odd["id"]
    assert payload == odd


async def test_what_postgres_cannot_store_lands_repaired_with_its_original_bytes(
    conn: psycopg.AsyncConnection,
) -> None:
    page = [
        _alert("good", "new", "2026-11-01T10:00:00Z"),
        _alert("nul", "new", "2026-11-01T10:00:00Z", title="bad\u0000title", tags={"k\u0000": ["x\u0000"]}),
        # An undecodable byte, surrogate-escaped by the client's lenient decoder.
        _alert("utf8", "new", "2026-11-01T10:00:00Z", title="caf\udce9"),
        # An escaped backslash followed by the text u0000 is not a NUL: nothing to repair.
        _alert("text", "new", "2026-11-01T10:00:00Z", title="C:\\u0000"),
    ]
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page, endpoint="/security/alerts_v2")
    assert (result.received, result.new, result.quarantined, result.repaired) == (4, 4, 0, 2)
    cur = await conn.execute(
        "select entity_id, payload, repairs, original_payload, encode(payload_hash, 'hex') "
        "from raw.alerts_v2 order by entity_id"
    )
    rows = {r[0]: r[1:] for r in await cur.fetchall()}
    assert rows["good"][1:3] == (None, None)
    assert rows["text"][0]["title"] == "C:\\u0000"
    assert rows["text"][1] is None
    payload, repairs, original, digest = rows["nul"]
    assert payload["title"] == "bad\ufffdtitle"
    assert payload["tags"] == {"k\ufffd": ["x\ufffd"]}
    assert repairs == ["nul_character"]
    assert orjson.loads(bytes(original)) == page[1]  # exactly what Graph sent
    assert digest == hashlib.sha256(bytes(original)).hexdigest()
    payload, repairs, original, _ = rows["utf8"]
    assert payload["title"] == "caf\ufffd"
    assert repairs == ["invalid_utf8"]
    assert b"caf\xe9" in bytes(original)  # the undecodable byte itself, not a replacement
    # Landing the same broken item again is the same version: its identity is the original's hash.
    again = await RawLoader(conn, "run-2").land("alerts_v2", TENANT, page[1:3])
    assert again.new == 0
    assert await _count(conn, "quarantine") == 0


async def test_non_entities_are_quarantined_once_and_hold_the_watermark(
    conn: psycopg.AsyncConnection,
) -> None:
    page = [
        _alert("good", "new", "2026-11-01T12:00:00Z"),
        {"status": "new", "lastUpdateDateTime": "2026-11-01T10:00:00Z"},
        {"id": "nul\u0000id", "lastUpdateDateTime": "2026-11-01T11:00:00Z"},
        "not an object",
    ]
    loader = RawLoader(conn, "run-1")
    newest = datetime(2026, 11, 1, 12, tzinfo=UTC)
    result = await loader.land(
        "alerts_v2", TENANT, page, endpoint="/security/alerts_v2", watermark=("alerts_v2", newest)
    )
    assert (result.received, result.new, result.quarantined) == (4, 1, 3)
    assert result.max_updated_at == newest
    assert result.hold_before == datetime(2026, 11, 1, 10, tzinfo=UTC)
    # The next run reads again from the oldest item that could not land, not from the newest one seen.
    assert await read_watermark(conn, TENANT, "alerts_v2") == datetime(2026, 11, 1, 10, tzinfo=UTC)
    # An earlier page's quarantined item holds the watermark too.
    other = "00000000-0000-4000-8000-000000000002"
    await loader.land(
        "alerts_v2",
        other,
        [_alert("last-page", "new", newest.isoformat())],
        watermark=("alerts_v2", newest),
        hold_before=datetime(2026, 11, 1, 9, tzinfo=UTC),
    )
    assert await read_watermark(conn, other, "alerts_v2") == datetime(2026, 11, 1, 9, tzinfo=UTC)
    await RawLoader(conn, "run-2").land("alerts_v2", TENANT, page, endpoint="/security/alerts_v2")
    cur = await conn.execute(
        "select reason, endpoint, run_id, last_run_id, source_updated_at from raw.quarantine order by reason"
    )
    rows = await cur.fetchall()
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("missing_id", "run-1", "run-2"),
        ("missing_id", "run-1", "run-2"),
        ("not_an_object", "run-1", "run-2"),
    ]
    assert {r[1] for r in rows} == {"/security/alerts_v2"}
    assert await _count(conn, "alerts_v2") == 2  # "good" and "last-page"


async def test_watermark_moves_with_the_data_and_never_backwards(conn: psycopg.AsyncConnection) -> None:
    loader = RawLoader(conn, "run-1")
    t1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
    t0 = datetime(2026, 10, 1, 10, tzinfo=UTC)
    await loader.land("alerts_v2", TENANT, [_alert("a", "new", t1.isoformat())], watermark=("alerts_v2", t1))
    assert await read_watermark(conn, TENANT, "alerts_v2") == t1
    await loader.land("alerts_v2", TENANT, [], watermark=("alerts_v2", t0))
    assert await read_watermark(conn, TENANT, "alerts_v2") == t1


async def test_failed_landing_rolls_back_data_and_watermark(conn: psycopg.AsyncConnection) -> None:
    loader = RawLoader(conn, "run-1")
    t1 = datetime(2026, 11, 1, 10, tzinfo=UTC)
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):
        await loader.land(
            "alerts_v2", "not-a-uuid", [_alert("a", "new", t1.isoformat())], watermark=("alerts_v2", t1)
        )
    assert await _count(conn, "alerts_v2") == 0
    assert await read_watermark(conn, TENANT, "alerts_v2") is None


async def test_odd_json_a_lenient_parse_lets_through_lands_without_loss(
    conn: psycopg.AsyncConnection,
) -> None:
    import json

    from smart_office.payloads import NonFiniteNumber

    # What the Graph client's lenient parser makes of a page holding bare NaN/Infinity tokens.
    page = json.loads(
        '[{"id": "n", "score": NaN, "scores": [{"averageScore": -Infinity}]},'
        ' {"id": "big", "count": 123456789012345678901234567890}]',
        parse_constant=NonFiniteNumber,
    )
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page, lenient=True)
    assert (result.new, result.quarantined, result.repaired) == (2, 0, 1)
    cur = await conn.execute("select entity_id, payload, repairs, original_payload from raw.alerts_v2")
    rows = {r[0]: r[1:] for r in await cur.fetchall()}
    payload, repairs, original = rows["n"]
    assert payload == {"id": "n", "score": "NaN", "scores": [{"averageScore": "-Infinity"}]}
    assert repairs == ["non_finite_number"]
    assert b'"score":NaN' in bytes(original)
    assert b'"averageScore":-Infinity' in bytes(original)
    # Beyond 64 bits is still JSON, and jsonb keeps it exactly.
    payload, repairs, original = rows["big"]
    assert payload["count"] == 123456789012345678901234567890
    assert (repairs, original) == (None, None)


async def test_an_id_no_index_can_hold_is_quarantined(conn: psycopg.AsyncConnection) -> None:
    page = [_alert("x" * 5_000, "new", "2026-11-01T10:00:00Z"), _alert("ok", "new", "2026-11-01T10:00:00Z")]
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page, endpoint="/security/alerts_v2")
    assert (result.new, result.quarantined) == (1, 1)
    cur = await conn.execute("select reason from raw.quarantine")
    assert [r[0] for r in await cur.fetchall()] == ["missing_id"]


async def test_an_integer_beyond_64_bits_beside_a_nul_character_lands_repaired(
    conn: psycopg.AsyncConnection,
) -> None:
    # Found by the property test: the NUL repair re-serialised with orjson, which refuses such integers.
    page = [_alert("both", "new", "2026-11-01T10:00:00Z", title=-(2**63) - 1, threatFamilyName="a\u0000")]
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page)
    assert (result.new, result.quarantined, result.repaired) == (1, 0, 1)
    cur = await conn.execute("select payload, repairs, original_payload from raw.alerts_v2")
    payload, repairs, original = await cur.fetchone()
    assert payload["title"] == -(2**63) - 1
    assert payload["threatFamilyName"] == "a\ufffd"
    assert repairs == ["nul_character"]
    assert (
        orjson.loads(bytes(original).replace(b"-9223372036854775809", b"0"))["threatFamilyName"] == "a\u0000"
    )


async def test_change_times_postgresql_cannot_hold_as_sent_land_in_utc(conn: psycopg.AsyncConnection) -> None:
    # Found by the property test: Python reads offsets up to ±24 h, timestamptz takes ±15:59.
    page = [
        _alert("far-east", "new", "2026-11-01T10:00:00+16:00"),
        _alert("year-one", "new", "0001-01-01T00:00:00+01:00"),
    ]
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page)
    assert (result.new, result.quarantined) == (2, 0)
    cur = await conn.execute("select entity_id, source_updated_at from raw.alerts_v2 order by entity_id")
    assert await cur.fetchall() == [("far-east", datetime(2026, 10, 31, 18, tzinfo=UTC)), ("year-one", None)]
