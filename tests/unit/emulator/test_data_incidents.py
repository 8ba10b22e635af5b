"""Incidents: consistent with their alerts at every instant, redirects, $expand=alerts, filters and paging."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from emulator.data.alert_catalogue import SEVERITIES
from emulator.data.alerts import alert_dict, alerts_as_of
from emulator.data.incidents import (
    IncidentFilter,
    find_incident,
    incident_dict,
    incident_json,
    incident_page,
    incidents_as_of,
)
from emulator.data.portfolio import Portfolio
from emulator.data.timestamps import iso7

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=29, tenants=30, anchor=NOW)


@pytest.mark.parametrize("days", [-30, 0, 25])
def test_incidents_agree_with_their_alerts(portfolio, days):
    now = NOW + timedelta(days=days)
    for customer in list(portfolio)[:12]:
        by_incident = defaultdict(list)
        for state in alerts_as_of(customer, now):
            by_incident[state.skeleton.incident_id].append(alert_dict(customer, state))
        for state in incidents_as_of(customer, now):
            incident = incident_dict(customer, state)
            alerts = by_incident.pop(incident["id"], [])
            if incident["status"] == "redirected":
                assert incident["redirectIncidentId"]
                assert alerts == []
                continue
            assert alerts, incident["id"]
            assert incident["severity"] == max((a["severity"] for a in alerts), key=SEVERITIES.index)
            assert incident["createdDateTime"] == min(a["createdDateTime"] for a in alerts)
            assert incident["lastUpdateDateTime"] == max(a["lastUpdateDateTime"] for a in alerts)
            resolved = all(a["status"] == "resolved" for a in alerts)
            assert (incident["status"] == "resolved") == resolved
            if any(a["status"] == "inProgress" for a in alerts):
                assert incident["status"] == "inProgress"
            if resolved:
                assert incident["classification"] in {a["classification"] for a in alerts}
                assert incident["resolvingComment"]
            else:
                assert incident["classification"] == "unknown"
            assert incident["tenantId"] == customer.tenant_id
            assert incident["incidentWebUrl"].endswith(
                f"/incidents/{incident['id']}?tid={customer.tenant_id}"
            )
        # Alerts whose incident was created before the retention floor may outlive it; nothing else.
        for alerts in by_incident.values():
            assert all(a["incidentId"] for a in alerts)


def test_redirected_incidents_point_at_a_listed_incident(portfolio):
    redirected = 0
    for customer in portfolio:
        states = list(incidents_as_of(customer, NOW))
        ids = {s.skeleton.id for s in states}
        for state in states:
            if state.status == "redirected":
                target = incident_dict(customer, state)["redirectIncidentId"]
                assert target in ids
                redirected += 1
    assert redirected > 0


def test_expand_alerts_embeds_exactly_the_incidents_alerts(portfolio):
    customer = max(portfolio, key=lambda c: c.alert_rate)
    multi = next(s for s in incidents_as_of(customer, NOW) if len(s.alerts) > 2)
    expanded = orjson.loads(incident_json(customer, multi, expand_alerts=True))
    plain = orjson.loads(incident_json(customer, multi))
    assert "alerts" not in plain
    assert {k: v for k, v in expanded.items() if k != "alerts"} == plain
    assert [a["id"] for a in expanded["alerts"]] == [s.skeleton.id for s in multi.alerts]
    assert {a["incidentId"] for a in expanded["alerts"]} == {multi.skeleton.id}


def test_display_names_follow_defender_style(portfolio):
    names = [incident_dict(c, s)["displayName"] for c in portfolio for s in incidents_as_of(c, NOW)]
    assert any(n.endswith(" on one endpoint") for n in names)
    assert any(n.endswith(" involving one user") for n in names)
    assert any(n.startswith("Multi-stage incident involving ") for n in names)


def test_awaiting_action_is_evolvable():
    for seed in range(50, 60):
        portfolio = Portfolio(seed=seed, tenants=40, anchor=NOW)
        for customer in portfolio:
            for hours in range(0, 24 * 30, 6):
                now = NOW - timedelta(hours=hours)
                for state in incidents_as_of(
                    customer, now, IncidentFilter(status=frozenset({"awaitingAction"}))
                ):
                    assert incident_dict(customer, state)["status"] == "unknownFutureValue"
                    assert incident_dict(customer, state, include_unknown=True)["status"] == "awaitingAction"
                    return
    raise AssertionError("no incident awaiting action found")


def test_find_incident_and_cursor_paging(portfolio):
    customer = max(portfolio, key=lambda c: c.alert_rate)
    everything = [s.skeleton.id for s in incidents_as_of(customer, NOW)]
    assert find_incident(customer, everything[3], NOW).skeleton.id == everything[3]
    assert find_incident(customer, "abc", NOW) is None
    collected, after = [], None
    while True:
        page = incident_page(customer, NOW, top=50, after=after)
        collected += [i["id"] for i in orjson.loads(page.body)]
        if page.next_after is None:
            break
        after = page.next_after
    assert collected == everything


def test_incident_filters(portfolio):
    customer = max(portfolio, key=lambda c: c.alert_rate)
    everything = list(incidents_as_of(customer, NOW))
    since = NOW - timedelta(days=7)
    flt = IncidentFilter(updated_ge=since, severity=frozenset({"high", "medium"}))
    got = [s.skeleton.id for s in incidents_as_of(customer, NOW, flt)]
    want = [
        s.skeleton.id
        for s in everything
        if iso7(s.last_update_us) >= iso7(int(since.timestamp() * 1_000_000))
        and SEVERITIES[s.severity] in {"high", "medium"}
    ]
    assert got == want
    assert want
