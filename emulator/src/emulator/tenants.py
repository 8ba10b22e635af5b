"""Tenants the emulated cloud knows: the partner's and every customer's, by id or by domain name."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

from emulator.data.determinism import rng_for
from emulator.data.portfolio import Customer, Portfolio

_REGIONS = ("NA", "NA", "NA", "EU", "EU", "AS", "OC")
_COUNTRY_BY_REGION = {
    "NA": ("US", "CA"),
    "EU": ("GB", "DE", "NL", "FR"),
    "AS": ("SG", "JP"),
    "OC": ("AU", "NZ"),
}


@dataclass(frozen=True, slots=True)
class Tenant:
    """One Entra tenant. `customer` is None for the partner's own tenant."""

    tenant_id: str
    display_name: str
    default_domain: str
    domains: tuple[str, ...]
    region_scope: str
    country: str
    customer: Customer | None

    @property
    def is_partner(self) -> bool:
        return self.customer is None


def is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


class TenantDirectory:
    """Resolves `{tenant}` path segments (GUID or domain) to tenants."""

    def __init__(self, portfolio: Portfolio) -> None:
        self.portfolio = portfolio
        p = portfolio.partner
        region = self._region(p.tenant_id)
        self.partner = Tenant(
            tenant_id=p.tenant_id,
            display_name=p.display_name,
            default_domain=p.default_domain,
            domains=(p.default_domain,),
            region_scope=region[0],
            country=region[1],
            customer=None,
        )
        self._by_domain: dict[str, str] | None = None
        self._by_id: dict[str, Tenant] = {}
        self._lock = threading.Lock()

    def _region(self, tenant_id: str) -> tuple[str, str]:
        rng = rng_for(self.portfolio.seed, "tenant-region", tenant_id)
        region = rng.choice(_REGIONS)
        return region, rng.choice(_COUNTRY_BY_REGION[region])

    def by_id(self, tenant_id: str) -> Tenant | None:
        """The tenant with this id (cached: Graph asks on every request)."""
        tenant_id = tenant_id.lower()
        if tenant_id == self.partner.tenant_id:
            return self.partner
        found = self._by_id.get(tenant_id)
        if found is not None:
            return found
        customer = self.portfolio.customer_by_tenant_id(tenant_id)
        if customer is None:
            return None
        region, country = self._region(customer.tenant_id)
        found = self._by_id[tenant_id] = Tenant(
            tenant_id=customer.tenant_id,
            display_name=customer.company_name,
            default_domain=customer.default_domain,
            domains=(customer.default_domain, customer.custom_domain),
            region_scope=region,
            country=country,
            customer=customer,
        )
        return found

    def resolve(self, name: str) -> Tenant | None:
        """The tenant for a GUID or one of its domain names; None when unknown (AADSTS90002)."""
        if is_guid(name):
            return self.by_id(name)
        domain = name.lower()
        if domain == self.partner.default_domain:
            return self.partner
        if self._by_domain is None:
            with self._lock:
                if self._by_domain is None:
                    mapping: dict[str, str] = {}
                    for customer in (*self.portfolio, *self.portfolio.direct_tenants):
                        mapping.setdefault(customer.default_domain.lower(), customer.tenant_id)
                        mapping.setdefault(customer.custom_domain.lower(), customer.tenant_id)
                    self._by_domain = mapping
        tenant_id = self._by_domain.get(domain)
        return self.by_id(tenant_id) if tenant_id else None
