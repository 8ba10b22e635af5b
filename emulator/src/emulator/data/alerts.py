"""Defender alerts (microsoft.graph.security.alert, `/security/alerts_v2`) per customer, generated lazily.

Two levels keep this fast and small:

1. **Skeletons** — per tenant and UTC day, `day_activity(customer, day)` draws that day's incidents and their
   alerts as small tuples: id, createdDateTime, severity, source, template, the incident, the lifecycle event
   times and the resolution. Days are cached in an LRU bounded by the number of alerts held; a Poisson-ish
   count with rate `customer.alert_rate` (lower at weekends, occasional burst days) decides how many, from the
   serviceSources the tenant is licensed for on that day.
2. **Materialisation** — `alert_json(customer, state)` renders one alert as Graph returns it at an instant
   (evidence spliced from the tenant's pre-serialised entities), cached as bytes by (tenant, alert id,
   lifecycle state, include-unknown flag, NUL fault) in an LRU bounded by bytes (`configure_alert_cache`), so
   a cached page is one `b"".join(...)`.

An alert's JSON is a function of (alert, now) through its lifecycle only: created → enriched (investigation
state settles) → inProgress (assigned, maybe a comment) → resolved (classification, determination,
resolvedDateTime) → sometimes a late update (a comment or a reclassification). `lastUpdateDateTime` is the
latest of those events ≤ now, so filtering on it finds every alert that changed since a watermark.

API for the HTTP layer:
- `alerts_as_of(customer, now, flt=None, after=None)` → iterator of `AlertState`, newest first
  (createdDateTime desc, id desc) over the 180-day retention window; `flt` is an `AlertFilter` (the documented
  alerts_v2 filter fields) applied to skeletons without building JSON; `after` is a cursor to resume from.
- `alert_page(customer, now, top, flt, after, include_unknown, nul_ids)` → `AlertPage(body, items, next_after)`:
  a JSON array of `top` alerts and the cursor of the next page (None at the end); `encode_cursor` /
  `decode_cursor` turn cursors into `$skiptoken` strings.
- `find_alert(customer, alert_id, now)` → `AlertState | None` (GET /alerts_v2/{id}).
- `alert_json` / `alert_dict` → one alert as bytes / dict; `alerts_json(customer, states, ...)` → JSON array.

Evolvable enum members (serviceSource microsoftDefenderForCloud, its detection sources, newer evidence
remediation states) render as `unknownFutureValue` unless `include_unknown=True`
(`Prefer: include-unknown-enum-members`); filters always compare the true values.

The caches are plain module state: call from one thread (the server's event loop) or behind a lock.
"""

from __future__ import annotations

import base64
import math
import random
from bisect import bisect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import accumulate
from typing import Any, NamedTuple

import orjson

from emulator.data.alert_catalogue import (
    CHAINS,
    SEVERITIES,
    SOURCES,
    TEMPLATES,
    TEMPLATES_BY_SOURCE,
    AlertTemplate,
)
from emulator.data.changes import UNKNOWN, DayChangeIndex
from emulator.data.determinism import between, pick, rng_for, stable_fraction, stable_uuid
from emulator.data.enums import EVOLVABLE_DETECTION_SOURCES, EVOLVABLE_SERVICE_SOURCES, render
from emulator.data.evidence import evidence_json, make_scene, person, world_for
from emulator.data.lru import WeightedLRU
from emulator.data.portfolio import Customer
from emulator.data.timestamps import (
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    day_of,
    dotnet_ticks,
    from_us,
    iso3,
    iso7,
    to_us,
)

RETENTION_DAYS = 180
NEVER = 2**62
PORTAL = "https://security.microsoft.com"
_INCIDENT_DAY_ZERO = 19_000  # incident numbers grow with the day, as Defender's per-tenant counters do
_INCIDENTS_PER_DAY = 256

# Lifecycle event indexes into AlertSkeleton.events.
CREATED, ENRICHED, ACKNOWLEDGED, RESOLVED, LATE = range(5)
LATE_NONE, LATE_COMMENT, LATE_RECLASSIFIED = range(3)

