"""GDAP access assignments in the warehouse's access rule (migration 0007): a relationship whose security roles
reach no active security group is `gdap_roles_unassigned`, not extracted and given a remedy; assignments that
were not read are unknown, never unassigned."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from smart_office.extract.discovery import record_discovery, relationship_facts
from smart_office.extract.runs import start_run
from smart_office.warehouse.migrations import migrate

SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
NOW = datetime(2026, 11, 20, 6, tzinfo=UTC)


def rel(status: str, *roles: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": extra.pop("id", f"rel-{status}-{'-'.join(r[:4] for r in roles)}"),
        "status": status,
        "endDateTime": "2027-01-01T00:00:00Z",
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
        **extra,
    }


def assignment(status: str, *roles: str, container: str = "securityGroup", n: int = 0) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "status": status,
        "accessContainer": {"accessContainerId": "group", "accessContainerType": container},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
        "lastModifiedDateTime": "2026-10-01T00:00:00Z",
    }


@pytest.fixture
def conn(warehouse_url: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(warehouse_url, autocommit=True) as connection:
        migrate(connection)
        yield connection


def _classify(
    conn: psycopg.Connection, pairs: list[tuple[dict[str, Any], list[Any] | None]]
) -> tuple[Any, ...]:
    facts = [relationship_facts(r, a) for r, a in pairs]
    row = conn.execute("select * from ops.classify_customer_access(%s, false)", (Jsonb(facts),)).fetchone()
    assert row is not None
    return (row[0], row[3])


ACTIVE = rel("active", SECURITY_READER, HELPDESK)


@pytest.mark.parametrize(
    ("pairs", "state"),
    [
        # Assigned: the security role reaches an active security group.
        ([(ACTIVE, [assignment("active", SECURITY_READER)])], "gdap"),
        (
            [(ACTIVE, [assignment("active", HELPDESK), assignment("active", GLOBAL_READER.upper(), n=1)])],
            "gdap",
        ),
        # Unknown (never read, or the read failed): not unassigned.
        ([(ACTIVE, None)], "gdap"),
        # Read, and the security roles reach nobody.
        ([(ACTIVE, [])], "gdap_roles_unassigned"),
        ([(ACTIVE, [assignment("pending", SECURITY_READER)])], "gdap_roles_unassigned"),
        ([(ACTIVE, [assignment("active", HELPDESK)])], "gdap_roles_unassigned"),
        (
            [(ACTIVE, [assignment("deleted", SECURITY_READER), assignment("error", SECURITY_READER)])],
            "gdap_roles_unassigned",
        ),
        (
            [(ACTIVE, [assignment("active", SECURITY_READER, container="unknownFutureValue")])],
            "gdap_roles_unassigned",
        ),
        (
            [(ACTIVE, ["not an object", {"status": "active", "accessDetails": "odd"}])],
            "gdap_roles_unassigned",
        ),
        # Another active relationship whose roles are assigned decides; so does one whose assignments are unknown.
        (
            [(ACTIVE, []), (rel("active", SECURITY_READER, id="b"), [assignment("active", SECURITY_READER)])],
            "gdap",
        ),
        ([(ACTIVE, []), (rel("expiring", SECURITY_READER, id="b"), None)], "gdap"),
        # Unassigned security roles are the more specific gap beside a relationship without security roles.
        (
            [(ACTIVE, []), (rel("active", HELPDESK, id="b"), [assignment("active", HELPDESK)])],
            "gdap_roles_unassigned",
        ),
        # Without a security role, assignments change nothing.
        ([(rel("active", HELPDESK), [assignment("active", HELPDESK)])], "gdap_no_security_role"),
        # Assignments of an ended relationship give nothing.
        ([(rel("expired", SECURITY_READER), [assignment("active", SECURITY_READER)])], "gdap_expired"),
    ],
)
def test_unassigned_security_roles_are_their_own_access_state(
    conn: psycopg.Connection, pairs: list[tuple[dict[str, Any], list[Any] | None]], state: str
) -> None:
    got_state, has_security_roles = _classify(conn, pairs)
    assert got_state == state
    assert has_security_roles == (state in {"gdap", "gdap_roles_unassigned"})


def test_the_state_is_not_extractable_and_has_a_remedy(conn: psycopg.Connection) -> None:
    row = conn.execute(
        "select ops.is_extractable('gdap_roles_unassigned', false, false), "
        "ops.not_extractable_reason('gdap_roles_unassigned', false, false), "
        "ops.access_remedy('gdap_roles_unassigned'), ops.access_remedy('gdap'), ops.access_remedy('dap')"
    ).fetchone()
    assert row is not None
    extractable, reason, remedy, gdap_remedy, dap_remedy = row
    assert (extractable, reason) == (False, "gdap_roles_unassigned")
    assert "Partner Center → Customers → the customer → Admin relationships" in remedy
    assert "Assign" in remedy
    assert "security group" in remedy
    assert gdap_remedy is None
    assert dap_remedy is None


TENANTS = [f"00000000-0000-4000-8000-0000000000{i:02d}" for i in range(1, 4)]


def test_discovery_lands_assignments_records_reads_and_snapshots_the_state(
    conn: psycopg.Connection, warehouse_url: str
) -> None:
    assigned, unassigned, unknown = TENANTS
    relationships = [
        {**rel("active", SECURITY_READER, id="r-assigned"), "customer": {"tenantId": assigned}},
        {**rel("active", SECURITY_READER, id="r-unassigned"), "customer": {"tenantId": unassigned}},
        {**rel("active", SECURITY_READER, id="r-unknown"), "customer": {"tenantId": unknown}},
    ]
    assignments = {
        "r-assigned": [assignment("active", SECURITY_READER, n=1)],
        "r-unassigned": [assignment("active", HELPDESK, n=2)],
    }
    start_run(conn, "run-1", dag_id=None, dag_run_id=None, logical_date=NOW)

    async def run() -> dict[str, Any]:
        aconn = await psycopg.AsyncConnection.connect(warehouse_url, autocommit=True)
        try:
            result = await record_discovery(
                aconn,
                run_id="run-1",
                customers=[{"id": t, "companyProfile": {"tenantId": t}} for t in TENANTS],
                relationships=relationships,
                dap_tenants=set(),
                excluded=frozenset(),
                seen_at=NOW,
                assignments=assignments,
                assignments_unknown=1,
            )
        finally:
            await aconn.close()
        return result.as_dict()

    result = asyncio.run(run())
    assert result["by_access_state"] == {"gdap": 2, "gdap_roles_unassigned": 1}
    assert (result["extractable"], result["assignments_unknown"]) == (2, 1)
    states = dict(
        conn.execute(
            "select tenant_id::text, not_extractable_reason from ops.run_customers where run_id = 'run-1'"
        ).fetchall()
    )
    assert states == {assigned: None, unassigned: "gdap_roles_unassigned", unknown: None}
    landed = conn.execute(
        "select tenant_id::text, entity_id from raw.gdap_access_assignments order by entity_id"
    ).fetchall()
    assert landed == [
        (assigned, assignments["r-assigned"][0]["id"]),
        (unassigned, assignments["r-unassigned"][0]["id"]),
    ]
    reads = conn.execute(
        "select relationship_id, assignment_ids from ops.gdap_access_assignment_reads order by relationship_id"
    ).fetchall()
    assert reads == [
        ("r-assigned", [assignments["r-assigned"][0]["id"]]),
        ("r-unassigned", [assignments["r-unassigned"][0]["id"]]),
    ]
