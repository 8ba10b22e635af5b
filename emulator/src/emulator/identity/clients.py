"""Client applications the identity service knows (registered through Graph, or Microsoft first-party) and
client authentication: client_secret (form or HTTP Basic) and private_key_jwt client assertions."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import jwt
from cryptography import x509

from emulator.identity.errors import AadError
from emulator.identity.resources import FIRST_PARTY_CLIENTS
from emulator.state import EmulatorState
from emulator.tokens import b64url_decode

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}
_ASSERTION_SKEW = 300


@dataclass(frozen=True, slots=True)
class ClientApp:
    """What the token endpoint needs to know about a client application."""

    app_id: str
    display_name: str
    home_tenant: str | None
    object_id: str | None
    sign_in_audience: str
    public_client: bool
    redirect_uris: tuple[str, ...]
    required_resource_access: list[dict[str, Any]] = field(default_factory=list)
    first_party: bool = False

    @property
    def multi_tenant(self) -> bool:
        return self.first_party or self.sign_in_audience != "AzureADMyOrg"

    def redirect_allowed(self, uri: str) -> bool:
        """Exact match, except that loopback URIs match on any port (as Entra does for native apps)."""
        if uri in self.redirect_uris:
            return True
        asked = urlsplit(uri)
        if asked.scheme != "http" or asked.hostname not in _LOOPBACK_HOSTS:
            return False
        for registered in self.redirect_uris:
            reg = urlsplit(registered)
            if (reg.scheme, reg.hostname, reg.path.rstrip("/")) == (
                "http",
                asked.hostname,
                asked.path.rstrip("/"),
            ):
                return True
        return False


def find_client(state: EmulatorState, client_id: str) -> ClientApp | None:
    """A registered application (any tenant) or a first-party client, by client id."""
    client_id = client_id.strip().lower()
    first = FIRST_PARTY_CLIENTS.get(client_id)
    if first is not None:
        return ClientApp(
            app_id=first.app_id,
            display_name=first.display_name,
            home_tenant=None,
            object_id=None,
            sign_in_audience="AzureADMultipleOrgs",
            public_client=True,
            redirect_uris=first.redirect_uris,
            first_party=True,
        )
    found = state.application_by_app_id(client_id)
    if found is None:
        return None
    tenant_id, app = found
    uris = [
        *(app.get("web") or {}).get("redirectUris", []),
        *(app.get("publicClient") or {}).get("redirectUris", []),
        *(app.get("spa") or {}).get("redirectUris", []),
    ]
    return ClientApp(
        app_id=app["appId"],
        display_name=app.get("displayName") or "",
        home_tenant=tenant_id,
        object_id=app["id"],
        sign_in_audience=app.get("signInAudience") or "AzureADMyOrg",
        public_client=bool(app.get("isFallbackPublicClient")),
        redirect_uris=tuple(uris),
        required_resource_access=list(app.get("requiredResourceAccess") or []),
    )


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The credentials a token request carried."""

    client_id: str | None
    secret: str | None
    assertion: str | None
    assertion_type: str | None

    @property
    def present(self) -> bool:
        return bool(self.secret or self.assertion)


def credentials_from(form: dict[str, str], authorization: str | None) -> ClientCredentials:
    """client_id/secret from the form or an HTTP Basic header (RFC 6749 §2.3.1), plus any client assertion."""
    client_id, secret = form.get("client_id"), form.get("client_secret")
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        user, sep, password = decoded.partition(":")
        if sep:
            client_id = client_id or unquote(user)
            secret = secret or unquote(password)
    return ClientCredentials(
        client_id, secret, form.get("client_assertion"), form.get("client_assertion_type")
    )