_ACK_MEDIAN_HOURS = (36.0, 20.0, 5.0, 0.75)  # by severity index
_RESOLVE_MEDIAN_HOURS = (110.0, 80.0, 36.0, 8.0)
_CLASS_WEIGHTS = (  # truePositive, falsePositive, informationalExpectedActivity, by severity index
    (0.15, 0.15, 0.70),
    (0.20, 0.20, 0.60),
    (0.35, 0.20, 0.45),
    (0.60, 0.15, 0.25),
)
_FP_DETERMINATIONS = (("notMalicious", 0.6), ("notEnoughDataToValidate", 0.3), ("other", 0.1))
_BENIGN_DETERMINATIONS = (
    ("lineOfBusinessApplication", 0.35),
    ("confirmedActivity", 0.35),
    ("securityTesting", 0.2),
    ("securityPersonnel", 0.05),
    ("other", 0.05),
)
_ACK_COMMENTS = (
    "Investigating.",
    "Looking into this with the user.",
    "Checked sign-in logs; contacting the user to confirm.",
    "Device isolated while we investigate.",
    "Escalated to the customer's IT contact.",
)
_RESOLVE_COMMENTS = {
    "truePositive": (
        "Confirmed malicious. Password reset, sessions revoked, MFA re-registered.",
        "Malicious messages purged from all mailboxes; sender blocked.",
        "File quarantined and device scanned clean; no further activity.",
    ),
    "falsePositive": (
        "False positive: known admin tool.",
        "Benign - user travelling with a corporate VPN.",
        "Not malicious; detection tuned.",
    ),
    "informationalExpectedActivity": (
        "Expected activity: authorised penetration test.",
        "Line-of-business application behaviour; suppression rule added.",
        "User confirmed the activity.",
    ),
}
_LATE_COMMENTS = (
    "Reviewed again after a related incident; no further action.",
    "Added to the monthly security report for the customer.",
    "Customer asked for details; summary sent.",
)
_ACTORS = ("Storm-0501", "Octo Tempest", "Manatee Tempest", "Storm-1167", "Midnight Blizzard")


class AlertSkeleton(NamedTuple):
    """What is drawn per alert before any JSON is built."""

    created_us: int
    id: str
    provider_id: str
    incident_id: str
    severity: int  # index into SEVERITIES
    source: str  # serviceSource (true value)
    detection_source: str  # detectionSource (true value)
    template: int  # index into TEMPLATES
    events: tuple[int, int, int, int, int]  # created, enriched, acknowledged, resolved, late (NEVER: none)
    classification: str  # set at resolution
    determination: str
    late_kind: int
    late_classification: str
    late_determination: str
    assignee: str  # analyst UPN, or "Automation" for automated resolution
    seed: int


class IncidentSkeleton(NamedTuple):
    """An incident: its alerts (created within a few hours of each other), or a redirect to another."""

    created_us: int
    id: str
    alerts: tuple[AlertSkeleton, ...]
    severity: int
    redirect_to: str | None  # redirected (merged) incidents point at the incident that absorbed them
    redirect_us: int
    awaiting_action_until: int  # AIR waits for approval until this instant (0: never)
    seed: int


class DayActivity(NamedTuple):
    """One tenant-day: incidents and alerts, both newest first (created desc, id desc)."""

    incidents: tuple[IncidentSkeleton, ...]
    alerts: tuple[AlertSkeleton, ...]


class AlertState(NamedTuple):
    """An alert as of an instant: what filters and caches need."""

    skeleton: AlertSkeleton
    status: str
    classification: str
    determination: str
    assigned_to: str | None
    last_update_us: int
    state: int  # bitmask of lifecycle events that have happened


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """The documented alerts_v2 `$filter` fields; None means "no condition". Sets mean "eq one of"."""

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
    service_source: frozenset[str] | None = None
    classification: frozenset[str] | None = None
    determination: frozenset[str] | None = None
    assigned_to: frozenset[str | None] | None = None
    predicate: Callable[[AlertState], bool] | None = None

    def created_bounds(self) -> tuple[int | None, int | None]:
        """Inclusive [low, high] microsecond bounds on createdDateTime implied by the filter."""
        return time_bounds(self.created_gt, self.created_ge, self.created_lt, self.created_le)

    def updated_bounds(self) -> tuple[int | None, int | None]:
        """Inclusive [low, high] microsecond bounds on lastUpdateDateTime implied by the filter."""
        return time_bounds(self.updated_gt, self.updated_ge, self.updated_lt, self.updated_le)

    def matches(self, state: AlertState) -> bool:
        """Whether an alert in `state` satisfies every condition."""
        skeleton = state.skeleton
        low, high = self.created_bounds()
        if (low is not None and skeleton.created_us < low) or (
            high is not None and skeleton.created_us > high
        ):
            return False
        low, high = time_bounds(self.updated_gt, self.updated_ge, self.updated_lt, self.updated_le)
        if (low is not None and state.last_update_us < low) or (
            high is not None and state.last_update_us > high
        ):
            return False
        checks = (
            (self.severity, SEVERITIES[skeleton.severity]),
            (self.status, state.status),
            (self.service_source, skeleton.source),
            (self.classification, state.classification),
            (self.determination, state.determination),
            (self.assigned_to, state.assigned_to),
        )
        if any(allowed is not None and value not in allowed for allowed, value in checks):
            return False
        return self.predicate is None or self.predicate(state)


