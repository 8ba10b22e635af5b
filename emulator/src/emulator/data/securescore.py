"""Daily Secure Score snapshots (microsoft.graph.secureScore) per customer, newest first.

API:
- `secure_scores(customer, now) -> list[dict]` — the records `/security/secureScores` returns at `now`: one per
  UTC day for the last 90 days, newest first; day D's record exists once D's snapshot time (a per-tenant time
  of day) has passed; about 1 % of days are missing, as Graph sometimes skips a day.
- `secure_score_record(customer, day) -> dict | None` — the record of one day (day number since 1970-01-01),
  None for a skipped day. A pure function of (customer, day): later requests see identical records.
- `secure_scores_json(customer, now) -> bytes` — the same list as a JSON array (records cached as bytes).
- `record_days(customer, now) -> list[int]` — the day numbers `secure_scores` would return.
- `secure_score_record_json(customer, day) -> bytes | None` — one record as cached bytes (for `$top`/`$skip`).
- `record_created_us(customer, day) -> int` — a record's createdDateTime, for filtering days before rendering.

Invariants: currentScore = Σ controlScores.score; maxScore = Σ maxScore of the controls applicable that day
(non-deprecated, licensed, `IsApplicable` not "false"); 0 ≤ score ≤ maxScore per control; ThirdParty controls
score full points and Ignored ones none. Undocumented extras seen in real payloads are included
(controlScores: scoreInPercentage, IsApplicable, implementationStatus, lastSynced, count, total, on;
averageComparativeScores: category sub-scores and seat-band bounds), since the types are OpenType.
"""

from __future__ import annotations

import math
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson

from emulator.data.determinism import rng_for, stable_fraction
from emulator.data.lru import WeightedLRU
from emulator.data.portfolio import Customer
from emulator.data.posture import ControlScore, Posture, posture_for
from emulator.data.timestamps import DAY, HOUR, SECOND, date_text, day_of, iso0, to_us

HISTORY_DAYS = 90
MISSING_DAY_SHARE = 0.01
VENDOR_INFORMATION = {
    "provider": "SecureScore",
    "providerVersion": None,
    "subProvider": None,
    "vendor": "Microsoft",
}

# Comparative averages are percentages (CIPP#4201); bands as Microsoft reports them in TotalSeats.
_SEAT_BANDS = ((1, 100), (101, 500), (501, 1000), (1001, 5000), (5001, 10000), (10001, 1000000))
_BAND_OFFSET = (-4.5, -1.5, 0.5, 2.0, 3.5, 5.0)
_INDUSTRY_OFFSET = {
    "Financial Services": 6.0,
    "Technology": 4.5,
    "Government": 3.0,
    "Healthcare": 1.5,
    "Legal": 1.0,
    "Accounting": 0.5,
    "Engineering": 0.0,
    "Manufacturing": -1.5,
    "Logistics": -2.0,
    "Education": -2.5,
    "Real Estate": -3.0,
    "Retail": -3.5,
    "Construction": -4.0,
    "Hospitality": -4.5,
    "Nonprofit": -5.5,
}
# Typical category maxima of an average tenant (points), scaled with the average percentage.
_CATEGORY_MAX = (("identity", 59.4), ("data", 3.3), ("device", 16.8), ("apps", 79.0), ("infrastructure", 0.0))
_CATEGORY_RATIO = {"identity": 0.62, "data": 0.15, "device": 0.55, "apps": 0.38, "infrastructure": 0.0}

_RECORD_BYTES: WeightedLRU[bytes] = WeightedLRU(32_000_000, len)  # rendered records, by bytes
_FRAGMENTS: dict[tuple[object, ...], bytes] = {}
_FRAGMENT_CACHE_SIZE = 100_000


def record_days(customer: Customer, now: datetime) -> list[int]:
    """Day numbers with a record at `now`, newest first (at most 90, minus skipped days)."""
    posture = posture_for(customer)
    now_us = to_us(now)
    latest = day_of(now_us - posture.snapshot_offset_us)
    return [day for day in range(latest, latest - HISTORY_DAYS, -1) if not _skipped(customer, day)]


