"""secureScoreControlProfiles per customer: every catalogue control, with the tenant's controlStateUpdates.

API:
- `control_profiles(customer, now) -> list[dict]` — microsoft.graph.secureScoreControlProfile for every control
  of the catalogue (Graph lists all of them for every tenant, deprecated and unlicensed ones included), in the
  order Graph lists them (id, case-insensitive).
- `control_profiles_json(customer, now) -> bytes` — the same as a JSON array.
- `control_profile_items(customer, now) -> list[bytes]` — the same objects as bytes, from per-control pieces
  serialised once (what the HTTP layer serves); `updates_listed(customer, now)` — what they change with.

controlStateUpdates come from the same model as the scores (emulator.data.posture): an update is listed once
its updatedDateTime ≤ now, and from that instant the daily score honours it (ThirdParty → full points,
Ignored → 0). A control never updated shows the single "Default" entry with nulls that live tenants return.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
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
    return _members(
        control,
        customer.tenant_id,
        _action_url(control, customer, prefix),
        iso7(updates[-1].at_us) if updates else None,
        _state_updates(updates),
    )


def _state_updates(updates: list[StateUpdate]) -> list[dict[str, Any]]:
    if not updates:
        return [dict(entry) for entry in _NEVER_UPDATED]
    return [
        {
            "assignedTo": u.assigned_to,
            "comment": u.comment,
            "state": u.state,
            "updatedBy": u.updated_by,
            "updatedDateTime": iso7(u.at_us),
        }
        for u in updates
    ]


def _members(
    control: Control, tenant: Any, action_url: Any, last_modified: Any, state_updates: Any
) -> dict[str, Any]:
    return {
        "id": control.id,
        "azureTenantId": tenant,
        "actionType": control.action_type,
        "actionUrl": action_url,
        "controlCategory": control.category,
        "title": control.title,
        "deprecated": control.deprecated,
        "implementationCost": control.implementation_cost,
        "lastModifiedDateTime": last_modified,
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
        "controlStateUpdates": state_updates,
    }


# Placeholders for the members that differ by tenant and instant, cut out of the control's serialised profile.
_SLOTS = tuple(f"\u0001slot{i}\u0001" for i in range(4))


@lru_cache(maxsize=len(CONTROLS))
def _template(index: int) -> tuple[bytes, ...]:
    """A control's profile serialised once, in five pieces around its four tenant- and instant-bound members."""
    rendered = orjson.dumps(_members(CONTROLS[index], *_SLOTS))
    pieces = [rendered]
    for slot in _SLOTS:
        head, tail = pieces[-1].split(orjson.dumps(slot))
        pieces[-1:] = [head, tail]
    return tuple(pieces)


def control_profile_items(customer: Customer, now: datetime) -> list[bytes]:
    """`control_profiles` as one JSON object per control, spliced from cached pieces (byte-identical)."""
    posture = posture_for(customer)
    now_us = to_us(now)
    prefix = customer.default_domain.split(".", 1)[0]
    tenant = orjson.dumps(customer.tenant_id)
    items = []
    for index, control in enumerate(CONTROLS):
        track = posture.tracks.get(control.id)
        updates = [u for u in track.updates if u.at_us <= now_us] if track is not None else []
        first, after_tenant, after_url, after_modified, last = _template(index)
        items.append(
            b"".join(
                (
                    first,
                    tenant,
                    after_tenant,
                    orjson.dumps(_action_url(control, customer, prefix)),
                    after_url,
                    orjson.dumps(iso7(updates[-1].at_us) if updates else None),
                    after_modified,
                    orjson.dumps(_state_updates(updates)),
                    last,
                )
            )
        )
    return items


def updates_listed(customer: Customer, now: datetime) -> int:
    """How many controlStateUpdates are listed at `now`: the profiles only change when this does."""
    now_us = to_us(now)
    return sum(
        1 for track in posture_for(customer).tracks.values() for u in track.updates if u.at_us <= now_us
    )
