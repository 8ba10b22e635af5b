"""Numbers as people read them: percentages, points, counts with thousands separators, durations, ages."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

DASH = "—"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(value)
    except TypeError:
        return False


def pct(value: Any, digits: int = 1) -> str:
    """A percentage already in 0..100: `57.4%`."""
    return DASH if _missing(value) else f"{float(value):,.{digits}f}%"


def share(value: Any, digits: int = 0) -> str:
    """A ratio in 0..1 as a percentage: `0.82` → `82%`."""
    return DASH if _missing(value) else f"{100 * float(value):,.{digits}f}%"


def pp(value: Any, digits: int = 1) -> str:
    """A signed change in percentage points: `+2.8 pp`."""
    if _missing(value):
        return DASH
    number = round(float(value), digits)
    return f"{number:+,.{digits}f} pp" if number else f"{0:.{digits}f} pp"


def points(value: Any, digits: int = 1) -> str:
    """Secure Score points: `1,234.5`."""
    return DASH if _missing(value) else f"{float(value):,.{digits}f}"


def count(value: Any) -> str:
    """A whole number with thousands separators: `12,345`."""
    return DASH if _missing(value) else f"{int(value):,}"


def hours(value: Any) -> str:
    """A duration given in hours, in the unit that reads best: `45 min`, `5.2 h`, `3.1 d`."""
    if _missing(value):
        return DASH
    value = float(value)
    if value < 1:
        return f"{value * 60:,.0f} min"
    if value < 48:
        return f"{value:,.1f} h"
    return f"{value / 24:,.1f} d"


def timestamp(value: datetime | None) -> str:
    """A UTC timestamp to the minute: `2026-11-20 06:01 UTC`."""
    if value is None or _missing(value):
        return DASH
    return f"{value:%Y-%m-%d %H:%M} UTC"


def label(value: str | None) -> str:
    """Graph's camelCase enum members as words: `inProgress` → `in progress`, `truePositive` → `true positive`."""
    if not isinstance(value, str) or not value:  # None, or NaN from a column of nulls
        return DASH
    words = _CAMEL.split(value.replace("_", " "))
    return " ".join(word if word.isupper() else word.lower() for word in " ".join(words).split())


def category(value: str | None) -> str:
    """An alert category (Graph sends MITRE tactics in camelCase) as words: `CommandAndControl` →
    `Command and control`. The marts keep the value as sent."""
    words = label(value)
    return words if words == DASH else words[:1].upper() + words[1:]


def rating(value: str | None, nothing: str) -> str:
    """Microsoft's Low/Moderate/High ratings of a control in one case, and its rating "None" as `nothing`
    (e.g. "no user impact"), so that a cell never reads like a missing value."""
    if not isinstance(value, str) or not value:  # None, or NaN from a column of nulls
        return DASH
    if value.strip().lower() == "none":
        return nothing
    return value.strip().capitalize()


def source_name(value: str | None, names: Mapping[str, str | None]) -> str:
    """A serviceSource as its product name: `names` is fct_alert_volume_daily's service_source_name per member
    (queries.alerts.alert_source_options); a member without one reads as words."""
    if not isinstance(value, str) or not value:  # None, or NaN from a column of nulls
        return DASH
    return names.get(value) or label(value)


def technique(technique_id: str, name: str | None) -> str:
    """A MITRE ATT&CK technique as `T1566.002 Phishing: Spearphishing Link`; the id alone when unnamed."""
    return f"{technique_id} {name}" if isinstance(name, str) and name else technique_id


# Why a customer was not loaded, in words (coverage reasons are auth/Graph states or access states).
REASON_LABELS = {
    "ok": "loaded",
    "none": "no delegated access",
    "gdap_roles_unassigned": "GDAP roles not assigned to a security group",
    "gdap_no_security_role": "GDAP without a security role",
    "gdap_expired": "GDAP expired",
    "gdap_pending": "GDAP awaiting approval",
    "consent_required": "consent required",
    "mfa_required": "MFA required",
    "conditional_access_blocked": "blocked by Conditional Access",
    "forbidden": "forbidden (licence or role)",
}


def reason(value: str | None) -> str:
    """A coverage or freshness reason in words."""
    if not isinstance(value, str) or not value:  # None, or NaN from a column of nulls
        return DASH
    return REASON_LABELS.get(value, label(value))


DATASET_NAMES = {
    "secure_scores": "Secure Scores",
    "control_profiles": "control profiles",
    "alerts_v2": "alerts",
    "incidents": "incidents",
}


def dataset(value: str | None) -> str:
    """An extracted dataset (an ops endpoint name) in words."""
    if not isinstance(value, str) or not value:  # None, or NaN from a column of nulls
        return DASH
    return DATASET_NAMES.get(value, label(value))


def risk_accepted_note(pairs: int, controls: int) -> str:
    """What the opportunities list leaves out. rpt_opportunities keeps the customer x control pairs whose risk the
    customer accepted (is_risk_accepted) and the page filters them out: `pairs` of them, over `controls` controls.
    Deprecated controls and those a customer's licences do not cover are never in the mart."""
    left_out = (
        f"Leaves out {count(pairs)} customer-control {'pair' if pairs == 1 else 'pairs'} "
        f"({count(controls)} {'control' if controls == 1 else 'different controls'}) whose risk the customer "
        "accepted. "
        if pairs
        else ""
    )
    return (
        left_out + "Deprecated controls and controls the customer's licences do not cover are never listed."
    )