def record_created_us(customer: Customer, day: int) -> int:
    """The createdDateTime of day `day`'s record (µs, whole seconds as rendered), without rendering it."""
    snapshot_us = day * DAY + posture_for(customer).snapshot_offset_us
    return snapshot_us - snapshot_us % SECOND


def secure_scores(customer: Customer, now: datetime) -> list[dict[str, Any]]:
    """microsoft.graph.secureScore records at `now`, newest first."""
    return orjson.loads(secure_scores_json(customer, now))


def secure_score_record(customer: Customer, day: int) -> dict[str, Any] | None:
    """The record for day `day`, or None if Graph skipped that day for this tenant."""
    found = secure_score_record_json(customer, day)
    return None if found is None else orjson.loads(found)


def secure_scores_json(customer: Customer, now: datetime) -> bytes:
    """`secure_scores` as a JSON array; each record is serialised once and kept in a bounded cache."""
    return b"[" + b",".join(_cached_record(customer, day) for day in record_days(customer, now)) + b"]"


def secure_score_record_json(customer: Customer, day: int) -> bytes | None:
    """One day's record as JSON bytes (cached), or None for a skipped day; for `$top`/`$skip` slices."""
    return None if _skipped(customer, day) else _cached_record(customer, day)


def _cached_record(customer: Customer, day: int) -> bytes:
    key = (customer.tenant_id, customer.anchor, day)
    found = _RECORD_BYTES.get(key)
    if found is None:
        found = _RECORD_BYTES.put(key, _record_bytes(customer, posture_for(customer), day))
    return found


def _skipped(customer: Customer, day: int) -> bool:
    return stable_fraction(0, customer.tenant_id, "secure-score-missing", day) < MISSING_DAY_SHARE


def _record_bytes(customer: Customer, posture: Posture, day: int) -> bytes:
    snapshot_us = day * DAY + posture.snapshot_offset_us
    scores = posture.scores_at(snapshot_us)
    services = posture.services_at(snapshot_us)
    current = round(sum(score.score for score in scores), 2)
    maximum = sum(score.control.max_score for score in scores if score.applicable)
    # One stream per tenant-day for the small daily variations.
    daily = rng_for(0, customer.tenant_id, "secure-score-day", day).random
    wobble = 0.97 + 0.06 * daily()
    head = orjson.dumps(
        {
            "id": f"{customer.tenant_id}_{date_text(day)}",
            "azureTenantId": customer.tenant_id,
            "activeUserCount": min(customer.seats, round(customer.seats * posture.active_ratio * wobble)),
            "createdDateTime": iso0(snapshot_us),
            "currentScore": current,
            "enabledServices": _enabled_services(services),
            "licensedUserCount": customer.seats,
            "maxScore": float(maximum),
            "vendorInformation": VENDOR_INFORMATION,
            "averageComparativeScores": _comparatives(customer, posture, day, daily()),
        }
    )
    synced: dict[str, bytes] = {}
    entries = []
    for measured in scores:
        service = measured.control.service
        tail = synced.get(service)
        if tail is None:
            tail = synced[service] = b',"lastSynced":"' + _last_synced(snapshot_us, daily()) + b'"}'
        entries.append(_entry_fragment(measured) + tail)
    return head[:-1] + b',"controlScores":[' + b",".join(entries) + b"]}"


def _enabled_services(services: frozenset[str]) -> list[str]:
    # Secure Score reports Microsoft 365 services only; Defender for Cloud is an Azure plan.
    names = sorted(s for s in services if s != "HasDefenderForCloud")
    if "HasAADP1" not in services:
        names.append("HasAADFree")
    return names


def _last_synced(snapshot_us: int, lag: float) -> bytes:
    # Each service's data is synced into Secure Score at its own time, a few hours before the snapshot.
    return iso0(snapshot_us - HOUR - int(lag * 13 * HOUR)).encode()


