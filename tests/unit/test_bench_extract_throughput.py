"""bench/extract_throughput.py's request accounting: the pipeline's count and the emulator's, side by side on
the same rows. Neither the pipeline nor the emulator runs here: their outputs are given as they print them."""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from smart_office.auth.errors import AuthError, error_from_response

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import extract_throughput as bench  # noqa: E402

PARTNER = "partner-0000"
RELATIONSHIPS = "/v1.0/tenantRelationships/delegatedAdminRelationships"
ASSIGNMENTS = RELATIONSHIPS + "/{relationship_id}/accessAssignments"
TOKEN = "/{tenant}/oauth2/v2.0/token"


def _row(service: str, endpoint: str, tenant: str | None, requests: int, batched: int = 0) -> dict[str, Any]:
    return {
        "service": service,
        "endpoint": endpoint,
        "tenant": tenant,
        "requests": requests,
        "batched": batched,
        "throttled": 0,
        "statuses": {"200": requests},
    }


def _stats() -> dict[str, Any]:
    return {
        "endpoints": [
            _row("graph", "/v1.0/$batch", PARTNER, 1),
            _row("graph", ASSIGNMENTS, PARTNER, 2, batched=2),
            _row("identity", TOKEN, PARTNER, 1),
            _row("identity", TOKEN, "tenant-a", 1),
            _row("identity", TOKEN, "tenant-b", 1),
            _row("graph", "/v1.0/$batch", "tenant-a", 1),
            _row("graph", "/v1.0/$batch", "tenant-b", 2),
            _row("graph", "/v1.0/security/secureScores", "tenant-a", 1, batched=1),
            _row("graph", "/v1.0/security/secureScores", "tenant-b", 1, batched=1),
        ]
    }


def _result() -> dict[str, Any]:
    shard = {
        "tenants": 2,
        "requests_sent": {
            "identity": {TOKEN: 2},
            "graph": {"/v1.0/$batch": 3},
            "graph_batch_items": {"/v1.0/security/secureScores": 2},
        },
    }
    partner = {
        "identity": {TOKEN: 1},
        "graph": {"/v1.0/$batch": 1},
        # The pipeline counts the paths it sent; the emulator counts them under its route template.
        "graph_batch_items": {
            f"{RELATIONSHIPS}/rel-1/accessAssignments": 1,
            f"{RELATIONSHIPS}/rel-2/accessAssignments": 1,
        },
    }
    return {"shards": [shard], "partner_requests_sent": [partner]}


def test_concrete_paths_are_counted_under_the_emulators_route_template() -> None:
    sent = Counter({("graph", f"{RELATIONSHIPS}/rel-1/accessAssignments"): 1, ("graph", RELATIONSHIPS): 1})
    named = bench.as_emulator_names(sent, _stats())
    assert named == {("graph", ASSIGNMENTS): 1, ("graph", RELATIONSHIPS): 1}


def test_both_views_land_on_the_same_rows_and_agree() -> None:
    table = bench.request_table("daily", _result(), _stats(), PARTNER)
    partner = {(r["service"], r["endpoint"]): r for r in table["partner_tenant_requests"]}
    assert partner[("graph", ASSIGNMENTS)] == {
        "service": "graph",
        "endpoint": ASSIGNMENTS,
        "pipeline": 0,
        "emulator": 0,
        "pipeline_batch_items": 2,
        "emulator_batch_items": 2,
    }
    assert not [key for key in partner if "rel-" in key[1]]
    trips = table["round_trips_per_tenant"]
    assert (trips["pipeline"], trips["emulator"], trips["emulator_max"]) == (2.5, 2.5, 3)
    assert trips["emulator_tenants_over_3"] == 0
    assert table["batch_items_per_tenant"] == {"pipeline": 1.0, "emulator": 1.0}


class _Exchanger:
    """Answers tokens as the real exchanger's interface does: an AADSTS error body per tenant, else a token."""

    def __init__(self, errors: dict[str, dict[str, Any]], partner_failures: set[str] = frozenset()) -> None:
        self.errors = errors
        self.partner_failures = partner_failures

    async def aget_token(self, tenant_id: str, scope: str) -> str:
        if tenant_id in self.errors:
            raise error_from_response(self.errors[tenant_id], tenant_id=tenant_id)
        return f"token-for-{tenant_id}"

    def is_partner_failure(self, error: AuthError) -> bool:
        return error.tenant_id in self.partner_failures


def _aadsts(code: int) -> dict[str, Any]:
    return {"error": "invalid_grant", "error_codes": [code], "error_description": f"AADSTS{code}: refused"}


def test_the_floor_counts_a_conditional_access_refusal_and_goes_on() -> None:
    exchanger = _Exchanger({"blocked": _aadsts(53003), "mfa": _aadsts(50076)})
    failures: Counter[str] = Counter()
    tokens = [
        asyncio.run(bench.floor_token(exchanger, tenant, "scope", failures))
        for tenant in ("blocked", "ok", "mfa")
    ]
    assert tokens == [None, "token-for-ok", None]
    assert failures == {"conditional_access_blocked": 1, "mfa_required": 1}


def test_the_floor_stops_on_the_partners_own_failure() -> None:
    exchanger = _Exchanger({"partner": _aadsts(700082)}, partner_failures={"partner"})
    with pytest.raises(AuthError) as raised:
        asyncio.run(bench.floor_token(exchanger, "partner", "scope", Counter()))
    assert raised.value.code == 700082
