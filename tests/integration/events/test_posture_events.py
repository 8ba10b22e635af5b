"""Posture rules evaluated by dbt into marts.fct_posture_events: raised once, cleared once, kept across a full
refresh; acks and snoozes in ops through `smart-office events`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from smart_office.cli import app
from smart_office.dbt_runner import run_dbt
from smart_office.events.rules import DEFAULT_RULES_FILE, load_rules, parse_rules
from smart_office.events.store import write_rules

pytestmark = pytest.mark.slow
LOADED = datetime(2026, 11, 20, tzinfo=UTC)


def _build(url: str, target: Path, *args: str) -> None:
    """Rebuild the rules and everything downstream (rebuilding a view drops its dependants; dbt recreates them)."""
    result = run_dbt(
        ["build", "--select", "stg_ops__posture_rules+", *args],
        url,
        capture=True,
        target_path=target,
    )
    assert result.returncode == 0, result.stdout[-4000:]


def _events(url: str, rule_id: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select tenant_id::text, subject_id, is_active, first_seen_at, last_seen_at, cleared_at, event_id,"
            " observed_value::float8, threshold::float8"
            " from marts.fct_posture_events where rule_id = %s order by tenant_id, first_seen_at",
            (rule_id,),
        ).fetchall()


def _set_rules(url: str, extra: list[dict]) -> None:
    rules = load_rules(DEFAULT_RULES_FILE) + parse_rules({"rules": extra})
    with psycopg.connect(url) as conn:
        write_rules(conn, rules, loaded_at=LOADED)


def test_default_rules_raise_events_on_the_generated_portfolio(events_warehouse: tuple[str, Path]) -> None:
    """The last run's consent failure is an access-lost event of that customer; every event is active."""
    url, _ = events_warehouse
    with psycopg.connect(url) as conn:
        failed = {
            row[0]
            for row in conn.execute(
                "select tenant_id::text from marts.dim_customers where last_token_state = 'consent_required'"
            )
        }
    assert failed
    lost = _events(url, "access-lost")
    assert failed <= {e[0] for e in lost}
    assert all(e[2] and e[5] is None for e in lost)


def test_an_event_is_raised_once_and_cleared_once_and_survives_a_full_refresh(
    events_warehouse: tuple[str, Path],
) -> None:
    url, target = events_warehouse
    with psycopg.connect(url) as conn:
        tenant, pct, as_of = conn.execute(
            "select s.tenant_id::text, round(s.secure_score_pct::numeric, 2)::float8,"
            " (select max(logical_date) from ops.runs)"
            " from marts.fct_secure_scores s order by s.tenant_id, s.score_date desc limit 1"
        ).fetchone()
        other = conn.execute(
            "select tenant_id::text from marts.dim_customers where tenant_id <> %s and not is_departed limit 1",
            (tenant,),
        ).fetchone()[0]
    # Scoped to two tenants, with the second excluded: only the first qualifies, with any score.
    rule = {
        "id": "test-below",
        "type": "secure_score_below",
        "below_pct": 100,
        "scope": {"tenants": [tenant, other], "exclude_tenants": [other]},
    }
    _set_rules(url, [rule])
    _build(url, target)
    raised = _events(url, "test-below")
    assert [(e[0], e[1], e[2], e[3], e[5], e[7], e[8]) for e in raised] == [
        (tenant, "secure_score", True, as_of, None, pct, 100.0)
    ]

    _build(url, target)  # the same evaluation again: the same event, nothing new
    assert _events(url, "test-below") == raised

    _set_rules(url, [{**rule, "below_pct": 0}])  # the condition no longer holds
    _build(url, target)
    cleared = _events(url, "test-below")
    assert [(e[6], e[2], e[5]) for e in cleared] == [(raised[0][6], False, as_of)]

    _build(url, target, "--full-refresh")  # the weekly rebuild keeps the history
    assert _events(url, "test-below") == cleared

    _set_rules(url, [])  # back to the defaults for the other tests
    _build(url, target)


def test_a_rule_scoped_by_segment_applies_to_that_segments_customers_only(
    events_warehouse: tuple[str, Path],
) -> None:
    """A segment the partner tagged (ops.customer_attributes → dim_customer_segments) scopes a rule."""
    url, target = events_warehouse
    with psycopg.connect(url) as conn:
        tenants = [
            row[0]
            for row in conn.execute(
                "select distinct tenant_id::text from marts.fct_secure_scores order by 1 limit 2"
            )
        ]
        assert len(tenants) == 2
        conn.execute(
            "insert into ops.customer_attributes (tenant_id, attribute_key, attribute_value, set_by)"
            " values (%s, 'industry', 'events_test', 'test')",
            (tenants[0],),
        )
    rule = {
        "id": "test-segment",
        "type": "secure_score_below",
        "below_pct": 100,
        "scope": {"segments": ["industry=events_test"]},
    }
    _set_rules(url, [rule])

    def build() -> None:
        result = run_dbt(
            ["build", "--select", "stg_ops__customer_attributes+", "stg_ops__posture_rules+"],
            url,
            capture=True,
            target_path=target,
        )
        assert result.returncode == 0, result.stdout[-4000:]

    try:
        build()
        assert {e[0] for e in _events(url, "test-segment")} == {tenants[0]}
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("delete from ops.customer_attributes where attribute_value = 'events_test'")
        _set_rules(url, [])
        build()


def test_ack_and_snooze_are_kept_in_ops_and_listed(
    events_warehouse: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = events_warehouse
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", url)
    event_id = _events(url, "access-lost")[0][6]
    runner = CliRunner()

    acked = runner.invoke(app, ["events", "ack", event_id, "--by", "alice", "--note", "customer called"])
    assert acked.exit_code == 0, acked.output
    snoozed = runner.invoke(
        app, ["events", "snooze", event_id, "--until", "2099-01-01T00:00:00Z", "--by", "bob"]
    )
    assert snoozed.exit_code == 0, snoozed.output
    missing = runner.invoke(app, ["events", "ack", "no-such-event"])
    assert missing.exit_code == 1
    assert "no posture event 'no-such-event'" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    past = runner.invoke(app, ["events", "snooze", event_id, "--until", "2001-01-01"])
    assert past.exit_code == 2
    assert "is not in the future" in past.output

    listed = runner.invoke(app, ["events", "list", "--json", "--rule", "access-lost"])
    assert listed.exit_code == 0, listed.output
    import json

    rows = {r["event_id"]: r for r in map(json.loads, listed.output.splitlines())}
    assert rows[event_id]["acknowledged_by"] == "alice"
    assert rows[event_id]["snoozed_until"].startswith("2099-01-01T00:00:00")
    with psycopg.connect(url) as conn:
        actions = conn.execute(
            "select action_type, actor, note from ops.posture_event_actions where event_id = %s order by action_id",
            (event_id,),
        ).fetchall()
    assert actions == [("ack", "alice", "customer called"), ("snooze", "bob", None)]
