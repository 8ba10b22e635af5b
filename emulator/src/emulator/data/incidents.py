"""Defender incidents (microsoft.graph.security.incident, `/security/incidents`) built from the alert skeletons.

An incident groups 1 to N alerts of one tenant created close in time (they share `incidentId`); a few incidents are
later merged into another one and show status `redirected` with `redirectIncidentId`. Everything about an
incident at an instant follows from its alerts at that instant:

- createdDateTime = its first alert's; it is listed once that alert exists (and for 180 days);
- severity = the highest alert severity; lastUpdateDateTime = the latest alert update ≤ now;
- status: resolved once all its alerts are, inProgress once any is being worked, else active (or the
  evolvable `awaitingAction` while automated investigation waits for approval — rendered `unknownFutureValue`
  unless include_unknown); classification/determination/assignedTo come from the resolution of its alerts;
- displayName in Defender's style from the alerts present at that instant.

API for the HTTP layer:
- `incidents_as_of(customer, now, flt=None, after=None)` → iterator of `IncidentState`, newest first
  (createdDateTime desc, id desc); `flt` is an `IncidentFilter` (documented incident filter fields).
- `incident_page(customer, now, top, flt, after, include_unknown, expand_alerts, nul_ids)` → `IncidentPage`
  (Graph caps incidents `$top` at 50; enforcing that is the HTTP layer's job).
- `find_incident(customer, incident_id, now)`; `incident_json(...)` → bytes (with `alerts` when expanded);
  `incident_dict(...)` → dict.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from emulator.data.alert_catalogue import SEVERITIES, TACTIC_NAMES, TEMPLATES
from emulator.data.alerts import (
    ACKNOWLEDGED,
    ENRICHED,
    NEVER,
    PORTAL,
    RESOLVED,
    AlertState,
    IncidentSkeleton,
    alert_json,
    alert_state,
    day_activity,
    incident_day,
    incident_number,
    may_have_changed_since,
    retention_floor_us,
    time_bounds,
)
from emulator.data.enums import EVOLVABLE_INCIDENT_STATUSES, render
from emulator.data.jsonbytes import dumps_compact
from emulator.data.lru import WeightedLRU
from emulator.data.portfolio import Customer
from emulator.data.timestamps import day_of, iso7, to_us

_CUSTOM_TAGS = ("VIP", "Escalated", "Customer notified", "Phishing campaign", "Pen test")
_RESOLVING = {
    "truePositive": "Confirmed true positive; containment and remediation completed.",
    "falsePositive": "False positive; no malicious activity found.",
    "informationalExpectedActivity": "Expected activity confirmed with the customer.",
    "unknown": "Closed.",
}
_SCOPES = {
    "device": ("on one endpoint", "on multiple endpoints"),
    "user": ("involving one user", "involving multiple users"),
    "mail": ("involving one user", "involving multiple users"),
    "cloud": ("on one cloud resource", "on multiple cloud resources"),
}


class IncidentState(NamedTuple):
    """An incident as of an instant."""

    skeleton: IncidentSkeleton
    alerts: tuple[AlertState, ...]  # its alerts that exist at that instant, newest first
    severity: int  # index into SEVERITIES: the highest of those alerts
    status: str
    classification: str
    determination: str
    assigned_to: str | None
    last_update_us: int


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """The documented incidents `$filter` fields; None means "no condition". Sets mean "eq one of"."""

    created_gt: datetime | None = None
    created_ge: datetime | None = None
    created_lt: datetime | None = None
    created_le: datetime | None = None
    updated_gt: datetime | None = None
    updated_ge: datetime | None = None
    updated_lt: datetime | None = None
    updated_le: datetime | None = None
    severity: frozenset[str] | None = None
    status: frozenset[str] | None = None
    classification: frozenset[str] | None = None
    determination: frozenset[str] | None = None
    assigned_to: frozenset[str | None] | None = None
    predicate: Callable[[IncidentState], bool] | None = None

    def matches(self, state: IncidentState) -> bool:
        """Whether an incident in `state` satisfies every condition."""
        low, high = time_bounds(self.created_gt, self.created_ge, self.created_lt, self.created_le)
        created = state.skeleton.created_us
        if (low is not None and created < low) or (high is not None and created > high):
            return False
        low, high = time_bounds(self.updated_gt, self.updated_ge, self.updated_lt, self.updated_le)
        if (low is not None and state.last_update_us < low) or (
            high is not None and state.last_update_us > high
        ):
            return False
        checks = (
            (self.severity, SEVERITIES[state.severity]),
            (self.status, state.status),
            (self.classification, state.classification),
            (self.determination, state.determination),
            (self.assigned_to, state.assigned_to),
        )
        if any(allowed is not None and value not in allowed for allowed, value in checks):
            return False
        return self.predicate is None or self.predicate(state)


class IncidentPage(NamedTuple):
    """One page of incidents: the JSON array, the states on it, and where the next page starts."""

    body: bytes
    items: tuple[IncidentState, ...]
    next_after: tuple[int, str] | None


def incident_state(skeleton: IncidentSkeleton, now_us: int) -> IncidentState:
    """The incident as of `now_us` (which must be ≥ its createdDateTime)."""
    if skeleton.redirect_to is not None:
        redirected = skeleton.redirect_us <= now_us
        last = skeleton.redirect_us if redirected else skeleton.created_us
        status = "redirected" if redirected else "active"
        return IncidentState(skeleton, (), skeleton.severity, status, "unknown", "unknown", None, last)
    alerts = tuple(alert_state(a, now_us) for a in reversed(skeleton.alerts) if a.created_us <= now_us)
    lead = alerts[-1]  # the first alert created
    last = max(a.last_update_us for a in alerts)
    if all(a.status == "resolved" for a in alerts):
        status = "resolved"
        classification, determination = lead.classification, lead.determination
    else:
        working = any(a.status != "new" for a in alerts)
        status = "inProgress" if working else "active"
        enriched = lead.skeleton.events[ENRICHED]
        if (
            not working
            and skeleton.awaiting_action_until
            and enriched <= now_us < skeleton.awaiting_action_until
        ):
            status = "awaitingAction"
        classification = determination = "unknown"
    assigned = next((a.assigned_to for a in alerts if a.assigned_to), None)
    severity = max(a.skeleton.severity for a in alerts)
    return IncidentState(skeleton, alerts, severity, status, classification, determination, assigned, last)


def incidents_as_of(
    customer: Customer,
    now: datetime,
    flt: IncidentFilter | None = None,
    after: tuple[int, str] | None = None,
) -> Iterator[IncidentState]:
    """Incidents listed at `now`, newest first (createdDateTime desc, id desc), optionally filtered/resumed."""
    now_us = to_us(now)
    floor = retention_floor_us(now_us)
    newest = now_us
    if flt is not None:
        low, high = time_bounds(flt.created_gt, flt.created_ge, flt.created_lt, flt.created_le)
        floor = max(floor, low) if low is not None else floor
        newest = min(newest, high) if high is not None else newest
    if after is not None:
        newest = min(newest, after[0])
    changed_since = None
    if flt is not None:
        changed_since = time_bounds(flt.updated_gt, flt.updated_ge, flt.updated_lt, flt.updated_le)[0]
    for day in range(day_of(newest), day_of(floor) - 1, -1):
        if changed_since is not None and not may_have_changed_since(customer, day, changed_since):
            continue
        for skeleton in day_activity(customer, day).incidents:
            created = skeleton.created_us
            if created > newest or created < floor:
                continue
            if after is not None and (created, skeleton.id) >= after:
                continue
            state = incident_state(skeleton, now_us)
            if flt is None or flt.matches(state):
                yield state


def find_incident(customer: Customer, incident_id: str, now: datetime) -> IncidentState | None:
    """The incident with this id as listed at `now`, or None."""
    try:
        number = int(incident_id)
    except ValueError:
        return None
    day = incident_day(customer, number)
    now_us = to_us(now)
    if not day_of(retention_floor_us(now_us)) <= day <= day_of(now_us):
        return None
    for skeleton in day_activity(customer, day).incidents:
        if skeleton.id == incident_id:
            if retention_floor_us(now_us) <= skeleton.created_us <= now_us:
                return incident_state(skeleton, now_us)
            return None
    return None


def incident_page(
    customer: Customer,
    now: datetime,
    top: int,
    flt: IncidentFilter | None = None,
    after: tuple[int, str] | None = None,
    include_unknown: bool = False,
    expand_alerts: bool = False,
    nul_ids: frozenset[str] = frozenset(),
) -> IncidentPage:
    """Up to `top` incidents after `after` as one JSON array, plus the next page's cursor (None: last)."""
    items: list[IncidentState] = []
    more = False
    for state in incidents_as_of(customer, now, flt, after):
        if len(items) == top:
            more = True
            break
        items.append(state)
    body = (
        b"["
        + b",".join(incident_json(customer, s, include_unknown, expand_alerts, nul_ids) for s in items)
        + b"]"
    )
    last = items[-1].skeleton if items else None
    return IncidentPage(body, tuple(items), (last.created_us, last.id) if more and last else None)


