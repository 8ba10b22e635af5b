"""The identity service's signing key, its JWKS, and minting/validation of RS256 JWTs.

Validation is cached per token string (signature checked once), and lifetime is checked against the
emulator clock on every use, so a bearer check costs a dict lookup and two comparisons on the hot path.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# Entra tolerates five minutes of clock skew when validating lifetimes.
CLOCK_SKEW_SECONDS = 300
_CACHE_LIMIT = 200_000


def b64url(data: bytes) -> str:
    """Unpadded base64url, as JOSE uses it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BearerError(Exception):
    """A bearer token was rejected; `reason` is one of empty, malformed, signature, expired, not_yet_valid,
    audience, issuer, tenant (messages are safe to return: they never include the token)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """RSA key + self-signed certificate; `kid` equals `x5t` (SHA-1 thumbprint), as Entra publishes them."""

    private_key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    kid: str

    @classmethod
    def load_or_create(cls, folder: Path) -> SigningKey:
        key_path, cert_path = folder / "signing-key.pem", folder / "signing-cert.pem"
        if key_path.exists() and cert_path.exists():
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        else:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.emulator.local")])
            now = dt.datetime.now(dt.UTC)
            cert = (
                x509.CertificateBuilder()
                .subject_name(name)
                .issuer_name(name)
                .public_key(key.public_key())
                .serial_number(uuid.uuid4().int >> 1)
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .sign(key, hashes.SHA256())
            )
            folder.mkdir(parents=True, exist_ok=True)
            key_path.touch(mode=0o600, exist_ok=True)
            key_path.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            )
            cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        der = cert.public_bytes(serialization.Encoding.DER)
        kid = b64url(hashlib.sha1(der).digest())  # noqa: S324 - x5t is defined as the SHA-1 thumbprint
        return cls(key, cert, kid)

    def jwk(self) -> dict[str, Any]:
        numbers = self.private_key.public_key().public_numbers()
        der = self.certificate.public_bytes(serialization.Encoding.DER)
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "x5c": [base64.b64encode(der).decode()],
        }


class TokenService:
    """Mints and validates the emulator's JWTs."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self._public = key.private_key.public_key()
        self._headers = {"typ": "JWT", "x5t": key.kid, "kid": key.kid}
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def jwks(self, issuer: str | None = None) -> dict[str, Any]:
        jwk = self.key.jwk()
        if issuer:
            jwk["issuer"] = issuer
        return {"keys": [jwk]}

    def mint(self, claims: dict[str, Any]) -> str:
        """A signed RS256 JWT with the service's key id."""
        return jwt.encode(claims, self.key.private_key, algorithm="RS256", headers=self._headers)

    def claims(self, token: str) -> dict[str, Any]:
        """The token's claims if its signature is ours (cached); lifetime and audience are NOT checked here."""
        cached = self._verified.get(token)
        if cached is not None:
            return cached
        if not token:
            raise BearerError("empty", "Access token is empty.")
        if token.count(".") != 2:
            raise BearerError("malformed", "IDX14100: JWT is not well formed, there are no dots (.).")
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
            )
        except jwt.InvalidSignatureError:
            raise BearerError("signature", "Access token validation failure. Invalid signature.") from None
        except jwt.PyJWTError:
            raise BearerError("malformed", "Access token validation failure.") from None
        with self._lock:
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def validate(self, token: str, *, audiences: frozenset[str], now: int) -> dict[str, Any]:
        """Claims of a valid bearer for one of `audiences` at emulator time `now` (epoch seconds)."""
        claims = self.claims(token)
        if claims.get("aud") not in audiences:
            raise BearerError("audience", "Access token validation failure. Invalid audience.")
        if now > claims.get("exp", 0) + CLOCK_SKEW_SECONDS:
            raise BearerError("expired", "Access token has expired or is not yet valid.")
        if now + CLOCK_SKEW_SECONDS < claims.get("nbf", 0):
            raise BearerError("not_yet_valid", "Access token has expired or is not yet valid.")
        tid = claims.get("tid")
        if not tid or claims.get("iss") != f"https://sts.windows.net/{tid}/":
            raise BearerError("issuer", "Access token validation failure. Invalid issuer.")
        return claims

    def peek_tenant(self, token: str) -> str | None:
        """The `tid` of a token we signed, or None (for stats/fault matching; never for authorization)."""
        try:
            return self.claims(token).get("tid")
        except BearerError:
            return None


def bearer_from_header(value: str | None) -> str:
    """The token in an `Authorization: Bearer …` header, or "" when absent."""
    if not value:
        return ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""