def _entry_fragment(measured: ControlScore) -> bytes:
    """A controlScores entry as JSON without its closing brace and lastSynced, cached by measured state."""
    control = measured.control
    compliant = measured.fraction >= 1.0
    key = (
        control.id,
        measured.score,
        measured.count if measured.total else compliant,
        measured.total,
        measured.applicable,
    )
    found = _FRAGMENTS.get(key)
    if found is not None:
        return found
    entry: dict[str, Any] = {
        "controlCategory": control.category,
        "controlName": control.id,
        "description": control.description,
        "score": measured.score,
    }
    if control.measure == "devices":
        entry["IsApplicable"] = "true" if measured.applicable else "false"
    if control.measure == "binary":
        entry["implementationStatus"] = control.status[0] if compliant else control.status[-1]
        if control.service != "EXO":
            entry["on"] = "true" if compliant else "false"
    else:
        total, count = measured.total, measured.count
        entry["implementationStatus"] = control.status[0].format(
            count=count, total=total, missing=total - count, pct=round(100 * count / total) if total else 100
        )
        entry["count"] = str(count)
        entry["total"] = str(total)
    percent = 100.0 * measured.score / control.max_score if control.max_score else 0.0
    entry["scoreInPercentage"] = round(percent, 2)
    found = _FRAGMENTS[key] = orjson.dumps(entry)[:-1]
    if len(_FRAGMENTS) > _FRAGMENT_CACHE_SIZE:
        _FRAGMENTS.clear()  # cheap bound; fragments rebuild in microseconds
    return found


@lru_cache(maxsize=1024)
def _global_averages(day: int) -> tuple[float, tuple[float, ...], dict[str, float]]:
    """Microsoft's comparative averages for a day: all tenants, per seat band, per industry (percent)."""
    # The all-tenant average creeps up over the years and wobbles a little from day to day.
    rng = rng_for(0, "comparative-averages", day)
    base = 41.0 + 6.0 * math.tanh((day - 20_400) / 700) + 0.6 * (rng.random() - 0.5)
    bands = tuple(base + offset + 0.4 * (rng.random() - 0.5) for offset in _BAND_OFFSET)
    industries = {
        name: base + offset + 0.8 * (rng.random() - 0.5) for name, offset in sorted(_INDUSTRY_OFFSET.items())
    }
    return base, bands, industries


@lru_cache(maxsize=4096)
def _sub_scores(average: float) -> tuple[tuple[str, float], ...]:
    extra = []
    for name, maximum in _CATEGORY_MAX:
        ratio = _CATEGORY_RATIO[name] * average / 45.0
        extra.append((f"{name}Score", round(maximum * min(1.0, ratio), 2)))
        extra.append((f"{name}ScoreMax", maximum))
    return tuple(extra)


def _comparatives(customer: Customer, posture: Posture, day: int, glitch: float) -> list[dict[str, Any]]:
    base, bands, industries = _global_averages(day)
    band = next(i for i, (low, high) in enumerate(_SEAT_BANDS) if low <= customer.seats <= high)
    base, seats_avg = round(base, 2), round(bands[band], 2)
    industry_avg = round(industries.get(customer.industry, base), 2)
    entries: list[dict[str, Any]] = [{"basis": "AllTenants", "averageScore": base, **dict(_sub_scores(base))}]
    low, high = _SEAT_BANDS[band]
    entries.append(
        {
            "basis": "TotalSeats",
            "averageScore": seats_avg,
            "SeatSizeRangeLowerValue": str(low),
            "SeatSizeRangeUpperValue": str(high),
            **dict(_sub_scores(seats_avg)),
        }
    )
    if not posture.no_industry:
        entries.append({"basis": "IndustryTypes", "averageScore": industry_avg})
    # As seen in the wild (graph docs issues #6294, #19680): a basis reported as -1, or left out.
    if glitch < 0.015:
        entries[-1]["averageScore"] = -1.0
    elif glitch < 0.02:
        entries.pop(1)
    return entries
