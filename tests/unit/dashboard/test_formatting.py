"""Numbers as people read them."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from smart_office.dashboard import formatting as fmt

# As queries.alerts.alert_source_options reads them from fct_alert_volume_daily: a member may have no name.
NAMES = {"microsoftDefenderForEndpoint": "Defender for Endpoint", "microsoftSentinel": None}


@pytest.mark.parametrize(
    ("function", "value", "expected"),
    [
        (fmt.pct, 57.4321, "57.4%"),
        (fmt.pct, None, "—"),
        (fmt.pct, math.nan, "—"),
        (fmt.share, 0.8181, "82%"),
        (fmt.pp, 2.75, "+2.8 pp"),
        (fmt.pp, -1.04, "-1.0 pp"),
        (fmt.pp, 0.01, "0.0 pp"),
        (fmt.points, 1234.56, "1,234.6"),
        (fmt.count, 1234567, "1,234,567"),
        (fmt.hours, 0.5, "30 min"),
        (fmt.hours, 5.25, "5.2 h"),
        (fmt.hours, 74, "3.1 d"),
        (fmt.label, "inProgress", "in progress"),
        (fmt.label, "consent_required", "consent required"),
        (fmt.reason, "none", "no delegated access"),
        (fmt.reason, "throttled", "throttled"),
        (fmt.reason, "gdap_roles_unassigned", "GDAP roles not assigned to a security group"),
        (lambda v: fmt.source_name(v, NAMES), "microsoftDefenderForEndpoint", "Defender for Endpoint"),
        (lambda v: fmt.source_name(v, NAMES), "microsoftSecurityForAI", "microsoft security for AI"),
        (lambda v: fmt.source_name(v, NAMES), "microsoftSentinel", "microsoft sentinel"),
        (
            lambda v: fmt.technique(v, "Phishing: Spearphishing Link"),
            "T1566.002",
            "T1566.002 Phishing: Spearphishing Link",
        ),
        (lambda v: fmt.technique(v, None), "T9999", "T9999"),
        (fmt.dataset, "alerts_v2", "alerts"),
        (fmt.category, "CommandAndControl", "Command and control"),
        (fmt.category, "InitialAccess", "Initial access"),
        (fmt.category, "Malware", "Malware"),
        (fmt.category, None, "—"),
        # pandas makes a column of nulls float NaN.
        (fmt.category, math.nan, "—"),
        (fmt.label, math.nan, "—"),
        (lambda v: fmt.source_name(v, NAMES), math.nan, "—"),
        (lambda v: fmt.rating(v, "none"), math.nan, "—"),
        (lambda v: fmt.rating(v, "no user impact"), "None", "no user impact"),
        (lambda v: fmt.rating(v, "no user impact"), "moderate", "Moderate"),
        (lambda v: fmt.rating(v, "no user impact"), "Low", "Low"),
        (lambda v: fmt.rating(v, "no user impact"), None, "—"),
    ],
)
def test_formats(function, value, expected: str) -> None:  # type: ignore[no-untyped-def]
    assert function(value) == expected


def test_timestamp_is_utc_to_the_minute() -> None:
    assert fmt.timestamp(datetime(2026, 11, 20, 6, 1, 59, tzinfo=UTC)) == "2026-11-20 06:01 UTC"
    assert fmt.timestamp(None) == "—"


@pytest.mark.parametrize(
    ("pairs", "controls", "expected"),
    [
        (
            52,
            38,
            "Leaves out 52 customer-control pairs (38 different controls) whose risk the customer accepted.",
        ),
        (1, 1, "Leaves out 1 customer-control pair (1 control) whose risk the customer accepted."),
    ],
)
def test_risk_accepted_note_counts_pairs_and_controls_apart(pairs: int, controls: int, expected: str) -> None:
    assert fmt.risk_accepted_note(pairs, controls).startswith(expected)


def test_risk_accepted_note_without_any_says_only_what_is_never_listed() -> None:
    assert fmt.risk_accepted_note(0, 0) == (
        "Deprecated controls and controls the customer's licences do not cover are never listed."
    )
