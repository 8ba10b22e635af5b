"""GDAP access assignments over HTTPS: Microsoft's shape (the CSDL), paging and $filter by the shared OData code,
the item, 404s, tenancy, permission, `$batch`, and the seeded gaps that make security reads 403."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from emulator.data.directory_objects import access_assignments
from emulator.data.portfolio import SECURITY_READ_ROLE_IDS, Customer, GdapRelationship, Portfolio
from tests.integration.emulator.graph_support import GraphCaller, portfolio_of
from tests.support.emulator import DEFAULT_NOW, DEFAULT_SEED, DEFAULT_TENANTS

pytestmark = pytest.mark.integration

PORTFOLIO, NOW = portfolio_of(seed=DEFAULT_SEED, tenants=DEFAULT_TENANTS, now=DEFAULT_NOW)
GDAP = "/v1.0/tenantRelationships/delegatedAdminRelationships"
KEYS = [
    "@odata.type",
    "@odata.etag",
    "id",
    "status",
    "createdDateTime",
    "lastModifiedDateTime",
    "accessContainer",
    "accessDetails",
]


@pytest.fixture
def graph(emulator, partner, session) -> GraphCaller:
    return GraphCaller(emulator, partner, session)


def _current(portfolio: Portfolio = PORTFOLIO) -> list[tuple[Customer, GdapRelationship]]:
    """Each customer's relationships that are active at NOW."""
    return [(c, r) for c in portfolio for r in c.gdap if r.is_active(NOW)]


def _with_assignments() -> tuple[Customer, GdapRelationship]:
    return next((c, r) for c, r in _current() if len(access_assignments(c, r, NOW)) >= 2)


def test_assignments_look_like_microsofts_and_page_by_top(graph: GraphCaller, emulator) -> None:
    customer, relationship = _with_assignments()
    path = f"{GDAP}/{relationship.id}/accessAssignments"
    pages = list(graph.pages(emulator.partner_tenant_id, f"{path}?$top=1"))
    items = [i for p in pages for i in p["value"]]
    assert items == access_assignments(customer, relationship, NOW)
    assert [len(p["value"]) for p in pages] == [1] * len(items)
    assert pages[0]["@odata.context"] == (
        f"{emulator.graph}/v1.0/$metadata#tenantRelationships/delegatedAdminRelationships"
        f"('{relationship.id}')/accessAssignments"
    )
    for item in items:
        assert list(item) == KEYS
        assert item["@odata.type"] == "#microsoft.graph.delegatedAdminAccessAssignment"
        assert item["@odata.etag"].startswith('W/"')
        assert item["status"] == "active"
        assert item["accessContainer"]["accessContainerType"] == "securityGroup"
        assert {r["roleDefinitionId"] for r in item["accessDetails"]["unifiedRoles"]} <= set(
            relationship.role_ids
        )
    # Together they assign every role of the relationship (this customer has no gap).
    assigned = {r["roleDefinitionId"] for i in items for r in i["accessDetails"]["unifiedRoles"]}
    assert assigned == set(relationship.role_ids)


@pytest.mark.parametrize("prefer", [False, True])
def test_assignments_validate_against_the_schema(graph: GraphCaller, emulator, prefer: bool) -> None:
    customer, relationship = _with_assignments()
    first = access_assignments(customer, relationship, NOW)[0]
    path = f"{GDAP}/{relationship.id}/accessAssignments"
    graph.ok(emulator.partner_tenant_id, f"{path}?$top=300", prefer=prefer)
    one = graph.ok(emulator.partner_tenant_id, f"{path}/{first['id']}", prefer=prefer)
    assert {k: v for k, v in one.items() if k != "@odata.context"} == first
    assert one["@odata.context"].endswith("/accessAssignments/$entity")


def test_assignment_filters_select_count_and_limits(graph: GraphCaller, emulator) -> None:
    customer, relationship = _with_assignments()
    expected = access_assignments(customer, relationship, NOW)
    partner = emulator.partner_tenant_id
    path = f"{GDAP}/{relationship.id}/accessAssignments"
    group = expected[0]["accessContainer"]["accessContainerId"]
    by_group = graph.ok(partner, f"{path}?$filter=accessContainer/accessContainerId eq '{group}'&$count=true")
    assert by_group["value"] == [expected[0]]
    assert by_group["@odata.count"] == 1
    assert graph.ok(partner, f"{path}?$filter=status eq 'pending'")["value"] == []
    selected = graph.ok(partner, f"{path}?$select=id,status")["value"]
    assert all(set(i) == {"@odata.type", "@odata.etag", "id", "status"} for i in selected)
    refused = graph.get(partner, f"{path}?$top=301")
    assert refused.status_code == 400
    assert "'300'" in refused.json()["error"]["message"]
    bad = graph.get(partner, f"{path}?$filter=status eq 'approved'")
    assert bad.status_code == 400  # not a member of delegatedAdminAccessAssignmentStatus
    unknown = graph.get(partner, f"{path}?$select=roles")
    assert unknown.status_code == 400