def time_bounds(
    gt: datetime | None, ge: datetime | None, lt: datetime | None, le: datetime | None
) -> tuple[int | None, int | None]:
    # Graph timestamps have 100-ns precision; ours are microseconds, so "gt x" is "≥ x + 1 µs".
    lows = [to_us(gt) + 1] if gt else []
    lows += [to_us(ge)] if ge else []
    highs = [to_us(lt) - 1] if lt else []
    highs += [to_us(le)] if le else []
    return (max(lows) if lows else None, min(highs) if highs else None)


class AlertPage(NamedTuple):
    """One page of alerts: the JSON array, the states on it, and where the next page starts."""

    body: bytes
    items: tuple[AlertState, ...]
    next_after: tuple[int, str] | None


# ---------------------------------------------------------------------------------------------------------
# Skeletons
# ---------------------------------------------------------------------------------------------------------

# Bounded by alerts + incidents held (about 0.8 KB each), not by days: busy tenants have busy days.
_DAYS: WeightedLRU[DayActivity] = WeightedLRU(60_000, lambda d: 1 + len(d.alerts) + len(d.incidents))
_EMPTY = DayActivity((), ())


# Outlives _DAYS: a daily `lastUpdateDateTime gt X` read draws only the days that can have changed since X.
_CHANGES = DayChangeIndex()


def day_activity(customer: Customer, day: int) -> DayActivity:
    """Incidents and alerts created on UTC day `day` (a pure function of customer and day; cached)."""
    key = (customer.tenant_id, customer.anchor, day)
    found = _DAYS.get(key)
    if found is None:
        found = _DAYS.put(key, _generate_day(customer, day))
        _CHANGES.record((customer.tenant_id, customer.anchor), day, _latest_change(found))
    return found


def _latest_change(activity: DayActivity) -> int:
    """The latest lifecycle event of anything in `activity`, future ones included: it bounds every
    lastUpdateDateTime of the day's alerts and incidents at any instant (0 for a day without any)."""
    latest = 0
    for alert in activity.alerts:
        for event in alert.events:
            if latest < event < NEVER:
                latest = event
    for incident in activity.incidents:
        latest = max(latest, incident.created_us)
        if incident.redirect_to is not None:
            latest = max(latest, incident.redirect_us)
    return latest


def may_have_changed_since(customer: Customer, day: int, since_us: int) -> bool:
    """Whether anything created on `day` can have lastUpdateDateTime ≥ `since_us` (True for a day not drawn
    yet): a False skips the day without drawing it."""
    latest = _CHANGES.latest((customer.tenant_id, customer.anchor), day)
    return latest == UNKNOWN or latest >= since_us


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, product, count = math.exp(-mean), rng.random(), 0
    while product > limit:
        product *= rng.random()
        count += 1
    return count


def incident_base(customer: Customer) -> int:
    """Where the tenant's incident numbers start (tenants' counters differ, as in Defender)."""
    return _incident_base(customer.tenant_id)


@lru_cache(maxsize=16_384)
def _incident_base(tenant_id: str) -> int:
    return 1000 + int(stable_fraction(0, tenant_id, "incident-base") * 90_000)


def incident_number(customer: Customer, day: int, ordinal: int) -> int:
    """Defender-style incident number: grows with the day, unique per tenant."""
    return incident_base(customer) + (day - _INCIDENT_DAY_ZERO) * _INCIDENTS_PER_DAY + ordinal


def incident_day(customer: Customer, number: int) -> int:
    """The day an incident number was issued on (inverse of incident_number)."""
    return (number - incident_base(customer)) // _INCIDENTS_PER_DAY + _INCIDENT_DAY_ZERO


def analysts(customer: Customer) -> tuple[str, ...]:
    """UPNs of the three people who work this tenant's alerts (its IT staff, seen by the partner's SOC)."""
    return _analysts(customer.tenant_id, customer.custom_domain)


@lru_cache(maxsize=16_384)
def _analysts(tenant: str, domain: str) -> tuple[str, ...]:
    return tuple(person(tenant, domain, "SOC", 37 + 41 * i).upn for i in range(3))


def _guid_with_day(rng: random.Random, day: int) -> str:
    # The day number hides in the first five hex digits, so GET-by-id finds the day to regenerate.
    value = f"{day & 0xFFFFF:05x}{rng.getrandbits(108):027x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-{'89ab'[int(value[16], 16) % 4]}{value[17:20]}-{value[20:]}"


