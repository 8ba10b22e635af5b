"""Every entity the data generator emits validates against Microsoft's CSDL (emulator.fidelity)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.data.alerts import alert_dict, alerts_as_of
from emulator.data.directory_objects import contracts, delegated_admin_relationships
from emulator.data.incidents import incident_dict, incidents_as_of
from emulator.data.portfolio import Portfolio
from emulator.data.profiles import control_profiles
from emulator.data.securescore import secure_scores
from emulator.fidelity import SchemaRegistry

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.load()


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    # Seed with E5 and Defender for Cloud tenants, so every source and evidence subtype is exercised.
    return Portfolio(seed=3, tenants=40, anchor=NOW)


def _issues(registry, objects, type_name, include_unknown):
    found = []
    for obj in objects:
        found += registry.validate(obj, type_name, include_unknown_enum_members=include_unknown)
    return found


def test_secure_scores_validate(registry, portfolio):
    records = [r for c in portfolio for r in secure_scores(c, NOW)[:2]]
    assert _issues(registry, records, "microsoft.graph.secureScore", False) == []


def test_control_profiles_validate(registry, portfolio):
    profiles = [p for c in list(portfolio)[:5] for p in control_profiles(c, NOW + timedelta(days=365))]
    assert _issues(registry, profiles, "microsoft.graph.secureScoreControlProfile", False) == []


@pytest.mark.parametrize("include_unknown", [False, True])
def test_alerts_validate_with_and_without_the_prefer_header(registry, portfolio, include_unknown):
    states = [(c, s) for c in portfolio for s in alerts_as_of(c, NOW)]
    sample = states[::5] + [(c, s) for c, s in states if s.skeleton.source == "microsoftDefenderForCloud"]
    alerts = [alert_dict(c, s, include_unknown) for c, s in sample]
    sources = {a["serviceSource"] for a in alerts}
    assert ("unknownFutureValue" in sources) is not include_unknown
    evidence_types = {e["@odata.type"] for a in alerts for e in a["evidence"]}
    assert len(evidence_types) >= 12
    assert _issues(registry, alerts, "microsoft.graph.security.alert", include_unknown) == []


@pytest.mark.parametrize("include_unknown", [False, True])
def test_incidents_validate_including_expanded_alerts(registry, portfolio, include_unknown):
    incidents = [
        incident_dict(c, s, include_unknown, expand_alerts=True)
        for c in portfolio
        for s in list(incidents_as_of(c, NOW))[:15]
    ]
    for incident in incidents:
        issues = registry.validate_response(
            f"/v1.0/security/incidents/{incident['id']}?$expand=alerts",
            incident,
            include_unknown_enum_members=include_unknown,
        )
        assert issues == []


def test_gdap_relationships_and_contracts_validate(registry, portfolio):
    relationships = delegated_admin_relationships(portfolio, NOW)
    assert _issues(registry, relationships, "microsoft.graph.delegatedAdminRelationship", False) == []
    assert _issues(registry, contracts(portfolio, NOW), "microsoft.graph.contract", False) == []


def test_the_validator_would_catch_a_broken_alert(registry, portfolio):
    customer = portfolio.customer(0)
    alert = alert_dict(customer, next(iter(alerts_as_of(customer, NOW))))
    alert["severity"] = "critical"
    assert registry.validate(alert, "microsoft.graph.security.alert", include_unknown_enum_members=False)
