"""The posture-event steps the DAG runs, as plain functions (operators/events.py is their Airflow glue).

An invalid rules file costs the rules change, never the marts: the rules last loaded stay in force (none, if no
file was ever valid), the rejection is written to the run's summary in `ops.runs` and logged as an error, and
`check_posture_rules` fails the run with that one line once the marts are published.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from smart_office.events.rules import RuleConfigError, load_rules, rules_file
from smart_office.events.store import write_rules
from smart_office.settings import Settings
from smart_office.wording import counted

log = logging.getLogger(__name__)

# The key of ops.runs.summary that records what became of the run's rules file.
SUMMARY_KEY = "posture_rules"


class PostureRulesRejectedError(RuntimeError):
    """This run's rules file was rejected (the previous rules stayed in force); one line: file, rule, field."""


def load_posture_rules(
    settings: Settings,
    *,
    loaded_at: datetime,
    run_id: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Validate the rules file and make it the rules in force (ops.posture_rules), for the dbt build that follows.

    An invalid file is not raised: the rules in force are kept, and the rejection is recorded in the run's
    summary (`run_id`) and logged as an error. Returns `{"rules": n, "file": path}` and, on a rejection,
    `"rejected": the one-line reason` with `rules` the number still in force.
    """
    from smart_office.warehouse.connection import connect

    path = rules_file(env)
    try:
        rules = load_rules(path)
    except RuleConfigError as error:
        rejected = str(error)
    else:
        rejected = None
    with connect(settings.warehouse) as conn:
        if rejected is None:
            count = write_rules(conn, rules, loaded_at=loaded_at)
            recorded: dict[str, Any] = {"status": "loaded", "rules": count, "file": str(path)}
            log.info("posture rules in force: %d from %s", count, path)
        else:
            count = _rules_in_force(conn)
            recorded = {"status": "rejected", "rules": count, "file": str(path), "error": rejected}
            log.error(
                "posture rules file rejected, the %d rules in force are kept for this build: %s",
                count,
                rejected,
            )
        if run_id is not None:
            _record(conn, run_id, recorded)
    result: dict[str, Any] = {"rules": count, "file": str(path)}
    if rejected is not None:
        result["rejected"] = rejected
    return result


def check_posture_rules(settings: Settings, *, run_id: str) -> dict[str, Any]:
    """Raise PostureRulesRejectedError if this run's rules file was rejected; else what was loaded."""
    from smart_office.warehouse.connection import connect

    with connect(settings.warehouse) as conn:
        row = conn.execute(
            "select summary -> %s from ops.runs where run_id = %s", (SUMMARY_KEY, run_id)
        ).fetchone()
    recorded = dict(row[0]) if row is not None and row[0] is not None else {}
    if recorded.get("status") == "rejected":
        raise PostureRulesRejectedError(
            f"{recorded['error']} (the marts were built with the rules in force before: "
            f"{counted(recorded['rules'], 'rule')})"
        )
    return recorded


def _rules_in_force(conn: Any) -> int:
    return int(conn.execute("select count(*) from ops.posture_rules").fetchone()[0])


def _record(conn: Any, run_id: str, recorded: dict[str, Any]) -> None:
    with conn.transaction():
        conn.execute(
            "update ops.runs set summary = summary || jsonb_build_object(%s::text, %s::jsonb) where run_id = %s",
            (SUMMARY_KEY, orjson.dumps(recorded).decode(), run_id),
        )
