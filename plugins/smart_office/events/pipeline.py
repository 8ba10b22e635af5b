"""The posture-event steps the DAG runs, as plain functions (operators/events.py is their Airflow glue)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from smart_office.events.rules import load_rules, rules_file
from smart_office.events.store import write_rules
from smart_office.settings import Settings

log = logging.getLogger(__name__)


def load_posture_rules(
    settings: Settings, *, loaded_at: datetime, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Validate the rules file and make it the rules in force (ops.posture_rules), for the dbt build that follows."""
    from smart_office.warehouse.connection import connect

    path = rules_file(env)
    rules = load_rules(path)
    with connect(settings.warehouse) as conn:
        written = write_rules(conn, rules, loaded_at=loaded_at)
    log.info("posture rules in force: %d from %s", written, path)
    return {"rules": written, "file": str(path)}
