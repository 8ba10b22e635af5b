"""Exchange the partner refresh token for access tokens, per customer tenant and per resource, with MSAL.

One `ConfidentialClientApplication` per tenant authority (MSAL binds an app to one authority), created on
first use and kept in a bounded LRU. Creating one makes MSAL fetch the tenant's OpenID configuration, unless
the `DiscoveryCache` (smart_office.auth.discovery_cache), handed to each application as its `http_cache`,
already holds it from an earlier process or run: a daily run then makes only the token request. Access
tokens are cached in-process until shortly before they expire, so a run makes one token request per tenant
per resource, however many Graph requests follow. Each exchange returns a rotated refresh token, which
`RefreshTokenKeeper` uses for the next exchange at once and writes back (compare-and-swap) only when the
stored one is SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS older.

Transient failures (a 5xx or a dropped connection at the identity service, during the tenant's OpenID
discovery or at its token endpoint) are retried with backoff inside a time budget; AADSTS errors that need
a human (consent, MFA, Conditional Access, an expired refresh token) are never retried. MSAL itself
remembers a 429/5xx answer of the token endpoint for its Retry-After (5 s when absent) and replays it to a
caller who asks again sooner, so a retry waits at least that long.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import msal
import requests

from smart_office.auth.discovery_cache import DiscoveryCache
from smart_office.auth.errors import (
    AuthError,
    AuthState,
    ConsentRequiredError,
    TenantNotFoundError,
    TransientAuthError,
    error_from_response,
)
from smart_office.auth.rotation import NoRefreshTokenError, RefreshTokenKeeper
from smart_office.auth.stores import tenant_refresh_token_name
from smart_office.clouds import Cloud
from smart_office.graph.rate_limits import RetryPolicy
from smart_office.redaction import Secret
from smart_office.tls import requests_session

log = logging.getLogger(__name__)

DEFAULT_EXPIRY_SKEW = timedelta(minutes=5)
# MSAL replays a throttled/5xx token response for its Retry-After, 5 s when the header is absent.
MSAL_THROTTLE_SECONDS = 5.0
# A customer's identity hiccup is retried for about a minute; longer outages become that tenant's
# `transient` outcome and the next run tries again.
DEFAULT_IDENTITY_RETRY = RetryPolicy(budget=60.0, max_wait=60.0, backoff_base=2.0, backoff_cap=20.0)


class _StatusRecordingClient:
    """The requests session MSAL uses, remembering (per thread) the status of the last GET it made, and
    counting the requests that went out (MSAL answers some from its http_cache without calling it).

    MSAL turns any failed tenant discovery into the same ValueError ("Unable to get authority
    configuration"), whether the tenant does not exist (400) or the service throttled us (429) or sent a
    broken body; the status tells those apart.

    :param session: the session that sends.
    :param authority_host: the identity service's root; the path segment after it (the tenant) is counted
        as `{tenant}`, as the identity service's routes are written.
    """

    def __init__(self, session: requests.Session, authority_host: str = "") -> None:
        self._session = session
        self._local = threading.local()
        self._prefix_segments = len([p for p in urlsplit(authority_host).path.split("/") if p])
        self._sent: Counter[str] = Counter()
        self._sent_lock = threading.Lock()

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self._local.status = None
        self._count(url)
        response = self._session.get(url, **kwargs)
        self._local.status = response.status_code
        return response

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        self._count(url)
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        self._session.close()

    def forget_status(self) -> None:
        """Before an application is created: a discovery answered from the cache leaves no status behind."""
        self._local.status = None

    @property
    def last_get_status(self) -> int | None:
        return getattr(self._local, "status", None)

    def sent(self) -> dict[str, int]:
        """Requests sent, by endpoint (`/{tenant}/oauth2/v2.0/token`, …)."""
        with self._sent_lock:
            return dict(self._sent)

    def _count(self, url: str) -> None:
        segments = urlsplit(url).path.split("/")
        # segments[0] is "" (the path starts with "/"); the tenant follows the authority host's own path.
        tenant_at = 1 + self._prefix_segments
        if len(segments) > tenant_at:
            segments[tenant_at] = "{tenant}"
        with self._sent_lock:
            self._sent["/".join(segments)] += 1


@dataclass(frozen=True, slots=True)
class ClientCredential:
    """The app's own credential: a secret, or a certificate (PEM private key + PEM certificate)."""

    client_secret: Secret | None = None
    private_key_pem: Secret | None = None
    certificate_pem: str | None = None

    def for_msal(self) -> str | dict[str, str]:
        if self.private_key_pem is not None and self.certificate_pem:
            return {"private_key": self.private_key_pem.reveal(), "public_certificate": self.certificate_pem}
        if self.client_secret is not None:
            return self.client_secret.reveal()
        raise ValueError("the app credential needs a client secret or a certificate with its private key")

    def __repr__(self) -> str:
        kind = "certificate" if self.private_key_pem is not None else "secret"
        return f"ClientCredential({kind})"


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: Secret
    expires_at: datetime
    tenant_id: str
    scope: str

    def __repr__(self) -> str:
        return (
            f"AccessToken(tenant_id={self.tenant_id!r}, scope={self.scope!r}, expires_at={self.expires_at})"
        )


class TokenExchanger:
    """Access tokens for (tenant, scope) from the partner's refresh token.

    Thread-safe; the async `aget_token` runs MSAL in a worker thread. Concurrent callers for the same
    (tenant, scope) wait for one exchange instead of making their own.

    :param cloud: endpoint set (authority host, CA bundle).
    :param client_id: application (client) id of the Secure Application Model app.
    :param credential: the app's secret or certificate.
    :param partner_tenant_id: the partner's own tenant; failures there stop the run.
    :param keeper: holds and rotates the partner refresh token.
    :param session: requests session for MSAL (defaults to one trusting the cloud's CA).
    :param expiry_skew: tokens expiring sooner than this are treated as expired.
    :param max_apps: bound on cached per-tenant MSAL applications (each holds its own discovery and HTTP
        state; a shard visits each customer once, so a few dozen cover the concurrency).
    :param clock: UTC clock for cache expiry (token lifetimes are relative, so wall time is right here).
    :param retry: time budget for transient identity failures (5xx, connection errors) per token.
    :param sleep: how the synchronous path waits between retries (tests pass a fake).
    :param discovery_cache: where OpenID discovery documents are shared across processes and runs; None
        keeps them per application, in memory (MSAL's default).
    :param direct_tenants: direct tenants (not CSP customers) and how each is read: `app_only` (client
        credentials of the app at that tenant, after its admin consented) or `delegated` (that tenant's own
        refresh token, kept and rotated like the partner's under `tenant_refresh_token_name`). A direct
        tenant's failures are its own, never the partner's.
    """

    def __init__(
        self,
        *,
        cloud: Cloud,
        client_id: str,
        credential: ClientCredential,
        partner_tenant_id: str,
        keeper: RefreshTokenKeeper,
        session: requests.Session | None = None,
        expiry_skew: timedelta = DEFAULT_EXPIRY_SKEW,
        max_apps: int = 32,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy = DEFAULT_IDENTITY_RETRY,
        sleep: Callable[[float], None] = time.sleep,
        discovery_cache: DiscoveryCache | None = None,
        direct_tenants: Mapping[str, str] | None = None,
    ) -> None:
        self.cloud = cloud
        self.client_id = client_id
        self.partner_tenant_id = partner_tenant_id
        self.keeper = keeper
        self._credential = credential
        self._session = session or requests_session(cloud.ca_bundle)
        self._http = _StatusRecordingClient(self._session, cloud.authority_host)
        self._discovery_cache = discovery_cache
        self._skew = expiry_skew
        self._max_apps = max_apps
        self._clock = clock
        self._retry = retry
        self._sleep = sleep
        self._apps: OrderedDict[str, msal.ConfidentialClientApplication] = OrderedDict()
        self._apps_lock = threading.Lock()
        self._tokens: dict[tuple[str, str], AccessToken] = {}
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._direct = {t.lower(): kind for t, kind in (direct_tenants or {}).items()}
        self._direct_keepers: dict[str, RefreshTokenKeeper] = {}
        self.exchanges = 0  # token requests made; "one per tenant per resource per run" is measurable
        self.transient_retries = 0

    def requests_sent(self) -> dict[str, int]:
        """Requests this exchanger sent to the identity service, by endpoint (discovery, token)."""
        return self._http.sent()

    def get_token(self, tenant_id: str, scope: str, *, force_refresh: bool = False) -> AccessToken:
        """An access token for `scope` (e.g. https://graph.microsoft.com/.default) in `tenant_id`.

        Transient identity failures are retried (blocking) within the retry budget.
        """
        budget = self._retry.start()
        while True:
            try:
                return self._get_token_once(tenant_id, scope, force_refresh)
            except TransientAuthError:
                wait = budget.next_wait(minimum=MSAL_THROTTLE_SECONDS)
                if wait is None:
                    raise
                self.transient_retries += 1
                log.info("identity service unavailable for %s; retrying in %.0fs", tenant_id, wait)
                self._sleep(wait)

    async def aget_token(self, tenant_id: str, scope: str, force_refresh: bool = False) -> str:
        """Async form returning the bearer string, the shape GraphClient's token_provider takes.

        MSAL runs in a worker thread; waits between retries are on the event loop, so a tenant waiting
        out an identity hiccup holds no thread.
        """
        key = (tenant_id.lower(), scope)
        cached = self._tokens.get(key)
        if cached is not None and not force_refresh and cached.expires_at - self._skew > self._clock():
            return cached.token.reveal()
        budget = self._retry.start()
        while True:
            try:
                token = await asyncio.to_thread(self._get_token_once, tenant_id, scope, force_refresh)
                return token.token.reveal()
            except TransientAuthError:
                wait = budget.next_wait(minimum=MSAL_THROTTLE_SECONDS)
                if wait is None:
                    raise
                self.transient_retries += 1
                log.info("identity service unavailable for %s; retrying in %.0fs", tenant_id, wait)
                await asyncio.sleep(wait)

    def _get_token_once(self, tenant_id: str, scope: str, force_refresh: bool) -> AccessToken:
        key = (tenant_id.lower(), scope)
        with self._lock_for(key):
            cached = self._tokens.get(key)
            if cached is not None and not force_refresh and cached.expires_at - self._skew > self._clock():
                return cached
            token = self._exchange(tenant_id, scope)
            self._tokens[key] = token
            return token

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._locks_lock:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def _app(self, tenant_id: str) -> msal.ConfidentialClientApplication:
        with self._apps_lock:
            app = self._apps.get(tenant_id)
            if app is not None:
                self._apps.move_to_end(tenant_id)
                return app
        authority = self.cloud.authority(tenant_id)
        self._http.forget_status()
        try:
            app = msal.ConfidentialClientApplication(
                self.client_id,
                client_credential=self._credential.for_msal(),
                authority=authority,
                # Instance discovery asks login.microsoftonline.com about the host; well-known hosts skip it
                # anyway, and an explicit endpoint set is trusted by configuration.
                instance_discovery=False,
                http_client=self._http,
                # Discovery documents from the shared file (public documents only; see discovery_cache).
                http_cache=(
                    self._discovery_cache.for_authority(authority)
                    if self._discovery_cache is not None
                    else None
                ),
                token_cache=msal.TokenCache(),
            )
        except ValueError as exc:
            # MSAL fetches the tenant's OpenID configuration in the constructor and reports every 4xx, and a
            # 200 whose body is not JSON, as this ValueError: 400/404 is an unknown tenant (AADSTS90002),
            # anything else (429, a broken body) is transient.
            status = self._http.last_get_status
            if status in {400, 404}:
                raise TenantNotFoundError(
                    AuthState.TENANT_NOT_FOUND, tenant_id=tenant_id, code=90002, detail=str(exc)
                ) from None
            raise TransientAuthError(
                AuthState.TRANSIENT,
                tenant_id=tenant_id,
                detail=f"OpenID discovery failed (HTTP {status})" if status else "OpenID discovery failed",
            ) from None
        except (msal.exceptions.MsalError, requests.RequestException, RuntimeError) as exc:
            # 5xx during discovery: MSAL raises MsalServiceError("HTTP Error: 503"), or requests' own error.
            raise TransientAuthError(
                AuthState.TRANSIENT,
                tenant_id=tenant_id,
                detail=f"{type(exc).__name__} during OpenID discovery: {exc}",
            ) from None
        with self._apps_lock:
            self._apps[tenant_id] = app
            while len(self._apps) > self._max_apps:
                self._apps.popitem(last=False)
        return app

    def credential_of(self, tenant_id: str) -> str:
        """How a tenant is read: `partner` (the partner's delegated access), `app_only` or `delegated`."""
        return self._direct.get(tenant_id.lower(), "partner")

    def _keeper_for(self, tenant_id: str) -> RefreshTokenKeeper:
        """The refresh token that reads `tenant_id`: the partner's, or a delegated direct tenant's own."""
        if self.credential_of(tenant_id) != "delegated":
            return self.keeper
        with self._apps_lock:
            keeper = self._direct_keepers.get(tenant_id.lower())
            if keeper is None:
                keeper = self._direct_keepers[tenant_id.lower()] = self.keeper.for_name(
                    tenant_refresh_token_name(tenant_id)
                )
            return keeper

    def _exchange(self, tenant_id: str, scope: str) -> AccessToken:
        app = self._app(tenant_id)
        credential = self.credential_of(tenant_id)
        keeper = self._keeper_for(tenant_id)
        refresh_token = None
        if credential != "app_only":
            try:
                refresh_token = keeper.current()
            except NoRefreshTokenError:
                if credential == "partner":
                    raise
                raise ConsentRequiredError(
                    AuthState.CONSENT_REQUIRED,
                    tenant_id=tenant_id,
                    detail="no refresh token of this direct tenant is stored yet",
                ) from None
        try:
            if refresh_token is None:
                result: dict[str, Any] = app.acquire_token_for_client([scope])
            else:
                result = app.acquire_token_by_refresh_token(refresh_token.value.reveal(), [scope])
        except msal.exceptions.MsalError as exc:  # MSAL raises on 5xx
            raise TransientAuthError(AuthState.TRANSIENT, tenant_id=tenant_id, detail=str(exc)) from None
        except (requests.RequestException, ValueError, RuntimeError) as exc:
            raise TransientAuthError(
                AuthState.TRANSIENT, tenant_id=tenant_id, detail=type(exc).__name__
            ) from None
        finally:
            self.exchanges += 1
        if "access_token" not in result:
            error = error_from_response(result, tenant_id=tenant_id)
            log.info("token for %s failed: %s (AADSTS%s)", tenant_id, error.state.value, error.code)
            raise error
        now = self._clock()
        rotated = result.get("refresh_token")
        if rotated and credential != "app_only":
            keeper.offer(rotated, issued_at_from_result(result, now))
        expires_in = int(result.get("expires_in", 3600))
        return AccessToken(
            Secret(result["access_token"]), now + timedelta(seconds=expires_in), tenant_id, scope
        )

    def is_partner_failure(self, error: AuthError) -> bool:
        """A failure that would hit every tenant: broken app credential/refresh token, or the partner tenant itself."""
        if self.credential_of(error.tenant_id) != "partner":
            return False  # a direct tenant's credential is its own: its failure costs that tenant only
        return error.is_partner_level or error.tenant_id.lower() == self.partner_tenant_id.lower()


def issued_at_from_result(result: dict[str, Any], fallback: datetime) -> datetime:
    """When the identity service issued the tokens: the id_token's `iat`, which the client may read.

    Using the authority's clock (not ours) keeps the 90-day expiry arithmetic right even when clocks differ.
    """
    claims = result.get("id_token_claims") or {}
    iat = claims.get("iat")
    if isinstance(iat, int | float):
        return datetime.fromtimestamp(iat, UTC)
    return fallback
