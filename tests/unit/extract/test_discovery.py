"""Access classification from GDAP relationships and DAP contracts."""

from __future__ import annotations

from typing import Any

import pytest

from smart_office.extract.discovery import build_records, classify_access

SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def rel(status: str, *roles: str, end: str = "2027-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "status": status,
        "endDateTime": end,
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": r} for r in roles]},
    }


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
    ],
)
def test_classify_access(
    relationships: list[dict[str, Any]], contract: bool, state: str, security: bool
) -> None:
    got_state, _, _, got_security = classify_access(relationships, contract)
    assert (got_state, got_security) == (state, security)


def test_records_join_customers_relationships_and_exclusions() -> None:
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
    records = build_records(customers, relationships, dap_tenants=set(), excluded=frozenset({"t2"}))
    assert [(r.tenant_id, r.access_state, r.is_excluded) for r in records] == [
        ("t1", "gdap", False),
        ("t2", "none", True),
    ]
    assert records[0].company_name == "Alpha"
