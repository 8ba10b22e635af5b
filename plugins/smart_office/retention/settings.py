"""The retention and purge settings (declared with the others in smart_office.settings.ENVIRONMENT)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from smart_office.redaction import Secret
from smart_office.settings import SettingsError

RAW_RETENTION_DAYS = "SMART_OFFICE_RAW_RETENTION_DAYS"
PURGE_DEPARTED_AFTER_DAYS = "SMART_OFFICE_PURGE_DEPARTED_AFTER_DAYS"
PURGE_KEY = "SMART_OFFICE_PURGE_KEY"
RETENTION_BATCH_SIZE = "SMART_OFFICE_RETENTION_BATCH_SIZE"


@dataclass(frozen=True, slots=True)
class RetentionSettings:
    """None: keep (raw versions) / never (departed customers)."""

    raw_retention_days: int | None = None
    purge_departed_after_days: int | None = None
    purge_key: Secret | None = None
    batch_size: int = 5_000

    def __repr__(self) -> str:
        return (
            f"RetentionSettings(raw_retention_days={self.raw_retention_days}, "
            f"purge_departed_after_days={self.purge_departed_after_days}, batch_size={self.batch_size})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionSettings:
        env = os.environ if env is None else env
        problems: list[str] = []

        def days(name: str, minimum: int) -> int | None:
            raw = env.get(name, "").strip()
            if not raw or raw.lower() in {"keep", "off", "never"}:
                return None
            try:
                value = int(raw)
            except ValueError:
                problems.append(f"{name} must be a number of days, got {raw!r}")
                return None
            if value < minimum:
                problems.append(f"{name} must be at least {minimum}, got {raw!r}")
                return None
            return value

        retention = days(RAW_RETENTION_DAYS, 1)
        departed = days(PURGE_DEPARTED_AFTER_DAYS, 0)
        batch = days(RETENTION_BATCH_SIZE, 1) or 5_000
        key = env.get(PURGE_KEY, "").strip()
        if departed is not None and not key:
            problems.append(
                f"{PURGE_DEPARTED_AFTER_DAYS} needs {PURGE_KEY} (the key of the purge records' hashes)"
            )
        if problems:
            raise SettingsError(*problems)
        return cls(
            raw_retention_days=retention,
            purge_departed_after_days=departed,
            purge_key=Secret(key) if key else None,
            batch_size=batch,
        )
