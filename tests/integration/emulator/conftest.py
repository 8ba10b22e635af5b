from __future__ import annotations

from typing import Any

import msal
import pytest
import requests

from tests.support.emulator import EmulatorHandle, sign_in_as_partner_admin

GRAPH_CLI = "14d82eec-204b-4c2f-b7e8-296a70dab67e"  # Microsoft Graph Command Line Tools (first party)
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]


@pytest.fixture
def session(emulator: EmulatorHandle) -> requests.Session:
    return emulator.http_session()


@pytest.fixture
def partner(emulator: EmulatorHandle) -> dict[str, str]:
    """Fresh partner credentials (client id, new secret, new refresh token) from the admin API."""
    return emulator.partner_credentials()


def confidential_app(
    handle: EmulatorHandle,
    tenant: str,
    client_id: str,
    credential: Any,
    session: requests.Session | None = None,
) -> msal.ConfidentialClientApplication:
    """A fresh MSAL app (MSAL caches 4xx/5xx answers per instance, so tests never share one)."""
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=handle.authority(tenant),
        instance_discovery=False,
        http_client=session or handle.http_session(),
        token_cache=msal.TokenCache(),
    )


def public_app(
    handle: EmulatorHandle, tenant: str, client_id: str = GRAPH_CLI
) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        client_id,
        authority=handle.authority(tenant),
        instance_discovery=False,
        http_client=handle.http_session(),
    )


def admin_graph_token(handle: EmulatorHandle, scopes: list[str]) -> str:
    """A delegated Graph token of the partner admin, from the first-party Graph CLI client (as the demo does)."""
    result = sign_in_as_partner_admin(
        public_app(handle, handle.partner_tenant_id), scopes, handle.http_session()
    )
    assert "access_token" in result, result
    return result["access_token"]
