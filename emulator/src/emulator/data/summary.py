"""A summary of the emulated portfolio for `GET {admin}/portfolio` and the demo.

`summary(portfolio, now)` → JSON-ready dict: counts by plan, access situation, relationship and baked
fault; seats; licence upgrades; expected alerts per day. It touches every customer once (generated lazily
and kept by the Portfolio), nothing per day, so it stays cheap for 10,000 tenants.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from emulator.data.portfolio import Portfolio


def summary(portfolio: Portfolio, now: datetime) -> dict[str, Any]:
    """Counts and totals describing the portfolio at `now`."""
    plans: Counter[str] = Counter()
    access: Counter[str] = Counter()
    gaps: Counter[str] = Counter()
    relationships: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    seats: list[int] = []
    listed = departed = delegated = security = upgrades = upcoming_upgrades = 0
    alerts_per_day = 0.0
    for customer in portfolio:
        plans[customer.plan.name] += 1
        access[customer.access] += 1
        if customer.assignment_gap:
            gaps[customer.assignment_gap] += 1
        relationships[customer.relationship] += 1
        if customer.baked_fault:
            faults[customer.baked_fault] += 1
        if customer.plan_changed_at is not None:
            if customer.plan_changed_at <= now:
                upgrades += 1
            else:
                upcoming_upgrades += 1
        if not customer.is_listed(now):
            departed += customer.departed_at is not None and customer.departed_at <= now
            continue
        listed += 1
        seats.append(customer.seats)
        delegated += customer.has_delegated_access(now)
        if customer.can_read_security(now):
            security += 1
            alerts_per_day += customer.alert_rate
    return {
        "partner": {
            "tenant_id": portfolio.partner.tenant_id,
            "display_name": portfolio.partner.display_name,
            "default_domain": portfolio.partner.default_domain,
        },
        "seed": portfolio.seed,
        "anchor": portfolio.anchor.isoformat(),
        "fault_profile": portfolio.fault_profile,
        "tenants": len(portfolio),
        "listed": listed,
        "departed": departed,
        "with_delegated_access": delegated,
        "can_read_security": security,
        "by_plan": dict(sorted(plans.items())),
        "by_access": dict(sorted(access.items())),
        "assignment_gaps": dict(sorted(gaps.items())),
        "by_relationship": dict(sorted(relationships.items())),
        "baked_faults": dict(sorted(faults.items())),
        "licence_upgrades": {"done": upgrades, "upcoming": upcoming_upgrades},
        "seats": {
            "total": sum(seats),
            "median": statistics.median(seats) if seats else 0,
            "max": max(seats, default=0),
        },
        "alerts_per_day_estimate": round(alerts_per_day, 1),
    }
