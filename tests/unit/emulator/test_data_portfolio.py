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