_BYTES: WeightedLRU[bytes] = WeightedLRU(16_000_000, len)  # rendered incidents (without alerts), by bytes


def incident_json(
    customer: Customer,
    state: IncidentState,
    include_unknown: bool = False,
    expand_alerts: bool = False,
    nul_ids: frozenset[str] = frozenset(),
) -> bytes:
    """One incident's JSON; with `expand_alerts` it carries its alerts (`$expand=alerts`)."""
    key = (
        customer.tenant_id,
        customer.anchor,
        state.skeleton.id,  # incident numbers are only unique within a tenant
        tuple(a.state for a in state.alerts),
        state.status,
        include_unknown,
    )
    found = _BYTES.get(key)
    if found is None:
        found = _BYTES.put(key, dumps_compact(_incident(customer, state, include_unknown)))
    if not expand_alerts:
        return found
    alerts = b",".join(
        alert_json(customer, a, include_unknown, a.skeleton.id in nul_ids) for a in state.alerts
    )
    return found[:-1] + b',"alerts":[' + alerts + b"]}"


def incident_dict(
    customer: Customer,
    state: IncidentState,
    include_unknown: bool = False,
    expand_alerts: bool = False,
) -> dict[str, Any]:
    """The microsoft.graph.security.incident object as a dict."""
    return orjson.loads(incident_json(customer, state, include_unknown, expand_alerts))


