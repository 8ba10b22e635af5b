"""The optional Power BI refresh after the marts: which semantic model, through which Airflow connection.

Light on purpose (no provider import): the DAG file reads it at parse time to decide whether the
`refresh_power_bi` task exists, and `check-config` validates it. The task itself is
`smart_office.operators.power_bi`; docs/bi.md says how to turn it on.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

DATASET_ID = "SMART_OFFICE_POWERBI_DATASET_ID"
GROUP_ID = "SMART_OFFICE_POWERBI_GROUP_ID"
CONN_ID = "SMART_OFFICE_POWERBI_CONN_ID"
CHECK_INTERVAL = "SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS"
TIMEOUT = "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES"
DEFAULT_CONN_ID = "powerbi_default"
DEFAULT_CHECK_INTERVAL_SECONDS = 60
DEFAULT_TIMEOUT_MINUTES = 120
MAX_TIMEOUT_MINUTES = 600


@dataclass(frozen=True, slots=True)
class PowerBIRefreshConfig:
    """What the refresh task refreshes and how long it waits.

    :param dataset_id: the semantic model (dataset) id.
    :param group_id: the workspace (group) id holding it.
    :param conn_id: the Airflow connection of type `powerbi` (the service principal, its tenant, and — for a
        cloud other than Microsoft's public one — `base_url`, `authority` and `verify` in its extra).
    :param check_interval_seconds: how often the refresh history is polled while it runs.
    :param timeout_minutes: how long a refresh may run before the task gives up on it.
    """

    dataset_id: str
    group_id: str
    conn_id: str = DEFAULT_CONN_ID
    check_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES

    def problems(self) -> list[tuple[str, str]]:
        """(setting, message) for every value that cannot work; empty when the refresh can run."""
        found: list[tuple[str, str]] = []
        for name, value in ((DATASET_ID, self.dataset_id), (GROUP_ID, self.group_id)):
            if not value:
                found.append((name, f"is not set (the Power BI refresh needs it once {DATASET_ID} is set)"))
            elif not _is_guid(value):
                found.append((name, f"must be a GUID, got {value!r}"))
        if not self.conn_id:
            found.append((CONN_ID, "must name an Airflow connection"))
        if self.check_interval_seconds < 1:
            found.append((CHECK_INTERVAL, "must be a whole number of seconds, at least 1"))
        if not 1 <= self.timeout_minutes <= MAX_TIMEOUT_MINUTES:
            # The task's own limit (this plus 15 minutes) must stay inside the DAG run's 12 hours.
            found.append((TIMEOUT, f"must be a whole number of minutes from 1 to {MAX_TIMEOUT_MINUTES}"))
        return found


def power_bi_refresh_config(env: Mapping[str, str]) -> PowerBIRefreshConfig | None:
    """The refresh's configuration, or None when it is off (`SMART_OFFICE_POWERBI_DATASET_ID` unset).

    Never raises: the DAG file calls it while parsing, and a bad value must fail only the refresh task (and
    `check-config`), never the DAG and so the extraction.
    """
    dataset = env.get(DATASET_ID, "").strip()
    if not dataset:
        return None
    return PowerBIRefreshConfig(
        dataset_id=dataset.lower(),
        group_id=env.get(GROUP_ID, "").strip().lower(),
        conn_id=env.get(CONN_ID, "").strip() or DEFAULT_CONN_ID,
        check_interval_seconds=_whole(env.get(CHECK_INTERVAL), DEFAULT_CHECK_INTERVAL_SECONDS),
        timeout_minutes=_whole(env.get(TIMEOUT), DEFAULT_TIMEOUT_MINUTES),
    )


def _whole(raw: str | None, default: int) -> int:
    text = (raw or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        return 0  # reported by problems()


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
