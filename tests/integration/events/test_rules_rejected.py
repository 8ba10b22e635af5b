"""An invalid posture rules file costs the rules change, never the marts: the rules in force are kept for the
build (none if none was ever loaded), the one-line reason is logged as an error and recorded in the run's
summary, and `check_posture_rules` fails with it once the marts are built."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from smart_office.events.pipeline import PostureRulesRejectedError, check_posture_rules, load_posture_rules
from smart_office.events.rules import DEFAULT_RULES_FILE, load_rules
from smart_office.events.store import write_rules
from smart_office.settings import Settings
from smart_office.summary import read_run_summary, render_run_summary
from tests.integration.events.test_posture_events import LOADED, _build

pytestmark = pytest.mark.slow
LATER = datetime(2026, 11, 21, tzinfo=UTC)
REASON = "rule 'score-low': below_pct: must be between 0 and 100"
INVALID = """\
version: 1
rules:
  - id: score-low
    type: secure_score_below
    below_pct: 150
"""


def _settings(url: str) -> Settings:
    return Settings.from_env({"SMART_OFFICE_WAREHOUSE_URL": url}, require_partner=False)


def _rules(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("select * from ops.posture_rules order by rule_id").fetchall()


@pytest.fixture
def run(events_warehouse: tuple[str, Path]) -> Iterator[str]:
    """The warehouse's latest run (its summary is where the rejection goes), with the default rules in force;
    afterwards both as they were, so the session's other tests see the same warehouse."""
    url, _ = events_warehouse
    with psycopg.connect(url) as conn:
        (run_id,) = conn.execute("select run_id from ops.runs order by started_at desc limit 1").fetchone()
        write_rules(conn, load_rules(DEFAULT_RULES_FILE), loaded_at=LOADED)
    yield run_id
    with psycopg.connect(url) as conn:
        conn.execute("update ops.runs set summary = summary - 'posture_rules' where run_id = %s", (run_id,))
        write_rules(conn, load_rules(DEFAULT_RULES_FILE), loaded_at=LOADED)


def test_an_invalid_file_keeps_the_rules_in_force_builds_the_marts_and_fails_the_check(
    events_warehouse: tuple[str, Path], run: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url, target = events_warehouse
    before = _rules(url)
    assert len(before) == len(load_rules(DEFAULT_RULES_FILE))
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(INVALID)

    with caplog.at_level(logging.ERROR, logger="smart_office.events.pipeline"):
        result = load_posture_rules(
            _settings(url),
            loaded_at=LATER,
            run_id=run,
            env={"SMART_OFFICE_EVENT_RULES_FILE": str(rules_file)},
        )
    line = f"rules file {rules_file}: {REASON}"
    assert result == {"rules": len(before), "file": str(rules_file), "rejected": line}
    assert [r.levelname for r in caplog.records if line in r.getMessage()] == ["ERROR"]
    assert _rules(url) == before  # the previous rules, their loaded_at included

    # The build that follows evaluates the rules kept: the marts, events included, are built.
    _build(url, target)
    with psycopg.connect(url) as conn:
        (lost,) = conn.execute(
            "select count(*) from marts.fct_posture_events where rule_id = 'access-lost' and is_active"
        ).fetchone()
    assert lost >= 1

    with pytest.raises(PostureRulesRejectedError) as raised:
        check_posture_rules(_settings(url), run_id=run)
    assert (
        str(raised.value)
        == f"{line} (the marts were built with the rules in force before: {len(before)} rules)"
    )
    with psycopg.connect(url) as conn:
        summary = read_run_summary(conn, run)
    assert summary is not None
    assert summary.rules_rejected == line
    assert (
        f"posture rules file rejected, the build used the rules in force before ({len(before)} rules): {line}"
        in render_run_summary(summary)
    )

    # Corrected, the file is loaded and the check passes.
    rules_file.write_text(DEFAULT_RULES_FILE.read_text())
    loaded = load_posture_rules(
        _settings(url), loaded_at=LATER, run_id=run, env={"SMART_OFFICE_EVENT_RULES_FILE": str(rules_file)}
    )
    assert loaded == {"rules": len(before), "file": str(rules_file)}
    assert check_posture_rules(_settings(url), run_id=run)["status"] == "loaded"
    assert {row[-1] for row in _rules(url)} == {LATER}


def test_with_no_rules_ever_loaded_an_invalid_file_leaves_none(
    events_warehouse: tuple[str, Path], run: str, tmp_path: Path
) -> None:
    url, _ = events_warehouse
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(INVALID)
    with psycopg.connect(url) as conn:
        conn.execute("delete from ops.posture_rules")
    result = load_posture_rules(
        _settings(url),
        loaded_at=LATER,
        run_id=run,
        env={"SMART_OFFICE_EVENT_RULES_FILE": str(rules_file)},
    )
    assert result["rules"] == 0
    assert _rules(url) == []
    with pytest.raises(PostureRulesRejectedError, match=r"built with the rules in force before: 0 rules\)$"):
        check_posture_rules(_settings(url), run_id=run)
