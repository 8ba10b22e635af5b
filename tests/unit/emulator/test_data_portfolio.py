"""Portfolio additions used by the data generator: licence history, and the admin summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.data.portfolio import PLANS, UPGRADED_FROM, Portfolio
from emulator.data.summary import summary
from emulator.data.timestamps import DAY, from_us, iso0, iso3, iso7, to_us

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=43, tenants=500, anchor=NOW)


def test_some_customers_upgraded_their_plan_around_the_anchor(portfolio):
    upgraded = [c for c in portfolio if c.previous_plan is not None]
    eligible = [c for c in portfolio if c.plan.name in UPGRADED_FROM]
    assert 0.08 * len(eligible) <= len(upgraded) <= 0.25 * len(eligible)
    for customer in upgraded:
        assert customer.previous_plan.name == UPGRADED_FROM[customer.plan.name]
        assert customer.customer_since < customer.plan_changed_at
        assert NOW - timedelta(days=151) <= customer.plan_changed_at <= NOW + timedelta(days=61)
    assert all(c.plan_changed_at is None for c in portfolio if c.previous_plan is None)


def test_services_and_alert_sources_follow_the_licence_history(portfolio):
    customer = next(c for c in portfolio if c.previous_plan is not None)
    before = customer.plan_changed_at - timedelta(seconds=1)
    assert set(customer.services_at(before)) >= set(customer.previous_plan.services)
    assert set(customer.services_at(customer.plan_changed_at)) == set(customer.services)
    assert set(customer.alert_sources_at(before)) >= set(customer.previous_plan.alert_sources)
    assert customer.alert_sources_at(customer.plan_changed_at) == customer.alert_sources
    steady = next(c for c in portfolio if c.previous_plan is None)
    assert steady.services_at(NOW - timedelta(days=900)) == steady.services


def test_customers_carry_the_anchor(portfolio):
    assert {c.anchor for c in portfolio} == {portfolio.anchor}


def test_summary_counts_add_up(portfolio):
    result = summary(portfolio, NOW)
    assert result["tenants"] == 500
    assert sum(result["by_plan"].values()) == 500
    assert sum(result["by_access"].values()) == 500
    assert set(result["by_plan"]) <= {p.name for p in PLANS}
    assert result["listed"] + result["departed"] <= 500
    assert result["can_read_security"] <= result["with_delegated_access"] <= result["listed"]
    assert result["seats"]["total"] == sum(c.seats for c in portfolio if c.is_listed(NOW))
    upgrades = result["licence_upgrades"]
    assert upgrades["done"] + upgrades["upcoming"] == sum(c.previous_plan is not None for c in portfolio)
    assert result["alerts_per_day_estimate"] == pytest.approx(
        sum(c.alert_rate for c in portfolio if c.can_read_security(NOW)), abs=0.1
    )


@pytest.mark.parametrize(
    ("moment", "seven", "three", "zero"),
    [
        (
            datetime(2021, 4, 27, 12, 19, 27, 721130, tzinfo=UTC),
            "2021-04-27T12:19:27.7211304Z",
            "2021-04-27T12:19:27.721Z",
            "2021-04-27T12:19:27Z",
        ),
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00.0000000Z", "2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z"),
    ],
)  # fmt: skip
def test_timestamps_render_in_graph_styles(moment, seven, three, zero):
    us = to_us(moment)
    assert (iso7(us), iso3(us), iso0(us)) == (seven, three, zero)
    assert from_us(us) == moment
    assert us % DAY == (moment - moment.replace(hour=0, minute=0, second=0, microsecond=0)) // timedelta(
        microseconds=1
    )


def test_gdap_relationships_are_renewed_so_a_year_later_most_access_remains(portfolio):
    from emulator.data.directory_objects import delegated_admin_relationships

    readable_now = sum(c.can_read_security(NOW) for c in portfolio)
    year_later = NOW + timedelta(days=365)
    readable_later = sum(c.can_read_security(year_later) for c in portfolio)
    # Partners renew expiring relationships; some lapse and a few customers leave, but not half the book.
    assert 0.85 * readable_now <= readable_later < readable_now
    # Renewals are created after the anchor, so what Graph lists at the emulator's start is unchanged.
    listed = delegated_admin_relationships(portfolio, NOW)
    assert all(r["createdDateTime"] <= iso7(to_us(NOW)) for r in listed)
    assert len(delegated_admin_relationships(portfolio, year_later)) > len(listed)


def test_a_renewal_takes_over_before_its_predecessor_ends(portfolio):
    # Only renewals are created after the anchor; each follows the relationship it replaces.
    renewed = [
        (old, new)
        for c in portfolio
        for old, new in zip(c.gdap, c.gdap[1:], strict=False)
        if new.created > NOW and c.departed_at is None
    ]
    assert renewed
    for old, new in renewed:
        assert new.created <= old.end
        assert new.role_ids == old.role_ids
        assert new.customer_tenant_id == old.customer_tenant_id
        # The day the old one expires, the new one already grants access.
        assert old.status_at(old.end) == "expired"
        assert new.is_active(old.end + timedelta(days=3))


def test_customers_who_leave_get_no_renewal_after_they_left(portfolio):
    departed = [c for c in portfolio if c.departed_at is not None]
    assert departed
    for customer in departed:
        assert all(r.created < customer.departed_at for r in customer.gdap)


def test_direct_tenants_are_deterministic_unlisted_and_without_delegated_access(portfolio):
    direct = portfolio.direct_tenants
    again = Portfolio(seed=43, tenants=5, anchor=NOW).direct_tenants
    # The portfolio's size does not matter.
    assert [d.tenant_id for d in direct] == [d.tenant_id for d in again]
    assert len(direct) == 3
    assert {d.tenant_id for d in direct}.isdisjoint(c.tenant_id for c in portfolio)
    for tenant in direct:
        assert tenant.is_direct
        assert not tenant.is_listed(NOW)
        assert not tenant.has_delegated_access(NOW)
        assert tenant.alert_sources  # generated like customers: posture and alerts to read
        assert portfolio.customer_by_tenant_id(tenant.tenant_id) is tenant
    assert all(not c.is_direct for c in portfolio)
