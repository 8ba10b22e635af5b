"""The admin API contract: health, clock, faults, stats, portfolio, partner credentials."""

from __future__ import annotations

import pytest
import requests

from tests.integration.emulator.conftest import GRAPH_DEFAULT, confidential_app

pytestmark = pytest.mark.integration


def test_health(emulator) -> None:
    assert emulator.admin_get("/health") == {"status": "ok"}


def test_the_clock_starts_at_now_and_only_moves_forward(emulator_factory) -> None:
    handle = emulator_factory(tenants=1, now="2026-03-01T12:30:00+01:00")
    assert handle.admin_get("/clock")["now"] == "2026-03-01T11:30:00Z"
    assert handle.admin_post("/clock/advance", {"days": 1, "hours": 2}) == {"now": "2026-03-02T13:30:00Z"}
    session = handle.http_session()
    for bad in ({"days": -1}, {"weeks": 1}, {}, {"days": "1"}):
        assert session.post(f"{handle.admin}/clock/advance", json=bad).status_code == 400
    assert handle.admin_get("/clock")["now"] == "2026-03-02T13:30:00Z"


def test_fault_crud_and_validation(emulator, session) -> None:
    for bad in (
        {"kind": "explode"},
        {"kind": "throttle", "service": "admin"},
        {"kind": "throttle", "count": 0},
        {"kind": "http_error", "status": 418},
        {"kind": "consent_revoked", "service": "graph"},
        {"kind": "throttle", "probability": 2},
    ):
        response = session.post(f"{emulator.admin}/faults", json=bad)
        assert response.status_code == 400, bad
    created = emulator.add_fault(
        kind="throttle", service="graph", endpoint="alerts_v2", tenant="ABC", retry_after=3
    )
    assert created["params"] == {"retry_after": 3, "status": 429}
    assert created["tenant"] == "abc"
    assert created["count"] is None
    assert created["fired"] == 0
    assert emulator.admin_get(f"/faults/{created['id']}")["kind"] == "throttle"
    identity = emulator.add_fault(kind="mfa_required")
    assert identity["service"] == "identity"
    assert {f["id"] for f in emulator.admin_get("/faults")["faults"]} == {created["id"], identity["id"]}
    assert session.delete(f"{emulator.admin}/faults/{created['id']}").status_code == 204
    assert session.get(f"{emulator.admin}/faults/{created['id']}").status_code == 404
    assert emulator.admin_delete("/faults") == {"deleted": 1}


def test_stats_count_requests_per_service_endpoint_and_tenant(emulator, partner, session) -> None:
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    tokens = {
        tenant: confidential_app(
            emulator, tenant, partner["client_id"], partner["client_secret"]
        ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)["access_token"]
        for tenant in (emulator.partner_tenant_id, customer)
    }
    emulator.admin_delete("/stats")
    emulator.add_fault(kind="throttle", service="graph", tenant=customer, count=1)
    for tenant, times in ((emulator.partner_tenant_id, 3), (customer, 2)):
        for _ in range(times):
            session.get(
                f"{emulator.graph}/v1.0/organization", headers={"Authorization": f"Bearer {tokens[tenant]}"}
            )
    session.get(f"{emulator.graph}/v1.0/organization")  # no token: counted without a tenant
    stats = emulator.admin_get("/stats")
    rows = {(r["service"], r["endpoint"], r["tenant"]): r for r in stats["endpoints"]}
    assert rows[("graph", "/v1.0/organization", emulator.partner_tenant_id)]["requests"] == 3
    customer_row = rows[("graph", "/v1.0/organization", customer)]
    assert (customer_row["requests"], customer_row["throttled"], customer_row["statuses"]) == (
        2,
        1,
        {"200": 1, "429": 1},
    )
    assert rows[("graph", "/v1.0/organization", None)]["statuses"] == {"401": 1}
    assert stats["services"]["graph"] == {
        "requests": 6,
        "batched": 0,
        "throttled": 1,
        "statuses": {"200": 4, "401": 1, "429": 1},
    }
    assert stats["faults_fired"] == {"graph": {"throttle": 1}}
    assert stats["total"] == 6
    assert "admin" not in stats["services"]
    emulator.admin_delete("/stats")
    assert emulator.admin_get("/stats")["total"] == 0


def test_portfolio_summary_agrees_with_the_customer_list(emulator) -> None:
    summary = emulator.admin_get("/portfolio")
    customers = emulator.customers()
    assert summary["tenants"] == len(customers) == 25
    assert summary["seed"] == 7
    assert summary["now"] == "2026-11-02T09:00:00Z"
    assert summary["partner"]["tenant_id"] == emulator.partner_tenant_id
    assert summary["partner"]["admin_user_principal_name"].endswith(summary["partner"]["default_domain"])
    assert summary["with_delegated_access"] == sum(c["has_delegated_access"] for c in customers)
    blocked = [c for c in customers if c["baked_fault"] == "conditional_access_blocked"]
    assert summary["baked_faults"].get("conditional_access_blocked", 0) == len(blocked)
    page = emulator.admin_get("/portfolio/customers?offset=5&limit=2")["customers"]
    assert [c["index"] for c in page] == [5, 6]


def test_partner_credentials_reuse_the_app_and_mint_fresh_secrets(emulator, session) -> None:
    first, second = emulator.partner_credentials(), emulator.partner_credentials()
    assert first["partner_tenant_id"] == second["partner_tenant_id"] == emulator.partner_tenant_id
    assert first["client_id"] == second["client_id"]
    assert first["client_secret"] != second["client_secret"]
    assert first["refresh_token"] != second["refresh_token"]
    for creds in (first, second):
        result = confidential_app(
            emulator, emulator.partner_tenant_id, creds["client_id"], creds["client_secret"]
        ).acquire_token_by_refresh_token(creds["refresh_token"], GRAPH_DEFAULT)
        assert "access_token" in result, result


def test_unknown_admin_paths_are_404(emulator, session) -> None:
    response: requests.Response = session.get(f"{emulator.admin}/nothing")
    assert response.status_code == 404
    assert "error" in response.json()