def _alert_ids(rng: random.Random, source: str, created_us: int, day: int) -> tuple[str, str]:
    prefix = SOURCES[source][1]
    if prefix in {"da", "ra"}:
        alert_id = f"{prefix}{dotnet_ticks(created_us)}_{rng.randrange(-(2**31), 2**31)}"
        return alert_id, alert_id
    guid = _guid_with_day(rng, day)
    if prefix == "ca":
        return f"{prefix}{guid}", f"{rng.getrandbits(96):024x}"
    if prefix == "dc":
        # Defender for Cloud alert names start with reversed ticks.
        return f"{prefix}{guid}", f"{2_518_000_000_000_000_000 - dotnet_ticks(created_us)}_{guid}"
    return f"{prefix}{guid}", guid


class _Weighted(NamedTuple):
    """Options with cumulative weights, for cheap repeated weighted draws."""

    options: tuple[Any, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def of(cls, pairs: Iterable[tuple[Any, float]]) -> _Weighted:
        options, weights = zip(*pairs, strict=True)
        return cls(tuple(options), tuple(accumulate(weights)))

    def draw(self, rng: random.Random) -> Any:
        return self.options[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


_TEMPLATE_DRAW = {
    source: _Weighted.of((i, TEMPLATES[i].weight) for i in indexes)
    for source, indexes in TEMPLATES_BY_SOURCE.items()
}
_SEVERITY_DRAW = tuple(_Weighted.of(zip(range(4), t.severity_weights, strict=True)) for t in TEMPLATES)
_DETECTION_DRAW = tuple(_Weighted.of(t.detection_sources) for t in TEMPLATES)
_CLASS_DRAW = tuple(
    _Weighted.of(zip(("truePositive", "falsePositive", "informationalExpectedActivity"), w, strict=True))
    for w in _CLASS_WEIGHTS
)
_FP_DRAW = _Weighted.of(_FP_DETERMINATIONS)
_BENIGN_DRAW = _Weighted.of(_BENIGN_DETERMINATIONS)


@lru_cache(maxsize=256)
def _source_draw(sources: tuple[str, ...]) -> _Weighted:
    return _Weighted.of((s, SOURCES[s][2]) for s in sources)


def _choose_template(rng: random.Random, source: str) -> int:
    return _TEMPLATE_DRAW[source].draw(rng)


def _lognormal_us(rng: random.Random, median_hours: float, sigma: float) -> int:
    return int(rng.lognormvariate(math.log(median_hours), sigma) * HOUR)


def _generate_day(customer: Customer, day: int) -> DayActivity:
    if customer.alert_rate <= 0:
        return _EMPTY
    day_us = day * DAY
    sources = tuple(s for s in customer.alert_sources_at(from_us(day_us + 12 * HOUR)) if s in SOURCES)
    if not sources:
        return _EMPTY
    rng = rng_for(0, customer.tenant_id, "alerts", day)
    weekend = (day + 3) % 7 >= 5  # 1970-01-01 was a Thursday
    rate = customer.alert_rate * (0.6 if weekend else 1.15)
    burst = rng.random() < 0.02
    if burst:
        rate *= rng.uniform(2.5, 6.0)
    count = min(_INCIDENTS_PER_DAY - 8, _poisson(rng, rate / 1.35))
    people = analysts(customer)
    incidents: list[IncidentSkeleton] = []
    ordinal = 0
    campaign = burst and "microsoftDefenderForOffice365" in sources
    for index in range(count + (1 if campaign else 0)):
        number = incident_number(customer, day, ordinal)
        ordinal += 1
        incident = _incident(customer, day, rng, sources, str(number), people, campaign and index == 0)
        incidents.append(incident)
        if len(incident.alerts) > 1 and rng.random() < 0.05 and ordinal < _INCIDENTS_PER_DAY:
            # A second incident Defender first opened for part of the attack, later merged into this one.
            ghost = str(incident_number(customer, day, ordinal))
            ordinal += 1
            created = incident.alerts[-1].created_us + rng.randrange(1, 20) * MINUTE
            incidents.append(
                IncidentSkeleton(
                    created_us=created,
                    id=ghost,
                    alerts=(),
                    severity=incident.alerts[-1].severity,
                    redirect_to=incident.id,
                    redirect_us=created + rng.randrange(5, 180) * MINUTE,
                    awaiting_action_until=0,
                    seed=rng.getrandbits(63),
                )
            )
    alerts = sorted(
        (a for i in incidents for a in i.alerts), key=lambda a: (a.created_us, a.id), reverse=True
    )
    incidents.sort(key=lambda i: (i.created_us, i.id), reverse=True)
    return DayActivity(tuple(incidents), tuple(alerts))


def _incident(
    customer: Customer,
    day: int,
    rng: random.Random,
    sources: tuple[str, ...],
    incident_id: str,
    people: tuple[str, ...],
    campaign: bool,
) -> IncidentSkeleton:
    if campaign:
        source = "microsoftDefenderForOffice365"
        templates = [TEMPLATES_BY_SOURCE[source][0]] * rng.randrange(5, 26)
    else:
        source = _source_draw(sources).draw(rng)
        templates = [_choose_template(rng, source)]
        size_draw = rng.random()
        extra = 0 if size_draw < 0.76 else 1 if size_draw < 0.9 else rng.randrange(2, 5)
        for _ in range(extra):
            partners = [s for s in CHAINS[source] if s in sources]
            next_source = rng.choice(partners) if partners and rng.random() < 0.4 else source
            templates.append(_choose_template(rng, next_source))
    span_us = len(templates) * 40 * MINUTE
    start = day * DAY + rng.randrange(0, max(1, DAY - span_us - HOUR))
    created_times = []
    moment = start
    for _ in templates:
        created_times.append(moment)
        moment += rng.randrange(1, 2400) * SECOND + rng.randrange(0, SECOND)
    severities = [_severity(rng, t) for t in templates]
    severity = max(severities)
    lead = TEMPLATES[templates[0]]
    enriched = [created + rng.randrange(60, 2700) * SECOND for created in created_times]
    multi_source = len({TEMPLATES[t].source for t in templates}) > 1
    lifecycle = _lifecycle(rng, lead, severity, created_times[0], max(enriched), multi_source, people)
    acknowledged, resolved, late, classification, determination, late_kind, late_class, late_det, assignee = (
        lifecycle
    )
    alerts = []
    for template_index, created, enriched_at, alert_severity in zip(
        templates, created_times, enriched, severities, strict=True
    ):
        template = TEMPLATES[template_index]
        alert_id, provider_id = _alert_ids(rng, template.source, created, day)
        ack_at = max(acknowledged, enriched_at + SECOND) if acknowledged != NEVER else NEVER
        resolved_at = NEVER
        if resolved != NEVER:
            resolved_at = max(resolved, (ack_at if ack_at != NEVER else enriched_at) + SECOND)
        late_at = max(late, resolved_at + SECOND) if late != NEVER and resolved_at != NEVER else NEVER
        detection = _DETECTION_DRAW[template_index].draw(rng)
        alerts.append(
            AlertSkeleton(
                created_us=created,
                id=alert_id,
                provider_id=provider_id,
                incident_id=incident_id,
                severity=alert_severity,
                source=template.source,
                detection_source=detection,
                template=template_index,
                events=(created, enriched_at, ack_at, resolved_at, late_at),
                classification=classification,
                determination=determination,
                late_kind=late_kind if late_at != NEVER else LATE_NONE,
                late_classification=late_class,
                late_determination=late_det,
                assignee=assignee,
                seed=rng.getrandbits(63),
            )
        )
    awaiting = 0
    if lead.source == "microsoftDefenderForEndpoint" and assignee != "Automation" and rng.random() < 0.15:
        # Automated investigation waits for an analyst to approve its remediation actions.
        awaiting = min(acknowledged, resolved)
    return IncidentSkeleton(
        created_us=created_times[0],
        id=incident_id,
        alerts=tuple(alerts),
        severity=severity,
        redirect_to=None,
        redirect_us=NEVER,
        awaiting_action_until=awaiting,
        seed=rng.getrandbits(63),
    )


def _severity(rng: random.Random, template_index: int) -> int:
    return _SEVERITY_DRAW[template_index].draw(rng)


def _lifecycle(
    rng: random.Random,
    template: AlertTemplate,
    severity: int,
    created: int,
    enriched: int,
    multi_source: bool,
    people: tuple[str, ...],
) -> tuple[int, int, int, str, str, int, str, str, str]:
    """(acknowledged, resolved, late, classification, determination, late kind, late class/det, assignee)."""
    if rng.random() < template.auto_resolve:
        # Closed by automated investigation or by the product (e.g. zero-hour auto purge).
        resolved = enriched + _lognormal_us(rng, 1.2, 0.7)
        acknowledged, assignee = NEVER, "Automation"
        classification, determination = "truePositive", template.tp_determination
    else:
        assignee = rng.choice(people)
        acknowledged = NEVER
        if rng.random() >= 0.2:
            acknowledged = created + _lognormal_us(rng, _ACK_MEDIAN_HOURS[severity], 1.1)
        base = acknowledged if acknowledged != NEVER else created
        draw = rng.random()
        if draw < 0.11:
            resolved = NEVER  # stays open: nobody closes it
        elif draw < 0.16:
            resolved = base + rng.randrange(30, 150) * DAY + rng.randrange(0, 86_400) * SECOND
        else:
            resolved = base + _lognormal_us(rng, _RESOLVE_MEDIAN_HOURS[severity], 1.2)
        classification = _CLASS_DRAW[severity].draw(rng)
        determination = _determination(rng, classification, template, multi_source)
    late, late_kind, late_class, late_det = NEVER, LATE_NONE, classification, determination
    if resolved != NEVER and rng.random() < 0.08:
        late = resolved + rng.randrange(1, 21) * DAY + rng.randrange(0, 86_400) * SECOND
        if rng.random() < 0.4:
            late_kind = LATE_RECLASSIFIED
            if classification == "truePositive":
                late_class, late_det = "falsePositive", "notMalicious"
            else:
                late_class, late_det = "truePositive", template.tp_determination
        else:
            late_kind = LATE_COMMENT
    return (
        acknowledged,
        resolved,
        late,
        classification,
        determination,
        late_kind,
        late_class,
        late_det,
        assignee,
    )


def _determination(
    rng: random.Random, classification: str, template: AlertTemplate, multi_source: bool
) -> str:
    if classification == "truePositive":
        return "multiStagedAttack" if multi_source and rng.random() < 0.7 else template.tp_determination
    return (_FP_DRAW if classification == "falsePositive" else _BENIGN_DRAW).draw(rng)


# ---------------------------------------------------------------------------------------------------------
# State at an instant, listing, filtering, paging
# ---------------------------------------------------------------------------------------------------------


def alert_state(skeleton: AlertSkeleton, now_us: int) -> AlertState:
    """The alert as of `now_us` (which must be ≥ its createdDateTime)."""
    # Events are in time order when present (absent ones are NEVER), so the last one passed is the latest.
    created, enriched, acknowledged, resolved, late = skeleton.events
    state, last = 1, created
    if enriched <= now_us:
        state, last = 3, enriched
    if acknowledged <= now_us:
        state, last = state | 4, acknowledged
    if resolved <= now_us:
        state, last = state | 8, resolved
        if late <= now_us:
            state, last = state | 16, late
    if state & (1 << RESOLVED):
        status = "resolved"
        reclassified = skeleton.late_kind == LATE_RECLASSIFIED and state & (1 << LATE)
        classification = skeleton.late_classification if reclassified else skeleton.classification
        determination = skeleton.late_determination if reclassified else skeleton.determination
        assigned = skeleton.assignee
    else:
        status = "inProgress" if state & (1 << ACKNOWLEDGED) else "new"
        classification = determination = "unknown"
        assigned = skeleton.assignee if state & (1 << ACKNOWLEDGED) else None
    return AlertState(skeleton, status, classification, determination, assigned, last, state)


def retention_floor_us(now_us: int) -> int:
    """Oldest createdDateTime still listed at `now_us` (alerts are kept for 180 days)."""
    return now_us - RETENTION_DAYS * DAY


def alerts_as_of(
    customer: Customer,
    now: datetime,
    flt: AlertFilter | None = None,
    after: tuple[int, str] | None = None,
) -> Iterator[AlertState]:
    """Alerts listed at `now`, newest first (createdDateTime desc, id desc), optionally filtered/resumed."""
    now_us = to_us(now)
    floor = retention_floor_us(now_us)
    newest = now_us
    if flt is not None:
        low, high = flt.created_bounds()
        floor = max(floor, low) if low is not None else floor
        newest = min(newest, high) if high is not None else newest
    if after is not None:
        newest = min(newest, after[0])
    changed_since = flt.updated_bounds()[0] if flt is not None else None
    for day in range(day_of(newest), day_of(floor) - 1, -1):
        if changed_since is not None and not may_have_changed_since(customer, day, changed_since):
            continue
        for skeleton in day_activity(customer, day).alerts:
            created = skeleton.created_us
            if created > newest or created < floor:
                continue
            if after is not None and (created, skeleton.id) >= after:
                continue
            state = alert_state(skeleton, now_us)
            if flt is None or flt.matches(state):
                yield state


def find_alert(customer: Customer, alert_id: str, now: datetime) -> AlertState | None:
    """The alert with this id as listed at `now`, or None (unknown id, not yet created, or past retention)."""
    day = _day_of_alert_id(alert_id)
    now_us = to_us(now)
    if day is None or not day_of(retention_floor_us(now_us)) <= day <= day_of(now_us):
        return None
    for skeleton in day_activity(customer, day).alerts:
        if skeleton.id == alert_id:
            if retention_floor_us(now_us) <= skeleton.created_us <= now_us:
                return alert_state(skeleton, now_us)
            return None
    return None


def _day_of_alert_id(alert_id: str) -> int | None:
    try:
        if alert_id[:2] in {"da", "ra"}:
            ticks = int(alert_id[2:].split("_", 1)[0])
            return day_of(ticks // 10 - 62_135_596_800 * SECOND)
        return int(alert_id[2:7], 16)
    except ValueError:
        return None


def encode_cursor(after: tuple[int, str]) -> str:
    """An opaque `$skiptoken` for a cursor."""
    return base64.urlsafe_b64encode(f"{after[0]}|{after[1]}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[int, str] | None:
    """The cursor inside a `$skiptoken`, or None if it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        created, alert_id = raw.split("|", 1)
        return int(created), alert_id
    except (ValueError, UnicodeDecodeError):
        return None


def alert_page(
    customer: Customer,
    now: datetime,
    top: int,
    flt: AlertFilter | None = None,
    after: tuple[int, str] | None = None,
    include_unknown: bool = False,
    nul_ids: frozenset[str] = frozenset(),
) -> AlertPage:
    """Up to `top` alerts after `after` as one JSON array, plus the cursor of the next page (None: last)."""
    items: list[AlertState] = []
    more = False
    for state in alerts_as_of(customer, now, flt, after):
        if len(items) == top:
            more = True
            break
        items.append(state)
    body = alerts_json(customer, items, include_unknown, nul_ids)
    last = items[-1].skeleton if items else None
    return AlertPage(body, tuple(items), (last.created_us, last.id) if more and last else None)


# ---------------------------------------------------------------------------------------------------------
# Materialisation
# ---------------------------------------------------------------------------------------------------------

# Rendered alerts, bounded by bytes held (a 1,000-alert page is about 4 MB).
_BYTES: WeightedLRU[bytes] = WeightedLRU(48_000_000, len)


def configure_alert_cache(max_bytes: int) -> None:
    """Bound the rendered-alert cache to `max_bytes` of JSON (0 turns caching off)."""
    _BYTES.capacity = max(0, max_bytes)
    if not _BYTES.capacity:
        _BYTES.clear()


def alert_json(
    customer: Customer, state: AlertState, include_unknown: bool = False, nul: bool = False
) -> bytes:
    """One alert's JSON at its lifecycle state, from the bounded cache when possible."""
    key = (customer.tenant_id, customer.anchor, state.skeleton.id, state.state, include_unknown, nul)
    found = _BYTES.get(key)
    if found is not None:
        return found
    found = _render(customer, state, include_unknown, nul)
    if _BYTES.capacity:
        _BYTES.put(key, found)
    return found


def alert_dict(
    customer: Customer, state: AlertState, include_unknown: bool = False, nul: bool = False
) -> dict[str, Any]:
    """The microsoft.graph.security.alert object for `state` as a dict (the HTTP layer should use alert_json)."""
    return orjson.loads(alert_json(customer, state, include_unknown, nul))


def alerts_json(
    customer: Customer,
    states: list[AlertState] | tuple[AlertState, ...],
    include_unknown: bool = False,
    nul_ids: frozenset[str] = frozenset(),
) -> bytes:
    """A JSON array of alerts, assembled from cached bytes in a single copy."""
    parts = [b"["]
    for state in states:
        parts.append(alert_json(customer, state, include_unknown, state.skeleton.id in nul_ids))
        parts.append(b",")
    parts[-1] = b"]"
    return b"".join(parts) if states else b"[]"


def _investigation_state(template: AlertTemplate, rng: random.Random, automated: bool) -> tuple[str, str]:
    """(before enrichment, after enrichment) investigationState."""
    if template.source not in {"microsoftDefenderForEndpoint", "microsoftDefenderForOffice365"}:
        return "unsupportedAlertType", "unsupportedAlertType"
    if automated:
        return "running", "successfullyRemediated"
    settled = rng.choices(
        ("benign", "partiallyInvestigated", "successfullyRemediated", "terminatedBySystem", "failed"),
        (0.35, 0.25, 0.2, 0.15, 0.05),
    )[0]
    return "queued", settled


@lru_cache(maxsize=len(TEMPLATES))
def _static_fragment(template_index: int) -> bytes:
    """The members of an alert that only depend on its template, serialised once."""
    template = TEMPLATES[template_index]
    return orjson.dumps(_static_members(template, template.title, template.description))[1:-1]


def _static_members(template: AlertTemplate, title: str, description: str) -> dict[str, Any]:
    return {
        "productName": SOURCES[template.source][0],
        "detectorId": _detector_id(template.title),
        "title": title,
        "description": description,
        "recommendedActions": template.recommended,
        "category": template.category,
        "mitreTechniques": list(template.mitre),
    }


def _render(customer: Customer, state: AlertState, include_unknown: bool, nul: bool) -> bytes:
    skeleton = state.skeleton
    template = TEMPLATES[skeleton.template]
    rng = random.Random(skeleton.seed)  # every draw below happens in every state, in the same order
    automated = skeleton.assignee == "Automation"
    scene = make_scene(world_for(customer), skeleton.created_us, rng, remediated=automated)
    evidence = evidence_json(template.evidence, scene, include_unknown)
    first_activity = skeleton.created_us - between(rng, 60, 48 * 3600) * SECOND - between(rng, 0, SECOND)
    last_activity = min(skeleton.created_us, first_activity + between(rng, 0, 7200) * SECOND)
    threat = pick(rng, template.threats) if template.threats else (None, None)
    actor = pick(rng, _ACTORS) if template.severity_weights[3] > 0.6 and rng.random() < 0.05 else None
    before, after = _investigation_state(template, rng, automated)
    ack_comment = pick(rng, _ACK_COMMENTS) if rng.random() < 0.5 else None
    resolve_comment = pick(rng, _RESOLVE_COMMENTS[skeleton.classification]) if rng.random() < 0.6 else None
    late_comment = pick(rng, _LATE_COMMENTS)
    system_tags = ["Defender Experts"] if skeleton.severity == 3 and rng.random() < 0.05 else []
    tenant = customer.tenant_id
    events = skeleton.events
    happened = state.state
    comments = []
    author = _display_name(skeleton.assignee)
    if happened & (1 << ACKNOWLEDGED) and ack_comment:
        comments.append(_comment(ack_comment, author, events[ACKNOWLEDGED]))
    if happened & (1 << RESOLVED) and resolve_comment and not automated:
        comments.append(_comment(resolve_comment, author, events[RESOLVED]))
    if happened & (1 << LATE):
        text = late_comment
        if skeleton.late_kind == LATE_RECLASSIFIED:
            text = f"Reclassified as {skeleton.late_classification} ({skeleton.late_determination}) after review."
        comments.append(_comment(text, author, events[LATE]))
    head = orjson.dumps(
        {
            "@odata.type": "#microsoft.graph.security.alert",
            "id": skeleton.id,
            "providerAlertId": skeleton.provider_id,
            "incidentId": skeleton.incident_id,
            "status": state.status,
            "severity": SEVERITIES[skeleton.severity],
            "classification": state.classification,
            "determination": state.determination,
            "serviceSource": render(skeleton.source, EVOLVABLE_SERVICE_SOURCES, include_unknown),
            "detectionSource": render(
                skeleton.detection_source, EVOLVABLE_DETECTION_SOURCES, include_unknown
            ),
            "alertPolicyId": _policy_id(tenant, template.title) if template.policy else None,
            "tenantId": tenant,
            "assignedTo": state.assigned_to,
            "alertWebUrl": f"{PORTAL}/alerts/{skeleton.id}?tid={tenant}",
            "incidentWebUrl": f"{PORTAL}/incidents/{skeleton.incident_id}?tid={tenant}",
            "actorDisplayName": actor,
            "threatDisplayName": threat[0],
            "threatFamilyName": threat[1],
            "createdDateTime": iso7(skeleton.created_us),
            "lastUpdateDateTime": iso7(state.last_update_us),
            "resolvedDateTime": iso7(events[RESOLVED]) if happened & (1 << RESOLVED) else None,
            "firstActivityDateTime": iso3(first_activity),
            "lastActivityDateTime": iso3(last_activity),
            "investigationState": after if happened & (1 << ENRICHED) else before,
            "comments": comments,
            "systemTags": system_tags,
        }
    )
    if nul:
        # Fault injection: Graph payloads occasionally carry NUL characters inside strings.
        nul_title = template.title.replace(" ", "\u0000 ", 1)
        static = orjson.dumps(_static_members(template, nul_title, template.description + "\u0000"))[1:-1]
    else:
        static = _static_fragment(skeleton.template)
    return head[:-1] + b"," + static + b',"evidence":' + evidence + b"}"


@lru_cache(maxsize=256)
def _detector_id(title: str) -> str:
    return stable_uuid(0, "detector", title)


@lru_cache(maxsize=16_384)
def _policy_id(tenant: str, title: str) -> str:
    return stable_uuid(0, tenant, "alert-policy", title)


def _display_name(upn: str) -> str:
    if upn == "Automation":
        return "Automation"
    return upn.split("@", 1)[0].replace(".", " ").title()


def _comment(text: str, author: str, at_us: int) -> dict[str, Any]:
    return {"comment": text, "createdByDisplayName": author, "createdDateTime": iso7(at_us)}
