"""`EmulatorConfig`: what `emulator serve` was started with (seed, tenants, clock start, ports, state dir)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from emulator.data.portfolio import FAULT_PROFILES

SERVICES: tuple[str, ...] = ("identity", "graph", "partner_center", "key_vault", "admin", "power_bi")
"""The six services, in port order: `--port P` puts identity on P, graph on P+1, … admin on P+4, Power BI on
P+5 (added last, so the first five keep their ports)."""


class ConfigError(ValueError):
    """A serve option is invalid; the message names it."""


def parse_instant(text: str) -> datetime:
    """An aware UTC datetime from ISO 8601 (`Z` or an offset; a naive value is taken as UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"--now {text!r} is not an ISO 8601 date-time (e.g. 2026-11-02T09:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Serve options; `now` is the emulator clock's start (see `emulator.clock`)."""

    now: datetime
    state_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    tenants: int = 25
    seed: int = 1
    fault_profile: str = "realistic"
    running_clock: bool = False

    def __post_init__(self) -> None:
        if self.tenants < 0:
            raise ConfigError("--tenants must be >= 0")
        if not 0 <= self.port <= 65535 - len(SERVICES):
            raise ConfigError(f"--port must be 0 or a port with {len(SERVICES) - 1} free ports after it")
        if self.fault_profile not in FAULT_PROFILES:
            raise ConfigError(f"--fault-profile must be one of {', '.join(FAULT_PROFILES)}")
        if self.now.tzinfo is None:
            raise ConfigError("now must be timezone-aware")
