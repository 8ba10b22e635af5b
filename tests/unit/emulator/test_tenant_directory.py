from __future__ import annotations

from datetime import UTC, datetime

from emulator.data.portfolio import Portfolio
from emulator.tenants import TenantDirectory, is_guid


def _directory() -> TenantDirectory:
    return TenantDirectory(Portfolio(7, 10, datetime(2026, 11, 2, 9, tzinfo=UTC)))


def test_tenants_resolve_by_id_and_by_any_of_their_domains() -> None:
    tenants = _directory()
    partner = tenants.partner
    assert partner.is_partner
    assert tenants.resolve(partner.tenant_id.upper()) == partner
    assert tenants.resolve(partner.default_domain.upper()) == partner
    customer = tenants.portfolio.customer(3)
    for name in (customer.tenant_id, customer.default_domain, customer.custom_domain):
        found = tenants.resolve(name)
        assert found is not None
        assert found.customer == customer
        assert found.display_name == customer.company_name


def test_unknown_names_resolve_to_none() -> None:
    tenants = _directory()
    assert tenants.resolve("00000000-0000-4000-8000-000000000000") is None
    assert tenants.resolve("nobody.onmicrosoft.com") is None


def test_regions_are_deterministic() -> None:
    assert _directory().by_id(_directory().portfolio.customer(2).tenant_id).region_scope in {
        "NA",
        "EU",
        "AS",
        "OC",
    }
    assert _directory().partner.region_scope == _directory().partner.region_scope
    assert is_guid("11111111-2222-4333-8444-555555555555")
    assert not is_guid("contoso.com")
