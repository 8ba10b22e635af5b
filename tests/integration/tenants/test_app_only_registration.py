"""App-only access to a direct tenant with the app `register-app --app-only-permissions` registers and the
certificate it stores: the tenant's admin consents, then MSAL's client credentials at that tenant (emulator)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import msal
import psycopg
import pytest
from cryptography.fernet import Fernet

from emulator.browser import ScriptedBrowser
from smart_office.auth.errors import AuthError, AuthState
from smart_office.auth.exchange import TokenExchanger
from smart_office.auth.interactive import sign_in_with_browser
from smart_office.auth.registration import BOOTSTRAP_CLIENT_ID, BOOTSTRAP_SCOPES, register_app
from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import PostgresSecretStore
from smart_office.clouds import cloud_from_endpoints
from smart_office.runtime import load_client_credential
from smart_office.tenants.consent_url import admin_consent_url
from smart_office.tls import requests_session
from smart_office.warehouse.migrations import migrate
from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.warehouse import fresh_database


def test_registered_certificate_reads_a_direct_tenant_after_its_admin_consents(
    emulator: EmulatorHandle, postgres_server_url: str
) -> None:
    cloud = cloud_from_endpoints(emulator.endpoints)
    session = requests_session(cloud.ca_bundle)
    bootstrap = msal.PublicClientApplication(
        BOOTSTRAP_CLIENT_ID,
        authority=emulator.authority(emulator.partner_tenant_id),
        instance_discovery=False,
        http_client=session,
    )
    signed_in = sign_in_with_browser(
        bootstrap, BOOTSTRAP_SCOPES, open_browser=ScriptedBrowser(emulator.http_session())
    )
    tenant = emulator.admin_get("/portfolio/direct")[2]["tenant_id"]
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        store = PostgresSecretStore(url, [Fernet.generate_key().decode()])
        registered = register_app(
            cloud=cloud,
            admin_token=signed_in["access_token"],
            session=session,
            store=store,
            display_name="Direct tenants test app",
            credential="certificate",
            app_only_permissions=True,
        )
        application = emulator.http_session().get(
            f"{emulator.graph}/v1.0/applications(appId='{registered.app_id}')",
            headers={"Authorization": f"Bearer {signed_in['access_token']}"},
            timeout=30,
        )
        roles = [
            a
            for e in application.json()["requiredResourceAccess"]
            for a in e["resourceAccess"]
            if a["type"] == "Role"
        ]
        assert len(roles) == 3
        exchanger = TokenExchanger(
            cloud=cloud,
            client_id=registered.app_id,
            credential=load_client_credential(store),
            partner_tenant_id=emulator.partner_tenant_id,
            keeper=RefreshTokenKeeper(store),
            direct_tenants={tenant: "app_only"},
        )
        # Before the tenant's admin consented: AADSTS7000229 (no service principal there), consent_required,
        # which is that tenant's, not the partner's (the run goes on).
        with pytest.raises(AuthError) as refused:
            exchanger.get_token(tenant, cloud.graph_scope)
        assert (refused.value.state, refused.value.code) == (AuthState.CONSENT_REQUIRED, 7000229)
        assert not exchanger.is_partner_failure(refused.value)
        answer = emulator.http_session().get(
            admin_consent_url(cloud, tenant, registered.app_id), allow_redirects=False, timeout=30
        )
        assert answer.status_code == 302
        assert parse_qs(urlsplit(answer.headers["location"]).query)["admin_consent"] == ["True"]
        token = exchanger.get_token(tenant, cloud.graph_scope, force_refresh=True)
        claims = jwt_claims(token.token.reveal())
        assert claims["tid"] == tenant
        assert claims["appidacr"] == "2"  # the certificate, not a secret
        assert sorted(claims["roles"]) == [
            "SecurityAlert.Read.All",
            "SecurityEvents.Read.All",
            "SecurityIncident.Read.All",
        ]
        scores = emulator.http_session().get(
            f"{emulator.graph}/v1.0/security/secureScores?$top=1",
            headers={"Authorization": f"Bearer {token.token.reveal()}"},
            timeout=30,
        )
        assert scores.status_code == 200
        assert scores.json()["value"][0]["azureTenantId"] == tenant
