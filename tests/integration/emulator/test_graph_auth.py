"""The Graph service's bearer validation and error shape: audience, signature, tenant, permissions."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.integration.emulator.conftest import GRAPH_DEFAULT, admin_graph_token, confidential_app
from tests.support.emulator import jwt_claims

pytestmark = pytest.mark.integration


def _token(emulator, partner, tenant, scopes=GRAPH_DEFAULT) -> str:
    result = confidential_app(
        emulator, tenant, partner["client_id"], partner["client_secret"]
    ).acquire_token_by_refresh_token(partner["refresh_token"], scopes)
    return result["access_token"]


def _assert_graph_error(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["error"]["code"] == code
    inner = body["error"]["innerError"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", inner["date"])
    assert inner["request-id"] == response.headers["request-id"]
    return body


def test_graph_echoes_client_request_id_and_names_each_request(emulator, partner, session) -> None:
    token = _token(emulator, partner, emulator.partner_tenant_id)
    response = session.get(
        f"{emulator.graph}/v1.0/organization",
        headers={"Authorization": f"Bearer {token}", "client-request-id": "abc-123"},
    )
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] != response.headers["client-request-id"]
    assert response.headers["content-type"].startswith("application/json;odata.metadata=minimal")


def test_a_missing_or_malformed_token_is_401_invalid_authentication_token(emulator, session) -> None:
    missing = session.get(f"{emulator.graph}/v1.0/organization")
    body = _assert_graph_error(missing, 401, "InvalidAuthenticationToken")
    assert body["error"]["message"] == "Access token is empty."
    assert missing.headers["WWW-Authenticate"].startswith('Bearer realm=""')
    garbage = session.get(
        f"{emulator.graph}/v1.0/organization", headers={"Authorization": "Bearer not-a-jwt"}
    )
    _assert_graph_error(garbage, 401, "InvalidAuthenticationToken")


def test_a_token_for_another_audience_is_refused(emulator, partner, session) -> None:
    pc_token = _token(
        emulator,
        partner,
        emulator.partner_tenant_id,
        ["https://api.partnercenter.microsoft.com/user_impersonation"],
    )
    refused = session.get(
        f"{emulator.graph}/v1.0/organization", headers={"Authorization": f"Bearer {pc_token}"}
    )
    body = _assert_graph_error(refused, 401, "InvalidAuthenticationToken")
    assert "audience" in body["error"]["message"]


def test_a_token_signed_by_someone_else_is_refused(emulator, partner, session) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    genuine = jwt_claims(_token(emulator, partner, emulator.partner_tenant_id))
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(genuine, forger, algorithm="RS256")
    refused = session.get(
        f"{emulator.graph}/v1.0/organization", headers={"Authorization": f"Bearer {forged}"}
    )
    _assert_graph_error(refused, 401, "InvalidAuthenticationToken")


def test_each_token_reads_its_own_tenant(emulator, partner, session) -> None:
    customer = emulator.customer_where(access="dap")["tenant_id"]
    for tenant in (emulator.partner_tenant_id, customer):
        token = _token(emulator, partner, tenant)
        org = session.get(
            f"{emulator.graph}/v1.0/organization", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert [o["id"] for o in org["value"]] == [tenant]


def test_missing_permissions_are_403_authorization_request_denied(emulator, session) -> None:
    token = admin_graph_token(emulator, ["https://graph.microsoft.com/User.Read"])
    assert set(jwt_claims(token)["scp"].split()) == {"User.Read", "openid", "profile"}
    headers = {"Authorization": f"Bearer {token}"}
    assert session.get(f"{emulator.graph}/v1.0/me", headers=headers).status_code == 200
    denied = session.get(f"{emulator.graph}/v1.0/applications", headers=headers)
    body = _assert_graph_error(denied, 403, "Authorization_RequestDenied")
    assert body["error"]["message"] == "Insufficient privileges to complete the operation."


def test_me_is_delegated_only(emulator, partner, session) -> None:
    app_token = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"]
    ).acquire_token_for_client(GRAPH_DEFAULT)["access_token"]
    response = session.get(f"{emulator.graph}/v1.0/me", headers={"Authorization": f"Bearer {app_token}"})
    _assert_graph_error(response, 400, "BadRequest")


def test_unknown_segments_and_versions_answer_like_graph(emulator, session) -> None:
    unknown = session.get(f"{emulator.graph}/v1.0/nothingHere")
    assert _assert_graph_error(unknown, 400, "BadRequest")["error"]["message"] == (
        "Resource not found for the segment 'nothingHere'."
    )
    version = session.get(f"{emulator.graph}/v3.0/organization")
    assert _assert_graph_error(version, 400, "BadRequest")["error"]["message"] == "Invalid version: v3.0"
