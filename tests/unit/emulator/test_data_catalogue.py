"""The Secure Score control catalogue: the real 2018 controls plus current-era ones, applicability by plan."""

from __future__ import annotations

import csv
import re

import pytest

from emulator.data.catalogue import CONTROL_BY_ID, CONTROLS, CSV_2018, applicable_controls
from emulator.data.portfolio import PLANS

PLAN_BY_NAME = {p.name: p for p in PLANS}


def test_the_2018_csv_ships_inside_the_package():
    assert CSV_2018.parent.name == "catalogue"
    assert "emulator" in CSV_2018.parts
    with CSV_2018.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 56
    assert {r["Reference Id"] for r in rows} <= set(CONTROL_BY_ID)


@pytest.mark.parametrize(
    ("control_id", "category", "rank", "max_score", "tier", "deprecated"),
    [
        ("AdminMFA", "Identity", 1, 50.0, "Core", True),  # replaced by AdminMFAV2
        ("UserMFA", "Identity", 2, 30.0, "Core", True),
        ("MDMEnabled", "Device", 57, 20.0, "Advanced", True),  # replaced by the intune_* controls
        ("ExternalSharingContactsReview", "Data", 38, 2.0, "Defense In Depth", True),  # the CSV says so
        ("OneAdmin", "Identity", 19, 2.0, "Core", False),
        ("SPOVersioning", "Data", 36, 2.0, "Defense In Depth", False),
        ("IntegratedApps", "Data", 35, 4.0, "Defense In Depth", False),  # takes today's values
    ],
)
def test_2018_controls_keep_real_ids_and_values_with_todays_category_names(
    control_id, category, rank, max_score, tier, deprecated
):
    control = CONTROL_BY_ID[control_id]
    assert (control.category, control.rank, control.max_score, control.tier) == (
        category,
        rank,
        max_score,
        tier,
    )
    assert control.deprecated is deprecated
    assert control.era == "2018"
    assert control.action_url.startswith("https://")
    assert "We found" not in control.description  # tenant-specific findings are stripped


def test_2018_threats_and_remediation_come_from_the_csv():
    admin_mfa = CONTROL_BY_ID["AdminMFA"]
    assert admin_mfa.threats == ("Account Breach", "Elevation of Privilege")
    assert admin_mfa.remediation.startswith("Enabling MFA at the site linked below")
    assert admin_mfa.user_impact == "Low"
    assert admin_mfa.implementation_cost == "Low"


def test_current_era_controls_cover_each_product_family():
    current = [c for c in CONTROLS if c.era == "current"]
    assert 40 <= len(current) <= 90
    for pattern in (r"^mdo_", r"^exo_", r"^spo_", r"^mip_", r"^scid_\d+$", r"^AATP_", r"^intune_", r"^Mcas"):
        assert any(re.match(pattern, c.id) for c in current), pattern
    for name in ("AdminMFAV2", "MFARegistrationV2", "BlockLegacyAuthentication", "SigninRiskPolicy"):
        assert CONTROL_BY_ID[name].category == "Identity"
    assert all(c.max_score > 0 and not c.deprecated for c in current)


def test_ids_are_unique_and_listed_the_way_graph_orders_profiles():
    ids = [c.id for c in CONTROLS]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids, key=lambda i: (i.lower(), i))


def test_categories_and_measures_use_the_known_vocabulary():
    assert {c.category for c in CONTROLS} <= {"Identity", "Data", "Device", "Apps", "Infrastructure"}
    assert {c.measure for c in CONTROLS} == {"binary", "users", "admins", "devices", "policy"}


@pytest.mark.parametrize(
    ("plan", "has", "lacks"),
    [
        ("Microsoft 365 Business Basic", {"AdminMFAV2", "mdo_zapphish", "exo_mailboxaudit"}, {"scid_2010", "mdo_safeattachments", "BlockLegacyAuthentication"}),
        ("Microsoft 365 Business Premium", {"scid_2010", "mdo_safeattachments", "intune_mobile_device_encryption", "BlockLegacyAuthentication"}, {"SigninRiskPolicy", "AATP_Sensor", "dlp_datalossprevention"}),
        ("Office 365 E3", {"dlp_datalossprevention"}, {"scid_2010", "BlockLegacyAuthentication", "mdo_safeattachments"}),
        ("Microsoft 365 E5", {"SigninRiskPolicy", "AATP_Sensor", "mcas_mda_enabled", "mdo_safedocuments", "CustomerLockBoxEnabled"}, set()),
    ],
)  # fmt: skip
def test_applicability_follows_the_plans_licences(plan, has, lacks):
    ids = {c.id for c in applicable_controls(frozenset(PLAN_BY_NAME[plan].services))}
    assert has <= ids
    assert not (lacks & ids)
    assert not any(CONTROL_BY_ID[i].deprecated for i in ids)


def test_richer_plans_are_scored_on_more_controls():
    def total(plan: str) -> float:
        return sum(c.max_score for c in applicable_controls(frozenset(PLAN_BY_NAME[plan].services)))

    assert total("Microsoft 365 Business Standard") < total("Microsoft 365 Business Premium")
    assert total("Microsoft 365 E3") < total("Microsoft 365 E5")
