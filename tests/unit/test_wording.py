"""Counts agree with their noun: `1 open alert`, never `1 open alerts`."""

from __future__ import annotations

import pytest

from smart_office.wording import counted


@pytest.mark.parametrize(
    ("n", "singular", "plural", "expected"),
    [
        (1, "open alert", None, "1 open alert"),
        (2, "open alert", None, "2 open alerts"),
        (0, "rule", None, "0 rules"),
        (1204, "customer", None, "1,204 customers"),
        (1, "customer's report", "customers' reports", "1 customer's report"),
        (3, "customer's report", "customers' reports", "3 customers' reports"),
        (-1, "day", None, "-1 days"),
    ],
)
def test_counted(n: int, singular: str, plural: str | None, expected: str) -> None:
    assert counted(n, singular, plural) == expected


def test_a_digest_of_one_event_says_event() -> None:
    from smart_office.events.delivery import digest_body

    event = {
        "event_id": "e1",
        "rule_id": "score-below-40",
        "rule_type": "secure_score_below",
        "subject_id": "secure_score",
        "acknowledged_by": None,
        "severity": "warning",
        "tenant_id": "00000000-0000-4000-8000-000000000001",
        "company_name": "Contoso",
        "subject_label": "Secure Score 31 %",
        "observed_value": 31.0,
        "threshold": 40.0,
        "first_seen_at": None,
        "last_seen_at": None,
        "cleared_at": None,
        "is_active": True,
    }
    body = digest_body([event], "2026-11-22")
    assert body["text"].endswith("daily digest 2026-11-22: 1 active posture event not acknowledged")


def test_a_run_with_one_quarantined_item_says_item() -> None:
    from smart_office.extract.runs import Coverage

    sentence = Coverage(run_id="r", attempted=1, loaded=1, quarantined=1).sentence()
    assert "; 1 item quarantined" in sentence