def display_name(state: IncidentState) -> str:
    """Defender-style incident name from the alerts present."""
    alerts = state.alerts
    if not alerts:
        return "Multi-stage incident involving multiple users"
    templates = [TEMPLATES[a.skeleton.template] for a in reversed(alerts)]  # oldest first
    scope = _SCOPES[templates[0].scope][0 if len(alerts) == 1 else 1]
    if len(alerts) == 1:
        return f"{templates[0].title} {scope}"
    if len({t.title for t in templates}) == 1:
        return f"{templates[0].title} {scope}"
    tactics = list(dict.fromkeys(TACTIC_NAMES.get(t.category, t.category) for t in templates))
    sources = "multiple sources" if len({t.source for t in templates}) > 1 else "one source"
    if len(tactics) == 1:
        return f"{tactics[0]} incident {scope}"
    return f"Multi-stage incident involving {tactics[0]} & {tactics[1]} {scope} reported by {sources}"


def _incident(customer: Customer, state: IncidentState, include_unknown: bool) -> dict[str, Any]:
    skeleton = state.skeleton
    rng = random.Random(skeleton.seed)
    custom_tags = [rng.choice(_CUSTOM_TAGS)] if rng.random() < 0.08 else []
    system_tags = ["Defender Experts"] if state.severity == 3 and rng.random() < 0.05 else []
    priority = min(100, [8, 25, 50, 75][state.severity] + rng.randrange(0, 15) + 3 * len(state.alerts))
    assign_comment = rng.random() < 0.4
    tenant = customer.tenant_id
    comments = []
    lead = state.alerts[-1] if state.alerts else None
    modified_by = None
    resolving = None
    if lead is not None:
        events = lead.skeleton.events
        if lead.state & (1 << ACKNOWLEDGED) and state.assigned_to:
            modified_by = state.assigned_to
            if assign_comment:
                comments.append(
                    _comment(f"Assigned to {state.assigned_to}.", state.assigned_to, events[ACKNOWLEDGED])
                )
        if state.status == "resolved":
            resolving = _RESOLVING.get(state.classification, "Closed.")
            modified_by = state.assigned_to or "Automation"
            resolved_at = max(a.skeleton.events[RESOLVED] for a in state.alerts)
            if resolved_at != NEVER:
                comments.append(_comment(resolving, modified_by, resolved_at))
    multi = len(state.alerts) > 1
    return {
        "@odata.type": "#microsoft.graph.security.incident",
        "id": skeleton.id,
        "incidentWebUrl": f"{PORTAL}/incidents/{skeleton.id}?tid={tenant}",
        "redirectIncidentId": skeleton.redirect_to if state.status == "redirected" else None,
        "tenantId": tenant,
        "displayName": display_name(state),
        "createdDateTime": iso7(skeleton.created_us),
        "lastUpdateDateTime": iso7(state.last_update_us),
        "assignedTo": state.assigned_to,
        "classification": state.classification,
        "determination": state.determination,
        "status": render(state.status, EVOLVABLE_INCIDENT_STATUSES, include_unknown),
        "severity": SEVERITIES[state.severity],
        "customTags": custom_tags,
        "comments": comments,
        "systemTags": system_tags,
        "description": _description(state) if multi else None,
        "summary": f"{len(state.alerts)} alerts correlated by Microsoft Defender XDR." if multi else None,
        "priorityScore": priority,
        "lastModifiedBy": modified_by,
        "resolvingComment": resolving,
    }


def _description(state: IncidentState) -> str:
    titles = list(dict.fromkeys(TEMPLATES[a.skeleton.template].title for a in reversed(state.alerts)))
    return "Alerts in this incident: " + "; ".join(titles[:4]) + ("; ..." if len(titles) > 4 else "") + "."


def _comment(text: str, author: str, at_us: int) -> dict[str, Any]:
    name = author if author == "Automation" else author.split("@", 1)[0].replace(".", " ").title()
    return {"comment": text, "createdByDisplayName": name, "createdDateTime": iso7(at_us)}


__all__ = [
    "IncidentFilter",
    "IncidentPage",
    "IncidentState",
    "display_name",
    "find_incident",
    "incident_dict",
    "incident_json",
    "incident_number",
    "incident_page",
    "incident_state",
    "incidents_as_of",
]
