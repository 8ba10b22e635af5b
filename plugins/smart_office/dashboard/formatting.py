"""Numbers as people read them: percentages, points, counts with thousands separators, durations, ages."""

from __future__ import annotations

import math
import re
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
    if not value:
        return DASH
    words = _CAMEL.split(value.replace("_", " "))
    return " ".join(word if word.isupper() else word.lower() for word in " ".join(words).split())


# serviceSource members as the products call themselves; unknown (evolvable) members fall back to words.
SOURCE_NAMES = {
    "microsoftDefenderForEndpoint": "Defender for Endpoint",
    "microsoftDefenderForOffice365": "Defender for Office 365",
    "microsoftDefenderForIdentity": "Defender for Identity",
    "microsoftDefenderForCloudApps": "Defender for Cloud Apps",
    "microsoftDefenderForCloud": "Defender for Cloud",
    "microsoft365Defender": "Defender XDR",
    "azureAdIdentityProtection": "Entra ID Protection",
    "microsoftAppGovernance": "App Governance",
    "dataLossPrevention": "Data Loss Prevention",
    "microsoftSentinel": "Sentinel",
    "microsoftInsiderRiskManagement": "Insider Risk Management",
}


def source_name(value: str | None) -> str:
    """A serviceSource as a product name."""
    if not value:
        return DASH
    return SOURCE_NAMES.get(value, label(value))


# Why a customer was not loaded, in words (coverage reasons are auth/Graph states or access states).
REASON_LABELS = {
    "ok": "loaded",
    "none": "no delegated access",
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
    if not value:
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
    if not value:
        return DASH
    return DATASET_NAMES.get(value, label(value))
