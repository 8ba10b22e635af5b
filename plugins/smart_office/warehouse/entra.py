"""Entra ID access tokens as PostgreSQL passwords (Azure Database for PostgreSQL flexible server).

The server checks the token only when a connection opens, so each new connection asks the provider for one;
the provider hands out its cached token until `refresh_before` ahead of its expiry and then fetches the next
one. A token the server refuses is not retried: the login is wrong (the role is not the Entra principal of
this identity), and a fresh token would be refused the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from smart_office.redaction import Secret

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

    from smart_office.clouds import Cloud

# azure-identity and MSAL treat a token as expired five minutes before its `exp`; refreshing no later than
# that means the credential never hands back the token we are trying to replace.
DEFAULT_REFRESH_BEFORE = timedelta(minutes=5)


class EntraTokenError(RuntimeError):
    """No token could be had; `transient` tells a network failure (retry) from a configuration one (do not)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


class EntraTokenProvider:
    """Access tokens for one scope, cached and refreshed ahead of expiry; thread-safe.

    :param credential: an azure-identity credential, or a zero-argument factory for one (made on first use).
    :param scope: e.g. ``https://ossrdbms-aad.database.windows.net/.default``.
    :param refresh_before: how long before expiry a cached token is replaced.
    :param clock: seconds since the epoch (tests move it).
    """

    def __init__(
        self,
        credential: TokenCredential | Callable[[], TokenCredential],
        scope: str,
        *,
        refresh_before: timedelta = DEFAULT_REFRESH_BEFORE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._credential = credential
        self.scope = scope
        self.refresh_before = refresh_before.total_seconds()
        self._clock = clock
        self._lock = threading.Lock()
        self._current: AccessToken | None = None
        self.fetched = 0

    def __repr__(self) -> str:
        return f"EntraTokenProvider(scope={self.scope!r}, fetched={self.fetched})"

    def _get_credential(self) -> TokenCredential:
        if callable(self._credential) and not hasattr(self._credential, "get_token"):
            self._credential = self._credential()
        return self._credential  # type: ignore[return-value]

    @property
    def expires_on(self) -> float | None:
        """When the cached token expires (seconds since the epoch), None before the first fetch."""
        return None if self._current is None else float(self._current.expires_on)

    def token(self) -> Secret:
        """A token valid for at least `refresh_before` more (fetched now if the cached one is not)."""
        with self._lock:
            current = self._current
            if current is None or self._clock() >= current.expires_on - self.refresh_before:
                current = self._fetch()
                self._current = current
            return Secret(current.token)

    def _fetch(self) -> AccessToken:
        from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

        try:
            token = self._get_credential().get_token(self.scope)
        except ClientAuthenticationError as exc:
            raise EntraTokenError(_first_line(exc), transient=False) from None
        except ServiceRequestError as exc:
            raise EntraTokenError(_first_line(exc), transient=True) from None
        self.fetched += 1
        return token


def _first_line(exc: BaseException) -> str:
    # DefaultAzureCredential explains every credential it tried over many lines; the first says what failed.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


_PROVIDERS: dict[tuple[str, ...], EntraTokenProvider] = {}
_PROVIDERS_LOCK = threading.Lock()


def entra_token_provider(cloud: Cloud, env: Mapping[str, str] | None = None) -> EntraTokenProvider:
    """The process's provider for the warehouse scope of `cloud` and the deployment identity in `env` (default:
    the process environment; see smart_office.azure_credential).

    One per identity and scope, so the loader, the token store and the dbt check of one task share a token.
    """
    import hashlib
    import os

    from smart_office.azure_credential import workload_credential

    environ = dict(os.environ if env is None else env)
    names = ("TENANT_ID", "CLIENT_ID", "FEDERATED_TOKEN_FILE")
    identity = tuple(environ.get(f"AZURE_{name}", "") for name in names)
    # The secret only tells identities apart; the key holds its digest, never the secret.
    secret_digest = hashlib.sha256(environ.get("AZURE_CLIENT_SECRET", "").encode()).hexdigest()
    key = (cloud.authority_host, cloud.ca_bundle or "", cloud.postgres_scope, *identity, secret_digest)
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            provider = EntraTokenProvider(lambda: workload_credential(cloud, environ), cloud.postgres_scope)
            _PROVIDERS[key] = provider
        return provider
