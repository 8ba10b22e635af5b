"""The demo's summary prints the posture events raised on the portfolio, read from the mart."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from smart_office.warehouse.connection import target_from_url
from smart_office_demo import demo

pytestmark = pytest.mark.slow


def test_the_demo_prints_the_active_events_by_rule(
    events_warehouse: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = events_warehouse
    with psycopg.connect(url) as conn:
        counts = dict(
            conn.execute(
                "select rule_id, count(*) from marts.fct_posture_events where is_active group by rule_id"
            ).fetchall()
        )
    assert counts
    demo.console.width = 200
    demo.print_posture_events(target_from_url(url))
    out = capsys.readouterr().out
    assert "Posture events raised by the alert rules" in out
    for rule, active in counts.items():
        assert any(rule in line and f" {active} " in line for line in out.splitlines()), (rule, out)
