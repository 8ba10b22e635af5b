"""Every AADSTS answer in Entra's body shape, from baked portfolio faults, injected faults and bad requests."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
import requests

from tests.integration.emulator.conftest import confidential_app
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration
GRAPH = "https://graph.microsoft.com/.default"
_STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"


def assert_entra_error(
    emulator: EmulatorHandle,
    response: requests.Response,
    *,
    code: int,
    error: str,
    status: int = 400,
    suberror: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    body = response.json()
    assert response.status_code == status, body
    assert body["error"] == error
    assert body["error_codes"] == [code]
    assert re.fullmatch(_STAMP, body["timestamp"])
    uuid.UUID(body["trace_id"])
    if correlation_id:
        assert body["correlation_id"] == correlation_id
    pattern = (
        rf"AADSTS{code}: .+\r\nTrace ID: {body['trace_id']}\r\nCorrelation ID: {body['correlation_id']}"
        rf"\r\nTimestamp: {re.escape(body['timestamp'])}"
    )
    assert re.fullmatch(pattern, body["error_description"], flags=re.S), body["error_description"]
    assert body["error_uri"] == f"{emulator.identity}/error?code={code}"
    assert body.get("suberror") == suberror
    return body


def refresh(
    emulator: EmulatorHandle,
    tenant: str,
    partner: dict[str, str],
    *,
    scope: str = GRAPH,
    secret: str | None = None,
    client_id: str | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    return emulator.http_session().post(
        f"{emulator.identity}/{tenant}/oauth2/v2.0/token",
        data={
            "client_id": client_id or partner["client_id"],
            "client_secret": secret or partner["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": token or partner["refresh_token"],
            "scope": f"{scope} offline_access openid profile",
            "client_info": "1",
        },
        headers=headers,
    )


def healthy_customer(emulator: EmulatorHandle) -> str:
    return emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]


@pytest.mark.parametrize(
    ("kind", "code", "suberror"),
    [
        ("refresh_token_expired", 700082, None),
        ("consent_revoked", 65001, "consent_required"),
        ("mfa_required", 50076, "basic_action"),
        ("conditional_access_blocked", 53003, None),
        ("partner_blocked", 530034, None),
        ("no_delegated_access", 50020, None),
    ],
)
def test_injected_identity_faults_answer_their_aadsts_code(emulator, partner, kind, code, suberror) -> None:
    tenant = healthy_customer(emulator)
    emulator.add_fault(kind=kind, tenant=tenant, count=1)
    correlation = str(uuid.uuid4())
    failed = refresh(emulator, tenant, partner, headers={"client-request-id": correlation})
    assert_entra_error(
        emulator, failed, code=code, error="invalid_grant", suberror=suberror, correlation_id=correlation
    )
    assert failed.headers["client-request-id"] == correlation
    # count=1: the fault is spent, the same request now succeeds; other tenants were never affected.
    assert refresh(emulator, tenant, partner).status_code == 200


def test_a_fault_for_one_tenant_leaves_the_others_alone(emulator, partner) -> None:
    target = healthy_customer(emulator)
    emulator.add_fault(kind="consent_revoked", tenant=target)
    assert refresh(emulator, emulator.partner_tenant_id, partner).status_code == 200
    assert refresh(emulator, target, partner).json()["error_codes"] == [65001]
    assert refresh(emulator, target, partner).json()["error_codes"] == [65001]  # no count: until deleted


def test_baked_conditional_access_block_at_a_customer(emulator, partner) -> None:
    blocked = emulator.customer_where(baked_fault="conditional_access_blocked")["tenant_id"]
    assert_entra_error(emulator, refresh(emulator, blocked, partner), code=53003, error="invalid_grant")


def test_no_gdap_means_50020_at_that_customer(emulator, partner) -> None:
    lapsed = emulator.customer_where(has_delegated_access=False, listed=True)["tenant_id"]
    body = assert_entra_error(emulator, refresh(emulator, lapsed, partner), code=50020, error="invalid_grant")
    assert "does not exist in tenant" in body["error_description"]


def test_a_wrong_client_secret_is_7000215_with_http_401(emulator, partner) -> None:
    response = refresh(emulator, emulator.partner_tenant_id, partner, secret="not-the-secret")
    body = assert_entra_error(emulator, response, code=7000215, error="invalid_client", status=401)
    assert partner["client_id"] in body["error_description"]


def test_an_injected_invalid_client_rejects_even_the_right_secret(emulator, partner) -> None:
    emulator.add_fault(kind="invalid_client", count=1)
    response = refresh(emulator, emulator.partner_tenant_id, partner)
    assert_entra_error(emulator, response, code=7000215, error="invalid_client", status=401)


def test_an_unknown_application_is_700016(emulator, partner) -> None:
    response = refresh(emulator, emulator.partner_tenant_id, partner, client_id=str(uuid.uuid4()))
    assert_entra_error(emulator, response, code=700016, error="unauthorized_client")
    emulator.add_fault(kind="app_not_found", count=1)
    assert_entra_error(
        emulator,
        refresh(emulator, emulator.partner_tenant_id, partner),
        code=700016,
        error="unauthorized_client",
    )


def test_unknown_tenant_is_90002_at_the_token_endpoint(emulator, partner) -> None:
    response = refresh(emulator, "no-such-tenant.onmicrosoft.com", partner)
    assert_entra_error(emulator, response, code=90002, error="invalid_request")


def test_unknown_tenant_on_discovery_matches_the_captured_body(emulator) -> None:
    response = emulator.http_session().get(
        f"{emulator.identity}/secrets/v2.0/.well-known/openid-configuration"
    )
    body = response.json()
    assert response.status_code == 400
    assert body["error"] == "invalid_tenant"
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: Tenant 'secrets' not found. Check to make sure")
    assert re.fullmatch(
        rf".+ Trace ID: {body['trace_id']} Correlation ID: {body['correlation_id']} Timestamp: "
        rf"{re.escape(body['timestamp'])}",
        body["error_description"],
    )


def test_a_tenant_not_found_fault_makes_msal_fail_at_construction(emulator, partner) -> None:
    tenant = healthy_customer(emulator)
    emulator.add_fault(kind="tenant_not_found", tenant=tenant, count=1)
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        confidential_app(emulator, tenant, partner["client_id"], partner["client_secret"])


@pytest.mark.parametrize(
    ("token", "code", "error"),
    [("1.A" + "x" * 60, 70000, "invalid_grant"), ("garbage", 9002313, "invalid_request")],
)
def test_an_unknown_refresh_token_is_refused(emulator, partner, token, code, error) -> None:
    assert_entra_error(
        emulator, refresh(emulator, emulator.partner_tenant_id, partner, token=token), code=code, error=error
    )


def test_a_refresh_token_is_bound_to_its_client(emulator, partner) -> None:
    device = emulator.http_session().post(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": "14d82eec-204b-4c2f-b7e8-296a70dab67e",
            "grant_type": "refresh_token",
            "refresh_token": partner["refresh_token"],
            "scope": GRAPH,
        },
    )
    assert_entra_error(emulator, device, code=700007, error="invalid_grant")


def test_an_unknown_permission_is_70011_invalid_scope(emulator, partner) -> None:
    response = refresh(
        emulator, emulator.partner_tenant_id, partner, scope="https://graph.microsoft.com/Not.A.Permission"
    )
    assert_entra_error(emulator, response, code=70011, error="invalid_scope")


def test_an_unknown_resource_is_500011(emulator, partner) -> None:
    response = refresh(
        emulator, emulator.partner_tenant_id, partner, scope="https://unknown.example.com/.default"
    )
    assert_entra_error(emulator, response, code=500011, error="invalid_resource")


def test_an_unconsented_permission_is_65001(emulator, partner) -> None:
    response = refresh(
        emulator,
        emulator.partner_tenant_id,
        partner,
        scope="https://graph.microsoft.com/Application.ReadWrite.All",
    )
    assert_entra_error(emulator, response, code=65001, error="invalid_grant", suberror="consent_required")


def test_msal_returns_the_error_body_unchanged(emulator, partner) -> None:
    emulator.add_fault(kind="mfa_required", tenant=emulator.partner_tenant_id, count=1)
    result = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"]
    ).acquire_token_by_refresh_token(partner["refresh_token"], [GRAPH])
    assert result["error"] == "invalid_grant"
    assert result["error_codes"] == [50076]
    assert result["suberror"] == "basic_action"
    assert result["error_description"].startswith("AADSTS50076: ")
