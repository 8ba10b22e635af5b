"""Partner-side directory objects: GDAP relationships, contracts, and Partner Center customers.

API (JSON-ready dicts; lists are in portfolio order):
- `delegated_admin_relationship(relationship, now)` → microsoft.graph.delegatedAdminRelationship (or the
  derived resellerDelegatedAdminRelationship when an indirect provider is involved), with `@odata.type` and
  `@odata.etag` as in Microsoft's example; None before the relationship was created.
- `delegated_admin_relationships(portfolio, now)` → every relationship of every customer, history included
  (terminated and expired ones stay listed, as in Graph).
- `access_assignment(assignment, relationship, now)` / `access_assignments(customer, relationship, now)` →
  microsoft.graph.delegatedAdminAccessAssignment of one relationship, oldest first (none before approval).
- `contract(customer)` / `contracts(portfolio, now)` → microsoft.graph.contract for customers Partner Center
  lists that the partner can administer (DAP or an active GDAP relationship).
- `partner_center_customer(customer, now, by_id=False)` / `partner_center_customers(portfolio, now)` →
  Partner Center `Customer` objects; `allowDelegatedAccess` only on GET-by-id, as documented. Departed
  customers drop off the list at `departed_at` (their GDAP relationships are terminated then).
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from emulator.data.determinism import stable_fraction, stable_uuid
from emulator.data.portfolio import AccessAssignment, Customer, GdapRelationship, Portfolio
from emulator.data.timestamps import iso7, to_us

_AUTO_EXTEND = "P180D"
_NO_AUTO_EXTEND = "PT0S"


def _transitions(relationship: GdapRelationship, now: datetime) -> list[datetime]:
    moments = [relationship.created]
    if relationship.activated is not None:
        moments.append(relationship.activated)
    if relationship.end is not None:
        if relationship.auto_extend:
            end = relationship.end
            while end <= now:  # each automatic 180-day extension modifies the relationship
                moments.append(end)
                end += timedelta(days=180)
        else:
            moments += [relationship.end - timedelta(days=30), relationship.end]
    if relationship.terminated_at is not None:
        moments.append(relationship.terminated_at)
    return [m for m in moments if m <= now]


def _etag(entity: GdapRelationship | AccessAssignment, modified: datetime) -> str:
    # Graph's GDAP etags are base64 of a quoted Cosmos-style version: '"xxxxxxxx-0000-0200-0000-<hex time>0000"'.
    prefix = int(stable_fraction(0, entity.id, "etag") * 0xFFFFFFFF)
    version = f"'\"{prefix:08x}-0000-0200-0000-{int(modified.timestamp()):08x}0000\"'"
    return 'W/"' + base64.b64encode(version.encode()).decode() + '"'


def delegated_admin_relationship(relationship: GdapRelationship, now: datetime) -> dict[str, Any] | None:
    """The relationship as Graph lists it at `now`, or None if it did not exist yet."""
    if now < relationship.created:
        return None
    status = relationship.status_at(now)
    modified = max(_transitions(relationship, now))
    if status == "terminated" and relationship.terminated_at is not None:
        end: datetime | None = relationship.terminated_at
    else:
        end = relationship.end_at(now)
    reseller = relationship.reseller_indirect_provider is not None
    activated = relationship.activated is not None and relationship.activated <= now
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.resellerDelegatedAdminRelationship"
        if reseller
        else "#microsoft.graph.delegatedAdminRelationship",
        "@odata.etag": _etag(relationship, modified),
        "id": relationship.id,
        "displayName": relationship.display_name,
        "duration": f"P{relationship.duration_days}D",
        "customer": {
            "tenantId": relationship.customer_tenant_id,
            "displayName": relationship.customer_display_name,
        },
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": role} for role in relationship.role_ids]},
        "status": status,
        "autoExtendDuration": _AUTO_EXTEND if relationship.auto_extend else _NO_AUTO_EXTEND,
        "createdDateTime": iso7(to_us(relationship.created)),
        "lastModifiedDateTime": iso7(to_us(modified)),
        "activatedDateTime": iso7(to_us(relationship.activated))
        if activated and relationship.activated
        else None,
        "endDateTime": iso7(to_us(end)) if end is not None and activated else None,
    }
    if reseller:
        body["isPartnerConsentPending"] = status == "approvalPending"
        body["indirectProviderTenantId"] = relationship.reseller_indirect_provider
    return body


def delegated_admin_relationships(portfolio: Portfolio, now: datetime) -> list[dict[str, Any]]:
    """Every GDAP relationship of the partner that exists at `now`."""
    found = []
    for customer in portfolio:
        for relationship in customer.gdap:
            body = delegated_admin_relationship(relationship, now)
            if body is not None:
                found.append(body)
    return found


def access_assignment(
    assignment: AccessAssignment, relationship: GdapRelationship, now: datetime
) -> dict[str, Any] | None:
    """The assignment as Graph lists it at `now`, or None if it did not exist yet."""
    status = assignment.status_at(relationship, now)
    if status is None:
        return None
    modified = assignment.modified_at(relationship, now)
    return {
        "@odata.type": "#microsoft.graph.delegatedAdminAccessAssignment",
        "@odata.etag": _etag(assignment, modified),
        "id": assignment.id,
        "status": status,
        "createdDateTime": iso7(to_us(assignment.created)),
        "lastModifiedDateTime": iso7(to_us(modified)),
        "accessContainer": {"accessContainerId": assignment.group_id, "accessContainerType": "securityGroup"},
        "accessDetails": {"unifiedRoles": [{"roleDefinitionId": role} for role in assignment.role_ids]},
    }


def access_assignments(
    customer: Customer, relationship: GdapRelationship, now: datetime
) -> list[dict[str, Any]]:
    """Every access assignment of one of the customer's relationships that exists at `now`."""
    found = (access_assignment(a, relationship, now) for a in customer.assignments_of(relationship))
    return [body for body in found if body is not None]


def contract(customer: Customer) -> dict[str, Any]:
    """microsoft.graph.contract for a customer (customerId is an Edm.Guid: the tenant id)."""
    return {
        "id": stable_uuid(0, customer.tenant_id, "contract"),
        "contractType": "ResellerPartner",
        "customerId": customer.tenant_id,
        "defaultDomainName": customer.default_domain,
        "displayName": customer.company_name,
    }


def contracts(portfolio: Portfolio, now: datetime) -> list[dict[str, Any]]:
    """Contracts of listed customers the partner can administer at `now` (DAP or active GDAP)."""
    return [contract(c) for c in portfolio.listed_customers(now) if c.has_delegated_access(now)]


def partner_center_customer(customer: Customer, now: datetime, by_id: bool = False) -> dict[str, Any]:
    """A Partner Center Customer; `allowDelegatedAccess` is only returned when getting one by id."""
    body: dict[str, Any] = {
        "id": customer.tenant_id,
        "commerceId": customer.commerce_id,
        "companyProfile": {
            "tenantId": customer.tenant_id,
            "domain": customer.default_domain,
            "companyName": customer.company_name,
            "attributes": {"objectType": "CustomerCompanyProfile"},
        },
        "relationshipToPartner": customer.relationship,
    }
    if by_id:
        body["allowDelegatedAccess"] = customer.has_delegated_access(now)
    body["attributes"] = {"objectType": "Customer"}
    return body


def partner_center_customers(portfolio: Portfolio, now: datetime) -> list[dict[str, Any]]:
    """Customers Partner Center lists at `now` (departed ones are gone), in a stable order."""
    return [partner_center_customer(c, now) for c in portfolio.listed_customers(now)]
