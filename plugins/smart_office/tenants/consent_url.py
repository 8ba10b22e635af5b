"""The admin-consent URL a direct tenant's administrator opens to consent to the multi-tenant app (app-only).

Microsoft's v1 admin-consent endpoint, `{authority host}/{tenant}/adminconsent?client_id=…&redirect_uri=…`,
grants the app's configured application permissions in that tenant and creates its service principal there;
the browser is then sent to `redirect_uri` with `admin_consent=True&tenant=…` (or `error=…`). The redirect URI
must be one the app registered: `register-app` registers the loopback addresses, so the first one is used.
"""

from __future__ import annotations

from urllib.parse import urlencode

from smart_office.auth.registration import REDIRECT_PORTS
from smart_office.clouds import Cloud
from smart_office.tenants.registry import tenant_guid

DEFAULT_REDIRECT_URI = f"http://localhost:{REDIRECT_PORTS[0]}"


def admin_consent_url(
    cloud: Cloud, tenant: str, client_id: str, redirect_uri: str = DEFAULT_REDIRECT_URI
) -> str:
    """The URL for `tenant`'s admin, on this cloud's sign-in host."""
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri})
    return f"{cloud.authority_host.rstrip('/')}/{tenant_guid(tenant)}/adminconsent?{query}"
