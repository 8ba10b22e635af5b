"""The Entra ID token provider hands out its cached token until shortly before expiry, then fetches the next one;
a refused credential is a configuration error, an unreachable identity service a transient one.

(The same provider against the emulator's identity service and a PostgreSQL that checks the tokens:
tests/integration/warehouse/test_entra_login.py.)
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from smart_office.warehouse.entra import EntraTokenError, EntraTokenProvider

SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


class IssuingCredential:
    """The azure-core TokenCredential protocol: a new token of `lifetime` seconds per call, like Entra."""

    def __init__(self, clock: list[float], lifetime: int = 3600) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(f"fake-token-{len(self.scopes)}", int(self.clock[0]) + self.lifetime)


def test_a_token_is_reused_until_five_minutes_before_it_expires() -> None:
    now = [1_000_000.0]
    credential = IssuingCredential(now)
    provider = EntraTokenProvider(credential, SCOPE, clock=lambda: now[0])

    first = provider.token()
    now[0] += 3600 - 301  # 5 minutes and a second before expiry: still good
    assert provider.token() == first
    assert provider.fetched == 1
    now[0] += 1  # 5 minutes before: replaced, before the server could refuse it
    second = provider.token()
    assert second.reveal() == "fake-token-2"
    assert first.reveal() == "fake-token-1"
    assert provider.fetched == 2
    assert credential.scopes == [(SCOPE,), (SCOPE,)]
    assert provider.expires_on == now[0] + 3600
    assert "fake-token" not in repr(second)
    assert "fake-token" not in repr(provider)


def test_refresh_margin_is_configurable() -> None:
    now = [0.0]
    provider = EntraTokenProvider(
        IssuingCredential(now, lifetime=600), SCOPE, refresh_before=timedelta(minutes=1), clock=lambda: now[0]
    )
    provider.token()
    now[0] = 539
    provider.token()
    now[0] = 540
    provider.token()
    assert provider.fetched == 2


def test_the_credential_is_made_on_first_use() -> None:
    made: list[IssuingCredential] = []

    def factory() -> IssuingCredential:
        made.append(IssuingCredential([0.0]))
        return made[-1]

    provider = EntraTokenProvider(factory, SCOPE, clock=lambda: 0.0)
    assert made == []
    provider.token()
    provider.token()
    assert len(made) == 1


class FailingCredential:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        raise self.error


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (ClientAuthenticationError("AADSTS7000215: Invalid client secret provided.\nTrace ID: x"), False),
        (ServiceRequestError("Connection refused"), True),
    ],
)
def test_failures_say_whether_a_retry_can_help(error: Exception, transient: bool) -> None:
    provider = EntraTokenProvider(FailingCredential(error), SCOPE)
    with pytest.raises(EntraTokenError) as caught:
        provider.token()
    assert caught.value.transient is transient
    assert "\n" not in str(caught.value)
