"""Discovery's records: customers joined with their relationships and contracts, read as staging reads them.

The classification itself is the warehouse's (`ops.classify_customer_access`):
tests/integration/warehouse/test_business_rules.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from smart_office.extract.discovery import build_records, relationship_facts

SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"


def rel(status: str, *roles: str, end: str = "2027-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "status": status,
        "endDateTime": end,
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
    }


def test_records_join_customers_relationships_contracts_and_exclusions() -> None:
    customers = [
        {
            "id": "a",
            "companyProfile": {"tenantId": "T1", "companyName": "Alpha", "domain": "alpha.test"},
            "relationshipToPartner": "reseller",
        },
        {
            "id": "b",
            "companyProfile": {"tenantId": "t2", "companyName": "Beta"},
            "relationshipToPartner": "advisor",
        },
        {"id": "a-dup", "companyProfile": {"tenantId": "t1"}},
    ]
    relationships = [{**rel("active", SECURITY_READER), "customer": {"tenantId": "T1"}}]
    records = build_records(customers, relationships, dap_tenants={"t2"}, excluded=frozenset({"t2"}))
    assert [(r.tenant_id, r.has_dap_contract, r.is_excluded, len(r.relationships)) for r in records] == [
        ("t1", False, False, 1),
        ("t2", True, True, 0),
    ]
    assert records[0].company_name == "Alpha"
    assert records[0].relationships[0] == {
        "status": "active",
        "end_at": "2027-01-01T00:00:00Z",
        "last_modified_at": None,
        "role_ids": [SECURITY_READER],
    }


@pytest.mark.parametrize(
    ("relationship", "expected"),
    [
        # Graph's 7 fractional digits and offsets are passed as sent: PostgreSQL parses them as staging does.
        (
            {"status": "active", "endDateTime": "2027-01-01T10:00:00.1234567Z"},
            {"status": "active", "end_at": "2027-01-01T10:00:00.1234567Z"},
        ),
        # No offset is UTC, as in staging; a date alone is its midnight.
        ({"endDateTime": "2027-01-01T10:00:00"}, {"end_at": "2027-01-01T10:00:00+00:00"}),
        ({"endDateTime": "2027-01-01"}, {"end_at": "2027-01-01T00:00:00+00:00"}),
        # Graph's "not set" (0001-01-01), impossible days and other types are no time at all.
        ({"endDateTime": "0001-01-01T00:00:00Z"}, {"end_at": None}),
        ({"endDateTime": "2027-02-30T00:00:00Z"}, {"end_at": None}),
        ({"endDateTime": 20270101, "status": 4}, {"end_at": None, "status": "4"}),
        ({"status": {"value": "active"}}, {"status": None}),
        # Roles: only string ids, wherever the structure breaks.
        (
            {"accessDetails": {"unifiedRoles": [{"roleDefinitionId": "x"}, {"roleDefinitionId": 7}, "y"]}},
            {"role_ids": ["x"]},
        ),
        ({"accessDetails": {"unifiedRoles": "x"}}, {"role_ids": []}),
        ({"accessDetails": None}, {"role_ids": []}),
    ],
)
def test_relationship_facts_are_read_as_staging_reads_them(
    relationship: dict[str, Any], expected: dict[str, Any]
) -> None:
    facts = relationship_facts(relationship)
    assert {key: facts[key] for key in expected} == expected
