"""MSAL 1.39, unmodified, against the identity service: refresh tokens (secret and certificate), rotation and
expiry, auth code + PKCE, device code, client credentials, the v1 endpoint, and the JWTs it mints."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import jwt
import msal
import pytest
import requests

from tests.integration.emulator.conftest import (
    GRAPH_CLI,
    GRAPH_DEFAULT,
    admin_graph_token,
    confidential_app,
    public_app,
)
from tests.support.emulator import (
    EmulatorHandle,
    jwt_claims,
    self_signed_certificate,
    sign_in_as_partner_admin,
)

pytestmark = pytest.mark.integration
PC_SCOPE = ["https://api.partnercenter.microsoft.com/user_impersonation"]


def _graph_signing_key(emulator: EmulatorHandle, session: requests.Session, tenant: str) -> jwt.PyJWK:
    discovery = session.get(f"{emulator.identity}/{tenant}/v2.0/.well-known/openid-configuration").json()
    return jwt.PyJWKSet.from_dict(session.get(discovery["jwks_uri"]).json()).keys[0]


@pytest.mark.parametrize("where", ["partner", "customer"])
def test_msal_redeems_the_partner_refresh_token_with_a_secret(emulator, partner, session, where) -> None:
    tenant = (
        emulator.partner_tenant_id
        if where == "partner"
        else emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    )
    app = confidential_app(emulator, tenant, partner["client_id"], partner["client_secret"], session)
    result = app.acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
    assert "access_token" in result, result
    key = _graph_signing_key(emulator, session, tenant)
    # Lifetimes are on the emulator clock (2026-11-02), not the wall clock: checked below against /clock.
    claims = jwt.decode(
        result["access_token"],
        key.key,
        algorithms=["RS256"],
        audience="https://graph.microsoft.com",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    now = datetime.fromisoformat(emulator.admin_get("/clock")["now"]).timestamp()
    assert claims["nbf"] <= now < claims["exp"]
    assert claims["tid"] == tenant
    assert claims["iss"] == f"https://sts.windows.net/{tenant}/"
    assert claims["appid"] == partner["client_id"]
    assert {
        "SecurityAlert.Read.All",
        "SecurityIncident.Read.All",
        "DelegatedAdminRelationship.Read.All",
    } <= set(claims["scp"].split())
    assert claims["upn"] == emulator.admin_get("/portfolio")["partner"]["admin_user_principal_name"]
    assert claims["exp"] - claims["iat"] == 3599 + 300
    assert claims["amr"] == ["pwd", "mfa"]
    assert ("idp" in claims) == (where == "customer")
    # MSAL's view: the id token matches discovery, the account is the partner admin's home account.
    assert result["id_token_claims"]["iss"] == f"{emulator.identity}/{tenant}/v2.0"
    assert result["id_token_claims"]["aud"] == partner["client_id"]
    account = app.get_accounts()[0]
    assert account["home_account_id"] == f"{claims['oid']}.{emulator.partner_tenant_id}"
    # Graph accepts the token for the tenant it names.
    org = session.get(
        f"{emulator.graph}/v1.0/organization", headers={"Authorization": f"Bearer {result['access_token']}"}
    )
    assert org.status_code == 200
    assert org.json()["value"][0]["id"] == tenant


def test_partner_center_token_carries_user_impersonation(emulator, partner, session) -> None:
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    result = app.acquire_token_by_refresh_token(partner["refresh_token"], PC_SCOPE)
    claims = jwt_claims(result["access_token"])
    assert claims["aud"] == "https://api.partnercenter.microsoft.com"
    assert claims["scp"] == "user_impersonation"
    assert result["scope"] == "https://api.partnercenter.microsoft.com/user_impersonation"


def test_refresh_tokens_rotate_and_the_old_one_stays_valid(emulator, partner, session) -> None:
    first = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
    rotated = first["refresh_token"]
    assert rotated != partner["refresh_token"]
    second = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    ).acquire_token_by_refresh_token(partner["refresh_token"], PC_SCOPE)
    assert "access_token" in second, second
    third = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    ).acquire_token_by_refresh_token(rotated, PC_SCOPE)
    assert "access_token" in third
    assert third["refresh_token"] not in (rotated, partner["refresh_token"])


def test_refresh_tokens_expire_after_90_days_on_the_emulator_clock(emulator_factory) -> None:
    handle = emulator_factory(tenants=3)
    creds = handle.partner_credentials()
    handle.admin_post("/clock/advance", {"days": 60})
    renewed = confidential_app(
        handle, handle.partner_tenant_id, creds["client_id"], creds["client_secret"]
    ).acquire_token_by_refresh_token(creds["refresh_token"], GRAPH_DEFAULT)
    assert "access_token" in renewed, renewed
    handle.admin_post("/clock/advance", {"days": 31})
    expired = confidential_app(
        handle, handle.partner_tenant_id, creds["client_id"], creds["client_secret"]
    ).acquire_token_by_refresh_token(creds["refresh_token"], GRAPH_DEFAULT)
    assert expired["error"] == "invalid_grant"
    assert expired["error_codes"] == [700082]
    assert "2026-11-02T09:00:00" in expired["error_description"]
    # The token issued on day 60 is 31 days old: still good (inactivity is per token).
    still = confidential_app(
        handle, handle.partner_tenant_id, creds["client_id"], creds["client_secret"]
    ).acquire_token_by_refresh_token(renewed["refresh_token"], GRAPH_DEFAULT)
    assert "access_token" in still, still


def test_an_expired_access_token_is_refused_by_graph(emulator_factory) -> None:
    handle = emulator_factory(tenants=2)
    creds = handle.partner_credentials()
    token = confidential_app(
        handle, handle.partner_tenant_id, creds["client_id"], creds["client_secret"]
    ).acquire_token_by_refresh_token(creds["refresh_token"], GRAPH_DEFAULT)["access_token"]
    session = handle.http_session()
    headers = {"Authorization": f"Bearer {token}"}
    assert session.get(f"{handle.graph}/v1.0/organization", headers=headers).status_code == 200
    handle.admin_post("/clock/advance", {"hours": 1, "minutes": 10})
    refused = session.get(f"{handle.graph}/v1.0/organization", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert "expired" in refused.json()["error"]["message"]


def test_msal_certificate_credential_authenticates(emulator, partner, session) -> None:
    key_pem, cert_pem, cert_b64 = self_signed_certificate()
    token = admin_graph_token(emulator, ["https://graph.microsoft.com/Application.ReadWrite.All"])
    headers = {"Authorization": f"Bearer {token}"}
    app = session.get(
        f"{emulator.graph}/v1.0/applications(appId='{partner['client_id']}')", headers=headers
    ).json()
    patched = session.patch(
        f"{emulator.graph}/v1.0/applications/{app['id']}",
        headers=headers,
        json={
            "keyCredentials": [
                *app["keyCredentials"],
                {"type": "AsymmetricX509Cert", "usage": "Verify", "key": cert_b64, "displayName": "CN=test"},
            ]
        },
    )
    assert patched.status_code == 204, patched.text
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    for tenant, credential in (
        (
            emulator.partner_tenant_id,
            {"private_key": key_pem, "public_certificate": cert_pem},
        ),  # PS256 + x5t#S256
        (customer, {"private_key": key_pem, "public_certificate": cert_pem}),
        (
            emulator.partner_tenant_id,
            {"private_key": key_pem, "thumbprint": _sha1_thumbprint(cert_pem)},
        ),  # RS256 + x5t
    ):
        result = confidential_app(
            emulator, tenant, partner["client_id"], credential, session
        ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
        assert "access_token" in result, result
        claims = jwt_claims(result["access_token"])
        assert (claims["appidacr"], claims["tid"]) == ("2", tenant)
    other_key, other_cert, _ = self_signed_certificate("not-registered")
    refused = confidential_app(
        emulator,
        emulator.partner_tenant_id,
        partner["client_id"],
        {"private_key": other_key, "public_certificate": other_cert},
        session,
    ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
    assert refused["error"] == "invalid_client"
    assert refused["error_codes"] == [700027]


def _sha1_thumbprint(cert_pem: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - the thumbprint MSAL expects


def test_auth_code_with_pkce_signs_the_partner_admin_in(emulator, partner, session) -> None:
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    result = sign_in_as_partner_admin(app, PC_SCOPE, session, redirect_uri="http://localhost:8123")
    assert "access_token" in result, result
    assert jwt_claims(result["access_token"])["amr"] == ["pwd", "mfa"]
    assert result["refresh_token"].startswith("1.A")
    again = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    ).acquire_token_by_refresh_token(result["refresh_token"], GRAPH_DEFAULT)
    assert "access_token" in again, again


def _authorize(emulator: EmulatorHandle, session: requests.Session, client_id: str, challenge: str) -> str:
    response = session.get(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/authorize",
        params={
            "client_id": client_id,
            "response_type": "code",
            "redirect_uri": "http://localhost:8400",
            "scope": "https://graph.microsoft.com/User.Read offline_access openid",
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
    )
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("http://localhost:8400")
    assert "state=s1" in location
    return requests.utils.urlparse(location).query.split("code=")[1].split("&")[0]


def test_a_wrong_pkce_verifier_is_refused(emulator, session) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    token_url = f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token"
    form = {
        "client_id": GRAPH_CLI,
        "grant_type": "authorization_code",
        "redirect_uri": "http://localhost:8400",
        "scope": "https://graph.microsoft.com/User.Read",
    }
    wrong = session.post(
        token_url,
        data={**form, "code": _authorize(emulator, session, GRAPH_CLI, challenge), "code_verifier": "w" * 50},
    )
    assert wrong.status_code == 400
    assert wrong.json()["error_codes"] == [501481]
    right = session.post(
        token_url,
        data={**form, "code": _authorize(emulator, session, GRAPH_CLI, challenge), "code_verifier": verifier},
    )
    assert right.status_code == 200
    assert right.json()["token_type"] == "Bearer"


def test_an_unregistered_redirect_uri_is_refused_without_redirecting(emulator, partner, session) -> None:
    response = session.get(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/authorize",
        params={
            "client_id": partner["client_id"],
            "response_type": "code",
            "redirect_uri": "https://evil.example/cb",
            "scope": "openid",
        },
        allow_redirects=False,
    )
    assert response.status_code == 400
    assert "AADSTS50011" in response.text


def test_device_code_is_pending_until_the_admin_approves(emulator, session) -> None:
    start = session.post(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/devicecode",
        data={"client_id": GRAPH_CLI, "scope": "https://graph.microsoft.com/User.Read offline_access"},
    )
    flow = start.json()
    assert flow["interval"] == 5
    assert flow["verification_uri"] == f"{emulator.identity}/devicelogin"
    poll = {
        "client_id": GRAPH_CLI,
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": flow["device_code"],
    }
    token_url = f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token"
    pending = session.post(token_url, data=poll).json()
    assert (pending["error"], pending["error_codes"]) == ("authorization_pending", [70016])
    too_fast = session.post(token_url, data=poll).json()
    assert too_fast["error"] == "slow_down"
    page = session.get(flow["verification_uri"], params={"otc": flow["user_code"]})
    assert page.status_code == 200
    assert "signed in" in page.text
    granted = session.post(token_url, data=poll).json()
    assert jwt_claims(granted["access_token"])["scp"] == "User.Read"
    assert granted["refresh_token"]
    assert session.post(token_url, data=poll).json()["error_codes"] == [70000]  # a device code is single-use


def test_msal_device_flow_completes_after_approval(emulator, session) -> None:
    app = public_app(emulator, emulator.partner_tenant_id)
    flow = app.initiate_device_flow(scopes=["https://graph.microsoft.com/User.Read"])
    assert flow["user_code"] in flow["message"]
    session.get(flow["verification_uri"], params={"otc": flow["user_code"]}).raise_for_status()
    result = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    assert result["id_token_claims"]["preferred_username"].endswith(".onmicrosoft.com")


def test_an_expired_device_code_answers_expired_token(emulator_factory) -> None:
    handle = emulator_factory(tenants=1)
    session = handle.http_session()
    flow = session.post(
        f"{handle.identity}/organizations/oauth2/v2.0/devicecode",
        data={"client_id": GRAPH_CLI, "scope": "https://graph.microsoft.com/User.Read"},
    ).json()
    handle.admin_post("/clock/advance", {"minutes": 16})
    answer = session.post(
        f"{handle.identity}/organizations/oauth2/v2.0/token",
        data={
            "client_id": GRAPH_CLI,
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": flow["device_code"],
        },
    ).json()
    assert (answer["error"], answer["error_codes"]) == ("expired_token", [70020])


def test_client_credentials_give_an_app_token_with_consented_roles(emulator, partner, session) -> None:
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    result = app.acquire_token_for_client(GRAPH_DEFAULT)
    assert "access_token" in result
    assert "refresh_token" not in result
    claims = jwt_claims(result["access_token"])
    assert claims["idtyp"] == "app"
    assert "scp" not in claims
    assert {"SecurityAlert.Read.All", "Directory.Read.All"} <= set(claims["roles"])
    bad_scope = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    ).acquire_token_for_client(["https://graph.microsoft.com/User.Read"])
    assert bad_scope["error"] == "invalid_scope"
    assert bad_scope["error_codes"] == [1002012]


def test_a_service_principal_gets_an_azure_database_for_postgresql_token(emulator, partner, session) -> None:
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    result = app.acquire_token_for_client(["https://ossrdbms-aad.database.windows.net/.default"])
    assert result["expires_in"] == 3599
    claims = jwt_claims(result["access_token"])
    assert claims["aud"] == "https://ossrdbms-aad.database.windows.net"
    assert claims["iss"] == f"https://sts.windows.net/{emulator.partner_tenant_id}/"
    assert claims["idtyp"] == "app"
    assert claims["appid"] == partner["client_id"]
    assert claims["oid"] == claims["sub"]
    assert "roles" not in claims  # Entra needs no app role for this resource; the server maps `oid` to a role
    key = _graph_signing_key(emulator, session, emulator.partner_tenant_id)
    jwt.decode(
        result["access_token"],
        key.key,
        algorithms=["RS256"],
        audience="https://ossrdbms-aad.database.windows.net",
        options={"verify_exp": False},
    )


def test_a_token_lifetime_policy_shortens_app_tokens(emulator, partner, session) -> None:
    emulator.add_fault(kind="token_lifetime", seconds=320)
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    result = app.acquire_token_for_client(["https://ossrdbms-aad.database.windows.net/.default"])
    assert result["expires_in"] == 320
    claims = jwt_claims(result["access_token"])
    assert claims["exp"] - claims["iat"] == 320 + 300  # iat is back-dated five minutes, as Entra does
    with pytest.raises(AssertionError, match="seconds must be a number"):
        emulator.add_fault(kind="token_lifetime", seconds=5)


def test_the_v1_endpoint_takes_resource_and_answers_numbers_as_strings(emulator, partner, session) -> None:
    response = session.post(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/token",
        data={
            "resource": "https://api.partnercenter.microsoft.com",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": partner["refresh_token"],
            "scope": "openid",
        },
    )
    body = response.json()
    assert response.status_code == 200, body
    assert list(body)[:7] == [
        "token_type",
        "scope",
        "expires_in",
        "ext_expires_in",
        "expires_on",
        "not_before",
        "resource",
    ]
    assert body["scope"] == "user_impersonation"
    assert body["resource"] == "https://api.partnercenter.microsoft.com"
    assert body["expires_in"] == "3599"
    assert body["expires_on"].isdigit()
    assert body["not_before"].isdigit()
    assert jwt_claims(body["id_token"])["iss"] == f"https://sts.windows.net/{emulator.partner_tenant_id}/"
    assert jwt_claims(body["access_token"])["aud"] == "https://api.partnercenter.microsoft.com"


def test_the_v1_endpoint_serves_legacy_azure_ad_graph(emulator, partner, session) -> None:
    customer = emulator.customer_where(access="dap")["tenant_id"]
    response = session.post(
        f"{emulator.identity}/{customer}/oauth2/token",
        data={
            "resource": "https://graph.windows.net",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
            "grant_type": "refresh_token",
            "refresh_token": partner["refresh_token"],
        },
    )
    assert response.status_code == 200, response.text
    claims = jwt_claims(response.json()["access_token"])
    assert (claims["aud"], claims["tid"], claims["scp"]) == (
        "https://graph.windows.net",
        customer,
        "Directory.AccessAsUser.All",
    )
    assert "62e90394-69f5-4237-9190-012177145e10" in claims["wids"]  # DAP: Global Administrator


def test_client_secret_basic_is_accepted(emulator, partner, session) -> None:
    response = session.post(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token",
        auth=(partner["client_id"], partner["client_secret"]),
        data={"grant_type": "client_credentials", "scope": "https://graph.microsoft.com/.default"},
    )
    assert response.status_code == 200, response.text
    assert jwt_claims(response.json()["access_token"])["appid"] == partner["client_id"]


def test_a_tenant_can_be_named_by_domain(emulator, partner, session) -> None:
    domain = emulator.admin_get("/portfolio")["partner"]["default_domain"]
    app = confidential_app(emulator, domain, partner["client_id"], partner["client_secret"], session)
    result = app.acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
    assert jwt_claims(result["access_token"])["tid"] == emulator.partner_tenant_id


def test_msal_treats_an_unknown_tenant_as_a_discovery_failure(emulator, partner, session) -> None:
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.ConfidentialClientApplication(
            partner["client_id"],
            client_credential=partner["client_secret"],
            authority=emulator.authority("00000000-0000-4000-8000-000000000000"),
            instance_discovery=False,
            http_client=session,
        )


def test_instance_discovery_knows_only_its_own_host(emulator, session) -> None:
    url = f"{emulator.identity}/common/discovery/instance"
    ok = session.get(
        url,
        params={
            "api-version": "1.1",
            "authorization_endpoint": f"{emulator.identity}/common/oauth2/authorize",
        },
    ).json()
    host = requests.utils.urlparse(emulator.identity).netloc
    assert ok["metadata"][0]["aliases"] == [host]
    assert ok["tenant_discovery_endpoint"].startswith(emulator.identity)
    foreign = session.get(
        url, params={"authorization_endpoint": "https://elsewhere.example/common/oauth2/authorize"}
    )
    assert foreign.json()["error"] == "invalid_instance"


def test_msal_serves_the_access_token_from_its_cache(emulator, partner, session) -> None:
    app = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"], session
    )
    issued = app.acquire_token_by_refresh_token(partner["refresh_token"], PC_SCOPE)
    cached = app.acquire_token_silent(PC_SCOPE, account=app.get_accounts()[0])
    assert cached is not None
    assert cached["token_source"] == "cache"
    assert cached["access_token"] == issued["access_token"]
