"""The emulator's direct tenants at the identity service: admin consent, client credentials only after it
(AADSTS7000229 before), and the partner's users refused there (AADSTS50020)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.integration.emulator.test_identity_errors import assert_entra_error
from tests.support.emulator import EmulatorHandle, jwt_claims

pytestmark = pytest.mark.integration
GRAPH = "https://graph.microsoft.com/.default"


def _client_credentials(emulator: EmulatorHandle, tenant: str, creds: dict[str, str]) -> requests.Response:
    return emulator.http_session().post(
        f"{emulator.identity}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "scope": GRAPH,
        },
        timeout=30,
    )


def test_admin_consent_opens_client_credentials_at_a_direct_tenant(emulator: EmulatorHandle) -> None:
    creds = emulator.partner_credentials()
    tenant = emulator.admin_get("/portfolio/direct")[1]["tenant_id"]
    assert tenant not in {c["tenant_id"] for c in emulator.customers()}
    before = _client_credentials(emulator, tenant, creds)
    body = assert_entra_error(emulator, before, code=7000229, error="invalid_client", status=401)
    assert f"is missing service principal in the tenant {tenant}" in body["error_description"]

    consent = f"{emulator.identity}/{tenant}/adminconsent"
    wrong = emulator.http_session().get(
        f"{consent}?{urlencode({'client_id': creds['client_id'], 'redirect_uri': 'https://evil.example/'})}",
        allow_redirects=False,
        timeout=30,
    )
    assert wrong.status_code == 400
    assert "AADSTS50011" in wrong.text
    answer = emulator.http_session().get(
        f"{consent}?{urlencode({'client_id': creds['client_id'], 'redirect_uri': 'http://localhost:8400', 'state': 's1'})}",
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302
    location = urlsplit(answer.headers["location"])
    assert parse_qs(location.query) == {"admin_consent": ["True"], "tenant": [tenant], "state": ["s1"]}

    after = _client_credentials(emulator, tenant, creds)
    assert after.status_code == 200, after.text
    claims = jwt_claims(after.json()["access_token"])
    assert claims["tid"] == tenant
    assert claims["idtyp"] == "app"
    assert {"SecurityEvents.Read.All", "SecurityAlert.Read.All", "SecurityIncident.Read.All"} <= set(
        claims["roles"]
    )


def test_the_partners_refresh_token_is_refused_at_a_direct_tenant(emulator: EmulatorHandle) -> None:
    creds = emulator.partner_credentials()
    tenant = emulator.admin_get("/portfolio/direct")[0]["tenant_id"]
    refused = emulator.http_session().post(
        f"{emulator.identity}/{tenant}/oauth2/v2.0/token",
        data={
            "grant_type": "refresh_token",
            "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"],
            "scope": GRAPH,
        },
        timeout=30,
    )
    body = assert_entra_error(emulator, refused, code=50020, error="invalid_grant")
    assert "does not exist in tenant" in body["error_description"]
