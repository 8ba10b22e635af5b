"""The one-time partner consent: an interactive, MFA-capable sign-in of the partner admin that yields the
refresh token the pipeline lives on, stored (never printed) in the configured store.

PowerShell's `New-PartnerAccessToken -Consent` scraped MSAL's cache for the refresh token; MSAL Python
returns it in the result of the code redemption, so we take it from there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msal

from smart_office.auth.errors import error_from_response
from smart_office.auth.exchange import issued_at_from_result
from smart_office.auth.interactive import sign_in_with_browser, sign_in_with_device_code
from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import REFRESH_TOKEN_NAME, tenant_refresh_token_name
from smart_office.runtime import build_secret_store, load_client_credential
from smart_office.settings import Settings
from smart_office.tls import requests_session


class ConsentError(RuntimeError):
    """The consent did not produce a refresh token."""


@dataclass(frozen=True, slots=True)
class StoredConsent:
    where: str
    issued_at: datetime


def consent_scopes(settings: Settings) -> list[str]:
    """Partner Center's delegated scope; MSAL adds offline_access, openid and profile itself.

    A refresh token is not bound to a resource: the same token later redeems Graph tokens for every
    permission the app was granted.
    """
    return [settings.cloud.partner_center_scope]


def direct_tenant_scopes(settings: Settings) -> list[str]:
    """A direct tenant's admin consents to the app's Graph permissions (`.default`: all it configures); the
    token then reads that tenant's security data as that admin. No Partner Center: it is not a CSP customer."""
    return [settings.cloud.graph_scope]


def run_consent(
    settings: Settings,
    *,
    open_browser: Callable[[str], object] | None,
    show_device_code: Callable[[dict[str, Any]], object],
    timeout: float = 300.0,
    tenant: str | None = None,
) -> StoredConsent:
    """Sign the partner admin in (browser redirect, or device code when `open_browser` is None) and store the token.

    With `tenant`, a direct tenant's own admin signs in at that tenant instead, and the refresh token is stored
    under that tenant's name (`tenant_refresh_token_name`), kept and rotated like the partner's.
    """
    store = build_secret_store(settings)
    session = requests_session(settings.cloud.ca_bundle)
    authority = settings.cloud.authority(tenant or settings.partner_tenant_id)
    scopes = direct_tenant_scopes(settings) if tenant else consent_scopes(settings)
    if open_browser is not None:
        app: msal.ClientApplication = msal.ConfidentialClientApplication(
            settings.client_id,
            client_credential=load_client_credential(store).for_msal(),
            authority=authority,
            instance_discovery=False,
            http_client=session,
        )
        result = sign_in_with_browser(app, scopes, open_browser=open_browser, timeout=timeout)
    else:
        public = msal.PublicClientApplication(
            settings.client_id, authority=authority, instance_discovery=False, http_client=session
        )
        result = sign_in_with_device_code(public, scopes, show=show_device_code, timeout=timeout)
    if "error" in result:
        raise ConsentError(str(error_from_response(result, tenant_id=tenant or settings.partner_tenant_id)))
    refresh_token = result.get("refresh_token")
    if not refresh_token:
        raise ConsentError("the sign-in returned no refresh token (was offline_access granted?)")
    issued_at = issued_at_from_result(result, datetime.now(UTC))
    name = tenant_refresh_token_name(tenant) if tenant else REFRESH_TOKEN_NAME
    RefreshTokenKeeper(store, name).initialise(refresh_token, issued_at)
    return StoredConsent(where=store.describe(), issued_at=issued_at)