def authenticate_client(
    state: EmulatorState,
    client: ClientApp,
    creds: ClientCredentials,
    *,
    now_ts: float,
    audiences: set[str],
) -> str:
    """ "secret", "certificate" or "none"; raises AadError for a wrong/expired secret or a bad assertion."""
    if creds.assertion:
        if creds.assertion_type != ASSERTION_TYPE:
            raise AadError(
                900144, "The request body must contain the following parameter: 'client_assertion_type'."
            )
        _verify_assertion(state, client, creds.assertion, audiences, now_ts)
        return "certificate"
    if creds.secret:
        if client.object_id is None:
            raise AadError(
                700025,
                "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
            )
        found = state.password_for(client.object_id, creds.secret)
        if found is None:
            raise AadError(
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, "
                f"not the client secret ID, for a secret added to app '{client.app_id}'.",
            )
        # The start date is not enforced: clients stamp it from their wall clock, which may run ahead of the
        # emulator clock; the end date is checked on the emulator clock, so advancing it can expire a secret.
        end_ts = found[2]
        if end_ts is not None and now_ts > end_ts:
            raise AadError(
                7000222,
                f"The provided client secret keys for app '{client.app_id}' are expired. Visit the Azure portal to create "
                "new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for "
                "added security: https://aka.ms/certCreds.",
            )
        return "secret"
    return "none"


def confidential_required() -> AadError:
    """The error for a request that must authenticate the client but carried no credential."""
    return AadError(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    )


def _verify_assertion(
    state: EmulatorState, client: ClientApp, assertion: str, audiences: set[str], now_ts: float
) -> None:
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AadError(
            700027, "Client assertion failed signature validation. The assertion is not a JWT."
        ) from None
    algorithm = header.get("alg")
    if algorithm not in ("RS256", "PS256"):
        raise AadError(700027, f"Client assertion contains an unsupported signing algorithm '{algorithm}'.")
    sha1 = _thumb(header.get("x5t"))
    sha256 = _thumb(header.get("x5t#S256"))
    keys = state.key_credentials(client.object_id) if client.object_id else []
    key = next((k for k in keys if (sha1 and k["sha1"] == sha1) or (sha256 and k["sha256"] == sha256)), None)
    if key is None:
        shown = sha1 or sha256 or "(none)"
        raise AadError(
            700027,
            "The certificate with identifier used to sign the client assertion is not registered on application. "
            f"[Reason - The key was not found., Thumbprint of key used by client: '{shown}', Please visit the Azure "
            f"Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client.app_id}'.]",
        )
    cert = x509.load_der_x509_certificate(key["cert_der"])
    try:
        claims = jwt.decode(
            assertion,
            cert.public_key(),  # type: ignore[arg-type]
            algorithms=[algorithm],
            options={"verify_aud": False, "require": ["exp", "iss", "sub", "aud"]},
            leeway=_ASSERTION_SKEW,
        )
    except jwt.ExpiredSignatureError:
        raise AadError(700024, "Client assertion is not within its valid time range.") from None
    except jwt.ImmatureSignatureError:
        raise AadError(700024, "Client assertion is not within its valid time range.") from None
    except jwt.PyJWTError:
        raise AadError(700027, "Client assertion failed signature validation.") from None
    if claims.get("iss") != client.app_id or claims.get("sub") != client.app_id:
        raise AadError(700021, "Client assertion application identifier doesn't match 'client_id' parameter.")
    aud = claims.get("aud")
    if not any(a in audiences for a in ([aud] if isinstance(aud, str) else aud or [])):
        raise AadError(700023, "Client assertion audience claim does not match Realm issuer.")
    # Client-made timestamps come from the client's wall clock, not the emulator clock.
    if claims.get("nbf") and claims["nbf"] > time.time() + _ASSERTION_SKEW:
        raise AadError(700024, "Client assertion is not within its valid time range.")
    if key["end_ts"] is not None and now_ts > key["end_ts"]:
        raise AadError(
            700027,
            "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key "
            f"used by client: '{key['sha1']}']",
        )


def _thumb(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return b64url_decode(value).hex().upper()
    except ValueError:
        return None
