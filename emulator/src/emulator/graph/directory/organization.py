"""`/organization`: the caller's tenant as a microsoft.graph.organization (a collection of one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from emulator.context import EmulatorContext
from emulator.graph.app import graph_tenant
from emulator.graph.directory.listing import directory_listing, list_response
from emulator.graph.directory.times import iso
from emulator.graph.paging import context_of
from emulator.tenants import Tenant

LISTING = directory_listing(
    "organization",
    "microsoft.graph.organization",
    ("id", "countryLetterCode", "displayName", "preferredLanguage", "tenantType"),
)


def organization_object(ctx: EmulatorContext, tenant: Tenant) -> dict[str, Any]:
    created = ctx.portfolio.anchor - timedelta(days=2400)
    if tenant.customer is not None:
        created = tenant.customer.customer_since - timedelta(days=30)
    return {
        "id": tenant.tenant_id,
        "deletedDateTime": None,
        "businessPhones": [],
        "city": None,
        "country": None,
        "countryLetterCode": tenant.country,
        "createdDateTime": iso(created),
        "displayName": tenant.display_name,
        "marketingNotificationEmails": [],
        "onPremisesSyncEnabled": None,
        "partnerTenantType": "ResellerPartnerDelegatedAdmin" if tenant.is_partner else None,
        "postalCode": None,
        "preferredLanguage": "en",
        "state": None,
        "street": None,
        "tenantType": "AAD",
        "technicalNotificationMails": [],
        "assignedPlans": [],
        "provisionedPlans": [],
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": d == tenant.domains[-1],
                "isInitial": d.endswith(".onmicrosoft.com"),
                "name": d,
                "type": "Managed",
            }
            for d in tenant.domains
        ],
    }


# -- handlers (routes.json) -----------------------------------------------------------------------------------
async def list_organization(request: Request) -> Response:
    return list_response(request, LISTING, [organization_object(context_of(request), graph_tenant(request))])
