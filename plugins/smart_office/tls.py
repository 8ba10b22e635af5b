"""HTTP sessions that verify TLS against the configured trust store, whatever the environment says.

This machine (and many CI images) set REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, which `requests` lets override a
session's `verify`. Sessions built here ignore the environment for trust, and verify against the endpoint
set's CA bundle when there is one, else the system store (certifi via requests). Proxies they do take from
the environment, as curl does: HTTPS_PROXY (or ALL_PROXY) unless NO_PROXY names the host (`environment_proxy`).
"""

from __future__ import annotations

import ssl

import requests
from requests.adapters import HTTPAdapter

from smart_office import __version__

USER_AGENT = f"PartnerSmartOffice/{__version__}"


def verify_setting(ca_bundle: str | None) -> str | bool:
    """The `verify` value for requests/httpx: the bundle path, or True for the default trust store."""
    return ca_bundle if ca_bundle else True


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """An SSL context that verifies certificates and host names against `ca_bundle` (or system defaults)."""
    context = ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, ALL_PROXY), or None when there is none or
    NO_PROXY exempts its host. Read per request: the clients switch environment trust off for the CA's sake."""
    return requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url))


def requests_session(
    ca_bundle: str | None, *, pool_size: int = 32, timeout: float = 60.0
) -> requests.Session:
    """A requests.Session that trusts `ca_bundle` even when REQUESTS_CA_BUNDLE is set."""
    session = _TimeoutSession(timeout)
    session.trust_env = False
    session.verify = verify_setting(ca_bundle)
    session.headers["User-Agent"] = USER_AGENT
    adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size)
    session.mount("https://", adapter)
    return session


class _TimeoutSession(requests.Session):
    """requests has no session-wide timeout; MSAL passes none, and a hung socket must not hang a run."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._default_timeout = timeout

    def request(
        self, method: str | bytes, url: str | bytes, *args: object, **kwargs: object
    ) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self._default_timeout)
        target = url.decode() if isinstance(url, bytes) else url
        if "proxies" not in kwargs and (proxy := environment_proxy(target)):
            kwargs["proxies"] = {"http": proxy, "https": proxy}
        return super().request(method, url, *args, **kwargs)  # type: ignore[arg-type]
