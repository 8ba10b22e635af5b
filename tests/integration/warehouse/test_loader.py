"""COPY-then-merge landing: idempotent, versioned, quarantining what PostgreSQL would reject."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

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


async def test_rejects_go_to_quarantine_and_the_rest_lands(conn: psycopg.AsyncConnection) -> None:
    page = [
        _alert("good", "new", "2026-11-01T10:00:00Z"),
        _alert("nul", "new", "2026-11-01T10:00:00Z", title="bad\u0000title"),
        _alert(
            "utf8", "new", "2026-11-01T10:00:00Z", title="caf\udce9"
        ),  # an undecodable byte, surrogate-escaped
        {"status": "new"},
        "not an object",
    ]
    result = await RawLoader(conn, "run-1").land("alerts_v2", TENANT, page, endpoint="/security/alerts_v2")
    assert (result.received, result.new, result.quarantined) == (5, 1, 4)
    cur = await conn.execute(
        "select entity_id, reason, endpoint, payload_bytes from raw.quarantine order by quarantine_id"
    )
    rows = await cur.fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("nul", "nul_character"),
        ("utf8", "invalid_utf8"),
        (None, "missing_id"),
        (None, "not_an_object"),
    ]
    assert {r[2] for r in rows} == {"/security/alerts_v2"}
    assert b"\xe9" in bytes(rows[1][3])  # the original byte is kept, not replaced
    assert await _count(conn, "alerts_v2") == 1


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
