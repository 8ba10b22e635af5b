"""The rules that live in the warehouse (migration 0006), each defined once and read by the extraction and by dbt:
access classification, which customers a run extracts, and coverage."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from smart_office.extract.discovery import record_discovery, relationship_facts
from smart_office.extract.runs import TenantOutcome, coverage, record_outcomes, start_run
from smart_office.extract.shard import shard_tenants
from smart_office.warehouse.migrations import migrate

SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def rel(status: str, *roles: str, end: str | None = "2027-01-01T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return {
        "status": status,
        "endDateTime": end,
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
        **extra,
    }


@pytest.fixture
def conn(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        migrate(connection)
        yield connection


def _classify(conn: psycopg.Connection, relationships: list[dict[str, Any]], dap: bool) -> tuple[Any, ...]:
    facts = [relationship_facts(r) for r in relationships]
    row = conn.execute("select * from ops.classify_customer_access(%s, %s)", (Jsonb(facts), dap)).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize(
    ("relationships", "contract", "state", "security"),
    [
        ([rel("active", SECURITY_READER, HELPDESK)], True, "gdap", True),
        ([rel("expiring", SECURITY_READER)], False, "gdap", True),
        ([rel("active", HELPDESK)], True, "gdap_no_security_role", False),
        ([rel("active", HELPDESK)], False, "gdap_no_security_role", False),
        ([], True, "dap", False),
        ([rel("expired", SECURITY_READER)], True, "dap", False),
        ([rel("approvalPending", SECURITY_READER)], False, "gdap_pending", False),
        ([rel("terminated", SECURITY_READER), rel("expired", HELPDESK)], False, "gdap_expired", False),
        ([], False, "none", False),
        ([rel("active", HELPDESK), rel("active", SECURITY_READER.upper())], False, "gdap", True),
        ([{"status": None, "accessDetails": "odd"}], False, "gdap_expired", False),
    ],
)
def test_access_is_classified_from_relationships_and_contracts(
    conn: psycopg.Connection, relationships: list[dict[str, Any]], contract: bool, state: str, security: bool
) -> None:
    got_state, _, _, got_security = _classify(conn, relationships, contract)
    assert (got_state, got_security) == (state, security)


def test_the_deciding_relationship_is_the_one_ending_last(conn: psycopg.Connection) -> None:
    assert _classify(
        conn,
        [
            rel("active", SECURITY_READER, end="2027-01-01T00:00:00Z"),
            rel("expiring", SECURITY_READER, end="2027-03-01T00:00:00Z"),
            rel("active", HELPDESK, end="2028-01-01T00:00:00Z"),
        ],
        False,
    ) == ("gdap", "expiring", datetime(2027, 3, 1, tzinfo=UTC), True)
    # Only ended relationships: the one that ended (or changed) last, whatever the order Graph listed them in.
    ended = [
        rel("terminated", end=None, lastModifiedDateTime="2026-10-01T00:00:00Z"),
        rel("expired", end="2026-06-01T00:00:00Z"),
    ]
    expected = ("gdap_expired", "terminated", None, False)
    assert _classify(conn, ended, False) == expected
    assert _classify(conn, list(reversed(ended)), False) == expected


def _record(conn_url: str, run_id: str, customers: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        aconn = await psycopg.AsyncConnection.connect(conn_url, autocommit=True)
        try:
            result = await record_discovery(aconn, run_id=run_id, customers=customers, **kwargs)
        finally:
            await aconn.close()
        return result.as_dict()

    return asyncio.run(run())


def _customer(tenant: str) -> dict[str, Any]:
    return {"id": tenant, "companyProfile": {"tenantId": tenant, "companyName": f"Company {tenant[-1]}"}}


TENANTS = [f"00000000-0000-4000-8000-00000000000{i}" for i in range(1, 7)]


def test_planner_and_coverage_read_one_rule_of_which_customers_are_extracted(
    conn: psycopg.Connection, warehouse_url: str
) -> None:
    gdap, dap, no_role, excluded, departing, pending = TENANTS
    relationships = [
        {**rel("active", SECURITY_READER), "customer": {"tenantId": gdap}},
        {**rel("active", HELPDESK), "customer": {"tenantId": no_role}},
        {**rel("active", SECURITY_READER), "customer": {"tenantId": excluded}},
        {**rel("active", SECURITY_READER), "customer": {"tenantId": departing}},
        {**rel("approvalPending"), "customer": {"tenantId": pending}},
    ]
    common = {"relationships": relationships, "dap_tenants": {dap}, "excluded": frozenset({excluded})}
    start_run(conn, "run-1", dag_id=None, dag_run_id=None, logical_date=NOW - timedelta(days=1))
    first = _record(
        warehouse_url, "run-1", [_customer(t) for t in TENANTS], seen_at=NOW - timedelta(days=1), **common
    )
    assert first["extractable"] == 3
    start_run(conn, "run-2", dag_id=None, dag_run_id=None, logical_date=NOW)
    second = _record(
        warehouse_url, "run-2", [_customer(t) for t in TENANTS if t != departing], seen_at=NOW, **common
    )
    assert (second["listed"], second["extractable"], second["departed"]) == (5, 2, 1)
    assert second["by_access_state"] == {"gdap": 2, "dap": 1, "gdap_no_security_role": 1, "gdap_pending": 1}

    reasons = dict(
        conn.execute(
            "select tenant_id::text, not_extractable_reason from ops.run_customers where run_id = 'run-2'"
        ).fetchall()
    )
    assert reasons == {
        gdap: None,
        dap: None,
        no_role: "gdap_no_security_role",
        excluded: "excluded",
        departing: "departed",
        pending: "gdap_pending",
    }
    planned = {t for shard in range(2) for t in shard_tenants(conn, "run-2", shard, 2)}
    assert planned == {gdap, dap}

    # The gdap customer loads; the dap customer's shard never ran.
    asyncio.run(_outcomes(warehouse_url, "run-2", gdap))
    result = coverage(conn, "run-2")
    assert (result.attempted, result.loaded) == (2, 1)
    assert result.failed_by_state == {"not_extracted": 1}
    assert result.not_extractable_by_state == {
        "gdap_no_security_role": 1,
        "excluded": 1,
        "departed": 1,
        "gdap_pending": 1,
    }
    attempted = {
        row[0]
        for row in conn.execute(
            "select tenant_id::text from ops.run_coverage where run_id = 'run-2' and outcome <> 'not_extractable'"
        )
    }
    assert attempted == planned


async def _outcomes(url: str, run_id: str, tenant: str) -> None:
    aconn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    try:
        await record_outcomes(
            aconn,
            run_id,
            [
                TenantOutcome(tenant, endpoint, "loaded", "ok", NOW, NOW)
                for endpoint in ("token", "secure_scores", "alerts_v2")
            ],
        )
    finally:
        await aconn.close()
