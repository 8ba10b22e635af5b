"""GDAP relationships and contracts over HTTPS: shape of Microsoft's example, paging, filters, limits, tenancy."""

from __future__ import annotations

import pytest

from emulator.data.directory_objects import contracts, delegated_admin_relationships
from tests.integration.emulator.graph_support import GraphCaller, portfolio_of
from tests.support.emulator import DEFAULT_NOW, DEFAULT_SEED, DEFAULT_TENANTS

pytestmark = pytest.mark.integration

PORTFOLIO, NOW = portfolio_of(seed=DEFAULT_SEED, tenants=DEFAULT_TENANTS, now=DEFAULT_NOW)
GDAP = "/v1.0/tenantRelationships/delegatedAdminRelationships"
CONTRACTS = "/v1.0/contracts"
# Keys of the items in Microsoft's example (examples/graph_v1_tenantRelationships_delegatedAdminRelationships_list.json).
EXAMPLE_KEYS = [
    "@odata.type",
    "@odata.etag",
    "id",
    "displayName",
    "duration",
    "customer",
    "accessDetails",
    "status",
    "autoExtendDuration",
    "createdDateTime",
    "lastModifiedDateTime",
    "activatedDateTime",
    "endDateTime",
]
RESELLER_EXTRA = ["isPartnerConsentPending", "indirectProviderTenantId"]


@pytest.fixture
def graph(emulator, partner, session) -> GraphCaller:
    return GraphCaller(emulator, partner, session)


def test_relationships_look_like_microsofts_example_and_page_by_top(graph: GraphCaller, emulator) -> None:
    pages = list(graph.pages(emulator.partner_tenant_id, f"{GDAP}?$top=5"))
    items = [item for page in pages for item in page["value"]]
    expected = delegated_admin_relationships(PORTFOLIO, NOW)
    assert items == expected
    assert [len(p["value"]) for p in pages][:-1] == [5] * (len(pages) - 1)
    assert (
        pages[0]["@odata.context"]
        == f"{emulator.graph}/v1.0/tenantRelationships/$metadata#delegatedAdminRelationships"
    )
    for item in items:
        extra = (
            RESELLER_EXTRA
            if item["@odata.type"] == "#microsoft.graph.resellerDelegatedAdminRelationship"
            else []
        )
        assert list(item) == EXAMPLE_KEYS + extra
        assert item["@odata.etag"].startswith('W/"')
    assert {i["status"] for i in items} >= {"active", "expired"}


@pytest.mark.parametrize("prefer", [False, True])
def test_relationships_and_contracts_validate_against_the_schema(
    graph: GraphCaller, emulator, prefer: bool
) -> None:
    first = delegated_admin_relationships(PORTFOLIO, NOW)[0]["id"]
    for path in (f"{GDAP}?$top=300", f"{GDAP}/{first}", f"{CONTRACTS}?$top=999"):
        graph.ok(emulator.partner_tenant_id, path, prefer=prefer)


def test_relationship_top_is_capped_at_300(graph: GraphCaller, emulator) -> None:
    assert graph.get(emulator.partner_tenant_id, f"{GDAP}?$top=300").status_code == 200
    refused = graph.get(emulator.partner_tenant_id, f"{GDAP}?$top=301")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadRequest"
    assert "'300'" in refused.json()["error"]["message"]


def test_relationship_filters_and_count(graph: GraphCaller, emulator) -> None:
    expected = delegated_admin_relationships(PORTFOLIO, NOW)
    active = graph.ok(emulator.partner_tenant_id, f"{GDAP}?$filter=status eq 'active'&$count=true&$top=300")
    assert [i["id"] for i in active["value"]] == [i["id"] for i in expected if i["status"] == "active"]
    assert active["@odata.count"] == len(active["value"])
    tenant = expected[0]["customer"]["tenantId"]
    one = graph.ok(emulator.partner_tenant_id, f"{GDAP}?$filter=customer/tenantId eq '{tenant}'")
    assert [i["id"] for i in one["value"]] == [
        i["id"] for i in expected if i["customer"]["tenantId"] == tenant
    ]
    bad = graph.get(emulator.partner_tenant_id, f"{GDAP}?$filter=duration eq 'P730D'")
    assert bad.status_code == 400
    assert (
        bad.json()["error"]["message"]
        == "The property 'duration' cannot be used in the $filter query option."
    )


