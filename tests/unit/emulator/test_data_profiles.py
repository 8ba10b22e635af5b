"""secureScoreControlProfiles: every control for every tenant, with state updates consistent with the scores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.data.catalogue import CONTROL_BY_ID, CONTROLS
from emulator.data.portfolio import Portfolio
from emulator.data.posture import posture_for
from emulator.data.profiles import control_profiles
from emulator.data.timestamps import from_us

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
NEVER_UPDATED = [
    {"assignedTo": None, "comment": None, "state": "Default", "updatedBy": None, "updatedDateTime": None}
]


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=17, tenants=60, anchor=NOW)


def test_every_catalogue_control_is_listed_for_every_tenant(portfolio):
    for customer in list(portfolio)[:5]:
        profiles = control_profiles(customer, NOW)
        assert [p["id"] for p in profiles] == [c.id for c in CONTROLS]
        assert {p["azureTenantId"] for p in profiles} == {customer.tenant_id}


def test_profile_fields_come_from_the_catalogue(portfolio):
    customer = portfolio.customer(0)
    profile = next(p for p in control_profiles(customer, NOW) if p["id"] == "ExternalSharingExpiration")
    control = CONTROL_BY_ID["ExternalSharingExpiration"]
    assert profile["title"] == control.title
    assert profile["maxScore"] == control.max_score
    assert profile["rank"] == control.rank
    assert profile["deprecated"] is False
    assert profile["controlCategory"] == "Data"
    assert profile["service"] == "SPO"
    assert profile["vendorInformation"]["provider"] == "SecureScore"
    # The 2018 URL's tenant placeholders are filled in.
    prefix = customer.default_domain.split(".")[0]
    assert profile["actionUrl"].startswith(f"https://{prefix}-admin.sharepoint.com/")
    assert "%" not in profile["actionUrl"]


def test_deprecated_controls_are_still_listed_and_flagged(portfolio):
    profiles = {p["id"]: p for p in control_profiles(portfolio.customer(1), NOW)}
    assert profiles["AdminMFA"]["deprecated"] is True
    assert profiles["AdminMFAV2"]["deprecated"] is False


def test_compliance_information_is_shaped_like_the_docs_example(portfolio):
    profile = next(p for p in control_profiles(portfolio.customer(0), NOW) if p["id"] == "DLPEnabled")
    assert profile["complianceInformation"] == [
        {"certificationName": "ISO 27001:2013", "certificationControls": [{"name": "A.8.2.1", "url": ""}]}
    ]


def test_untouched_controls_show_the_single_default_entry(portfolio):
    profiles = control_profiles(portfolio.customer(2), NOW)
    untouched = [p for p in profiles if p["lastModifiedDateTime"] is None]
    assert len(untouched) > len(profiles) * 0.8
    assert all(p["controlStateUpdates"] == NEVER_UPDATED for p in untouched)


def test_state_updates_appear_in_the_profile_from_the_moment_they_are_made(portfolio):
    seen = 0
    for customer in portfolio:
        posture = posture_for(customer)
        for control_id, track in posture.tracks.items():
            if not track.updates:
                continue
            first = track.updates[0]
            moment = from_us(first.at_us)
            before = _profile(customer, control_id, moment - timedelta(seconds=1))
            after = _profile(customer, control_id, moment)
            assert before["controlStateUpdates"] == NEVER_UPDATED
            update = after["controlStateUpdates"][0]
            assert update["state"] == first.state
            assert update["updatedBy"] == first.updated_by
            assert update["comment"] == first.comment
            assert update["updatedDateTime"].startswith(moment.strftime("%Y-%m-%dT%H:%M"))
            assert after["lastModifiedDateTime"] == update["updatedDateTime"]
            seen += 1
    assert seen >= 10


def test_states_use_graph_vocabulary(portfolio):
    states = {
        u["state"]
        for customer in portfolio
        for p in control_profiles(customer, NOW + timedelta(days=400))
        for u in p["controlStateUpdates"]
    }
    assert states <= {"Default", "Ignored", "ThirdParty", "Reviewed"}
    assert {"Ignored", "ThirdParty"} <= states


def _profile(customer, control_id, when):
    return next(p for p in control_profiles(customer, when) if p["id"] == control_id)
