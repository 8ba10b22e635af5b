"""The generated data is pinned: digests of the catalogues and of a seeded portfolio's Graph payloads.

The expected digests were computed on the code before the catalogues moved from Python calls to data files,
so that move (and any later refactoring) is proved to serve byte-identical data. A deliberate change to a
catalogue or to the generator updates the digest here, and its commit says why.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from emulator.data import clear_caches
from emulator.data.alert_catalogue import (
    CHAINS,
    SEVERITIES,
    SOURCES,
    TACTIC_NAMES,
    TEMPLATES,
    TEMPLATES_BY_SOURCE,
)
from emulator.data.alerts import alert_page
from emulator.data.catalogue import CONTROLS
from emulator.data.incidents import incident_page
from emulator.data.portfolio import Portfolio
from emulator.data.profiles import control_profiles_json
from emulator.data.securescore import secure_scores_json

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
EVERYTHING = 10**9

EXPECTED = {
    "controls": "06645c3e25d7b6dcad954843a06b561d8312c1d66a2b8626c0901049f982f5bb",
    "alert_templates": "ec34e71fa922f28de1dae9b8e235bcf1b7b69b8118bf2349878cdb14afca3916",
    "control_profiles": "9e9c2d4a8c4f564cf629106bfc60cdb862f06711434a42204ed3133050a527c2",
    "secure_scores": "0543122802ee5a35e54a1bac26b06e2021b571bb0a383def6a2c47d60668f9eb",
    "alerts": "29020eb7989144e084e5642e90b1af40200faa62ff6990146765acf33391d97e",
    "incidents": "1b135255719a39ea44e44554378f7f782617b6bffdc16197d95138d56c1cbe05",
}


def _plain(value: Any) -> Any:
    """A JSON-able form that keeps every distinction a reader of the record could see (sets sorted)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, frozenset | set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _digest(parts: list[bytes]) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _record(value: Any) -> bytes:
    return orjson.dumps(_plain(value))


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    clear_caches()
    return Portfolio(seed=23, tenants=24, anchor=NOW)


def test_the_control_catalogue_is_unchanged():
    assert _digest([_record(c) for c in CONTROLS]) == EXPECTED["controls"]


def test_the_alert_catalogue_is_unchanged():
    parts = [_record(t) for t in TEMPLATES]
    # CHAINS is only ever looked up by source, so its key order is no part of the output.
    parts += [
        _record(v) for v in (SEVERITIES, SOURCES, TEMPLATES_BY_SOURCE, sorted(CHAINS.items()), TACTIC_NAMES)
    ]
    assert _digest(parts) == EXPECTED["alert_templates"]


def test_control_profiles_are_unchanged(portfolio):
    assert _digest([control_profiles_json(c, NOW) for c in portfolio]) == EXPECTED["control_profiles"]


def test_secure_scores_are_unchanged(portfolio):
    assert _digest([secure_scores_json(c, NOW) for c in portfolio]) == EXPECTED["secure_scores"]


def test_alerts_are_unchanged(portfolio):
    parts = []
    for customer in portfolio:
        parts.append(alert_page(customer, NOW, EVERYTHING).body)
        parts.append(alert_page(customer, NOW, EVERYTHING, include_unknown=True).body)
    assert _digest(parts) == EXPECTED["alerts"]


def test_incidents_are_unchanged(portfolio):
    parts = [incident_page(c, NOW, EVERYTHING, expand_alerts=True).body for c in portfolio]
    assert _digest(parts) == EXPECTED["incidents"]