def test_relationship_by_id_and_select(graph: GraphCaller, emulator) -> None:
    first = delegated_admin_relationships(PORTFOLIO, NOW)[0]
    one = graph.ok(emulator.partner_tenant_id, f"{GDAP}/{first['id']}")
    assert {k: v for k, v in one.items() if k != "@odata.context"} == first
    assert graph.get(emulator.partner_tenant_id, f"{GDAP}/not-a-relationship").status_code == 404
    selected = graph.ok(emulator.partner_tenant_id, f"{GDAP}?$select=id,status&$top=2")["value"]
    assert all(set(i) == {"@odata.type", "@odata.etag", "id", "status"} for i in selected)


def test_only_the_partner_tenant_has_relationships_and_contracts(graph: GraphCaller) -> None:
    customer = PORTFOLIO.customer(3).tenant_id
    assert graph.ok(customer, GDAP)["value"] == []
    assert graph.ok(customer, CONTRACTS)["value"] == []


def test_relationships_need_their_permission(graph: GraphCaller, emulator) -> None:
    narrow = ["https://graph.microsoft.com/Directory.Read.All"]
    denied = graph.get(emulator.partner_tenant_id, GDAP, scopes=narrow)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "Authorization_RequestDenied")
    assert graph.get(emulator.partner_tenant_id, CONTRACTS, scopes=narrow).status_code == 200


def test_contracts_list_the_customers_the_partner_administers(graph: GraphCaller, emulator) -> None:
    pages = list(graph.pages(emulator.partner_tenant_id, f"{CONTRACTS}?$top=7"))
    items = [item for page in pages for item in page["value"]]
    assert items == contracts(PORTFOLIO, NOW)
    assert [len(p["value"]) for p in pages][:-1] == [7] * (len(pages) - 1)
    administered = {c.tenant_id for c in PORTFOLIO if c.is_listed(NOW) and c.has_delegated_access(NOW)}
    assert {i["customerId"] for i in items} == administered
    assert PORTFOLIO.customer(20).tenant_id not in administered  # a customer without delegated access


def test_contract_filters_and_limits(graph: GraphCaller, emulator) -> None:
    partner = emulator.partner_tenant_id
    target = contracts(PORTFOLIO, NOW)[4]
    by_id = graph.ok(partner, f"{CONTRACTS}?$filter=customerId eq {target['customerId']}")["value"]
    assert by_id == [target]
    prefix = target["displayName"][:3]
    started = graph.ok(partner, f"{CONTRACTS}?$filter=startswith(displayName,'{prefix}')")["value"]
    assert target in started
    assert all(c["displayName"].lower().startswith(prefix.lower()) for c in started)
    too_big = graph.get(partner, f"{CONTRACTS}?$top=1000")
    assert (too_big.status_code, too_big.json()["error"]["code"]) == (400, "Request_BadRequest")
    unsupported = graph.get(partner, f"{CONTRACTS}?$filter=contractType eq 'ResellerPartner'")
    assert (unsupported.status_code, unsupported.json()["error"]["code"]) == (400, "Request_UnsupportedQuery")


def test_data_faults_apply_to_relationships(graph: GraphCaller, emulator) -> None:
    partner = emulator.partner_tenant_id
    graph.token(partner)
    emulator.add_fault(kind="empty_page", service="graph", endpoint="delegatedAdminRelationships", count=1)
    pages = list(graph.pages(partner, f"{GDAP}?$top=300"))
    assert pages[0]["value"] == []
    assert [i["id"] for p in pages for i in p["value"]] == [
        i["id"] for i in delegated_admin_relationships(PORTFOLIO, NOW)
    ]
    emulator.add_fault(kind="nextlink_loop", service="graph", endpoint="contracts", count=1)
    looped = graph.ok(partner, CONTRACTS)
    assert looped["@odata.nextLink"] == f"{emulator.graph}{CONTRACTS}"
