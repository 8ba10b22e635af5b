"""secureScoreControlProfiles per customer: every catalogue control, with the tenant's controlStateUpdates.

API:
- `control_profiles(customer, now) -> list[dict]` — microsoft.graph.secureScoreControlProfile for every control
  of the catalogue (Graph lists all of them for every tenant, deprecated and unlicensed ones included), in the
  order Graph lists them (id, case-insensitive).
- `control_profiles_json(customer, now) -> bytes` — the same as a JSON array.

controlStateUpdates come from the same model as the scores (emulator.data.posture): an update is listed once
its updatedDateTime ≤ now, and from that instant the daily score honours it (ThirdParty → full points,
Ignored → 0). A control never updated shows the single "Default" entry with nulls that live tenants return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from emulator.data.catalogue import CONTROLS, Control
from emulator.data.portfolio import Customer
from emulator.data.posture import StateUpdate, posture_for
from emulator.data.securescore import VENDOR_INFORMATION
from emulator.data.timestamps import iso7, to_us

_NEVER_UPDATED = (
    {"assignedTo": None, "comment": None, "state": "Default", "updatedBy": None, "updatedDateTime": None},
)


def control_profiles(customer: Customer, now: datetime) -> list[dict[str, Any]]:
    """microsoft.graph.secureScoreControlProfile objects for `customer` at `now`."""
    posture = posture_for(customer)
    now_us = to_us(now)
    prefix = customer.default_domain.split(".", 1)[0]
    profiles = []
    for control in CONTROLS:
        track = posture.tracks.get(control.id)
        updates = [u for u in track.updates if u.at_us <= now_us] if track is not None else []
        profiles.append(_profile(customer, control, updates, prefix))
    return profiles


def control_profiles_json(customer: Customer, now: datetime) -> bytes:
    """`control_profiles` as a JSON array."""
    return orjson.dumps(control_profiles(customer, now))


def _action_url(control: Control, customer: Customer, prefix: str) -> str:
    return (
        control.action_url.replace("%tenantid%", customer.tenant_id)
        .replace("%tenantdomain%", customer.default_domain)
        .replace("%initialdomainshort%", prefix)
    )


def _profile(customer: Customer, control: Control, updates: list[StateUpdate], prefix: str) -> dict[str, Any]:
    return {
        "id": control.id,
        "azureTenantId": customer.tenant_id,
        "actionType": control.action_type,
        "actionUrl": _action_url(control, customer, prefix),
        "controlCategory": control.category,
        "title": control.title,
        "deprecated": control.deprecated,
        "implementationCost": control.implementation_cost,
        "lastModifiedDateTime": iso7(updates[-1].at_us) if updates else None,
        "maxScore": control.max_score,
        "rank": control.rank,
        "remediation": control.remediation,
        "remediationImpact": control.remediation_impact,
        "service": control.service,
        "threats": list(control.threats),
        "tier": control.tier,
        "userImpact": control.user_impact,
        "vendorInformation": VENDOR_INFORMATION,
        "complianceInformation": [
            {
                "certificationName": name,
                "certificationControls": [{"name": item, "url": ""} for item in items],
            }
            for name, items in control.compliance
        ],
        "controlStateUpdates": (
            [
                {
                    "assignedTo": u.assigned_to,
                    "comment": u.comment,
                    "state": u.state,
                    "updatedBy": u.updated_by,
                    "updatedDateTime": iso7(u.at_us),
                }
                for u in updates
            ]
            if updates
            else [dict(entry) for entry in _NEVER_UPDATED]
        ),
    }
