"""GDAP relationships, contracts and Partner Center customers: shapes like Microsoft's examples, over time."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta

import pytest

from emulator.data.directory_objects import (
    contract,
    contracts,
    delegated_admin_relationship,
    delegated_admin_relationships,
    partner_center_customer,
    partner_center_customers,
)
from emulator.data.portfolio import Portfolio

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
GUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# Keys of the items in Microsoft's official examples (reference/microsoft-apis/examples).
GDAP_KEYS = {
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
}
RESELLER_GDAP_KEYS = GDAP_KEYS | {"isPartnerConsentPending", "indirectProviderTenantId"}
CONTRACT_KEYS = {"contractType", "customerId", "defaultDomainName", "displayName", "id"}
PARTNER_CENTER_CUSTOMER_KEYS = {"id", "companyProfile", "relationshipToPartner", "attributes"}


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=37, tenants=300, anchor=NOW)


def test_gdap_items_have_the_keys_of_the_official_example(portfolio):
    items = delegated_admin_relationships(portfolio, NOW)
    kinds = {item["@odata.type"] for item in items}
    assert kinds == {
        "#microsoft.graph.delegatedAdminRelationship",
        "#microsoft.graph.resellerDelegatedAdminRelationship",
    }
    for item in items:
        reseller = item["@odata.type"].endswith("resellerDelegatedAdminRelationship")
        assert set(item) == (RESELLER_GDAP_KEYS if reseller else GDAP_KEYS)
        assert re.fullmatch(f"{GUID}-{GUID}", item["id"])
        assert item["id"].endswith(portfolio.partner.tenant_id)
        assert re.fullmatch(r'W/"[A-Za-z0-9+/=]+"', item["@odata.etag"])
        decoded = base64.b64decode(item["@odata.etag"][3:-1]).decode()
        assert re.fullmatch(r"'\"[0-9a-f]{8}-0000-0200-0000-[0-9a-f]{12}\"'", decoded)
        assert re.fullmatch(r"P\d+D", item["duration"])
        assert item["autoExtendDuration"] in {"P180D", "PT0S"}
        if reseller:
            assert item["isPartnerConsentPending"] == (item["status"] == "approvalPending")


def test_gdap_status_and_dates_follow_the_relationship_over_time(portfolio):
    statuses = set()
    for customer in portfolio:
        for relationship in customer.gdap:
            assert (
                delegated_admin_relationship(relationship, relationship.created - timedelta(seconds=1))
                is None
            )
            for now in (NOW - timedelta(days=90), NOW, NOW + timedelta(days=400)):
                item = delegated_admin_relationship(relationship, now)
                if item is None:
                    continue
                assert item["status"] == relationship.status_at(now)
                statuses.add(item["status"])
                assert item["lastModifiedDateTime"] >= item["createdDateTime"]
                if item["status"] == "approvalPending":
                    assert item["activatedDateTime"] is None
                    assert item["endDateTime"] is None
                if item["status"] in {"active", "expiring"}:
                    assert item["endDateTime"] > now.isoformat().replace("+00:00", "")
    assert {"active", "terminated", "approvalPending", "expired"} <= statuses


def test_etag_changes_when_the_relationship_changes(portfolio):
    relationship = next(r for c in portfolio for r in c.gdap if r.terminated_at and r.terminated_at > NOW)
    before = delegated_admin_relationship(relationship, relationship.terminated_at - timedelta(seconds=1))
    after = delegated_admin_relationship(relationship, relationship.terminated_at)
    assert before["@odata.etag"] != after["@odata.etag"]
    assert after["status"] == "terminated"
    assert after["lastModifiedDateTime"] > before["lastModifiedDateTime"]


def test_contracts_list_customers_the_partner_can_administer(portfolio):
    items = contracts(portfolio, NOW)
    expected = [c for c in portfolio if c.is_listed(NOW) and c.has_delegated_access(NOW)]
    assert [i["customerId"] for i in items] == [c.tenant_id for c in expected]
    for item, customer in zip(items, expected, strict=True):
        assert set(item) == CONTRACT_KEYS
        assert re.fullmatch(GUID, item["customerId"])
        assert item["defaultDomainName"] == customer.default_domain
        assert item["displayName"] == customer.company_name
    assert contract(expected[0]) == items[0]


def test_partner_center_customers_are_shaped_like_the_docs_and_allow_delegated_access_only_by_id(portfolio):
    items = partner_center_customers(portfolio, NOW)
    for item in items[:20]:
        assert set(item) == PARTNER_CENTER_CUSTOMER_KEYS | {"commerceId"}
        assert item["id"] == item["companyProfile"]["tenantId"]
        assert item["companyProfile"]["attributes"] == {"objectType": "CustomerCompanyProfile"}
        assert item["attributes"] == {"objectType": "Customer"}
        assert item["relationshipToPartner"] in {"reseller", "advisor"}
    customer = portfolio.customer(0)
    by_id = partner_center_customer(customer, NOW, by_id=True)
    assert by_id["allowDelegatedAccess"] is customer.has_delegated_access(NOW)
    assert "allowDelegatedAccess" not in partner_center_customer(customer, NOW)


def test_departed_customers_disappear_from_partner_center_and_lose_gdap(portfolio):
    departing = [c for c in portfolio if c.departed_at is not None and c.departed_at > c.customer_since]
    assert departing
    customer = departing[0]
    before, after = customer.departed_at - timedelta(minutes=1), customer.departed_at
    assert customer.tenant_id in {i["id"] for i in partner_center_customers(portfolio, before)}
    assert customer.tenant_id not in {i["id"] for i in partner_center_customers(portfolio, after)}
    assert customer.tenant_id not in {i["customerId"] for i in contracts(portfolio, after)}
    for relationship in customer.gdap:
        item = delegated_admin_relationship(relationship, after)
        if item is not None:
            assert item["status"] == "terminated"