def test_unknown_relationships_assignments_and_other_tenants_are_not_found(
    graph: GraphCaller, emulator
) -> None:
    customer, relationship = _with_assignments()
    partner = emulator.partner_tenant_id
    missing = graph.get(partner, f"{GDAP}/not-a-relationship/accessAssignments")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NotFound")
    item = graph.get(partner, f"{GDAP}/{relationship.id}/accessAssignments/not-an-assignment")
    assert item.status_code == 404
    # A customer tenant is no partner: it has no relationships, so none of their assignments.
    assert graph.get(customer.tenant_id, f"{GDAP}/{relationship.id}/accessAssignments").status_code == 404
    narrow = ["https://graph.microsoft.com/Directory.Read.All"]
    denied = graph.get(partner, f"{GDAP}/{relationship.id}/accessAssignments", scopes=narrow)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "Authorization_RequestDenied")


def test_assignments_are_served_inside_batch(graph: GraphCaller, emulator) -> None:
    pairs = _current()[:20]
    body = {
        "requests": [
            {
                "id": str(n),
                "method": "GET",
                "url": f"/tenantRelationships/delegatedAdminRelationships/{r.id}/accessAssignments",
            }
            for n, (_, r) in enumerate(pairs)
        ]
    }
    response = graph.post(emulator.partner_tenant_id, "/v1.0/$batch", body)
    assert response.status_code == 200
    answers = {a["id"]: a for a in response.json()["responses"]}
    for n, (customer, relationship) in enumerate(pairs):
        assert answers[str(n)]["status"] == 200
        assert answers[str(n)]["body"]["value"] == access_assignments(customer, relationship, NOW)


def test_faults_named_for_assignments_reach_them_inside_batch(graph: GraphCaller, emulator) -> None:
    pairs = _current()[:2]
    graph.token(emulator.partner_tenant_id)
    emulator.add_fault(
        kind="http_error", service="graph", endpoint="accessAssignments", count=1, params={"status": 503}
    )
    body = {
        "requests": [
            {
                "id": str(n),
                "method": "GET",
                "url": f"/tenantRelationships/delegatedAdminRelationships/{r.id}/accessAssignments",
            }
            for n, (_, r) in enumerate(pairs)
        ]
    }
    answers = graph.post(emulator.partner_tenant_id, "/v1.0/$batch", body).json()["responses"]
    assert sorted(a["status"] for a in answers) == [200, 503]


def _security_assigned(customer: Customer, relationship: GdapRelationship) -> bool:
    return any(
        a["status"] == "active"
        and SECURITY_READ_ROLE_IDS & {r["roleDefinitionId"] for r in a["accessDetails"]["unifiedRoles"]}
        for a in access_assignments(customer, relationship, NOW)
    )


def test_the_portfolio_has_each_gap_and_a_gap_makes_security_reads_403(graph: GraphCaller) -> None:
    portfolio = Portfolio(42, 1000, NOW)  # large enough to hold every kind of gap
    gaps = Counter(c.assignment_gap for c in portfolio)
    assert set(gaps) == {None, "unassigned", "pending", "security_roles_unassigned"}
    assert gaps[None] > 0.85 * len(portfolio)
    for customer in portfolio:
        security = [r for r in customer.gdap if r.grants_security_read(NOW)]
        if not security:
            continue
        states = {a["status"] for r in security for a in access_assignments(customer, r, NOW)}
        expected: dict[str | None, Any] = {
            None: {"active"},
            "unassigned": set(),
            "pending": {"pending"},
            "security_roles_unassigned": {"active"},
        }
        assert states == expected[customer.assignment_gap], customer.index
        assigned = any(_security_assigned(customer, r) for r in security)
        assert assigned == (customer.assignment_gap is None)
        assert customer.can_read_security(NOW) == (assigned and customer.has_delegated_access(NOW))
    # The admin API says which customers have a gap (tests and benchmarks pick tenants by it).
    rows = {r["tenant_id"]: r["assignment_gap"] for r in graph.handle.customers()}
    assert rows == {c.tenant_id: c.assignment_gap for c in PORTFOLIO}
    gaps = Counter(c.assignment_gap for c in PORTFOLIO if c.assignment_gap)
    assert graph.handle.admin_get("/portfolio")["assignment_gaps"] == dict(sorted(gaps.items()))
    # Over HTTPS: a customer whose security roles reach no group reads /security as a 403.
    gapped = next(
        c for c in PORTFOLIO if c.assignment_gap and c.has_delegated_access(NOW) and c.baked_fault is None
    )
    denied = graph.get(gapped.tenant_id, "/v1.0/security/secureScores?$top=1")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
