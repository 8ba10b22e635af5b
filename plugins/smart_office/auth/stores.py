"""Where the partner refresh token (and the app credential) live: Azure Key Vault or encrypted PostgreSQL.

Both stores implement one small interface with compare-and-swap on the version read, so concurrent workers
rotating the refresh token never replace a newer token with an older one (see `RefreshTokenKeeper`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from smart_office.redaction import Secret

if TYPE_CHECKING:
    from azure.keyvault.secrets import SecretClient

    from smart_office.warehouse.connection import WarehouseTarget

log = logging.getLogger(__name__)

REFRESH_TOKEN_NAME = "smart-office-refresh-token"
CLIENT_SECRET_NAME = "smart-office-client-secret"
CLIENT_CERTIFICATE_NAME = "smart-office-client-certificate"


@dataclass(frozen=True, slots=True)
class StoredSecret:
    """A secret value with the store's version of it and when the value was issued."""

    value: Secret
    version: str
    issued_at: datetime

    def __repr__(self) -> str:
        return f"StoredSecret(version={self.version!r}, issued_at={self.issued_at.isoformat()})"


class VersionConflict(Exception):
    """The stored version is no longer the one the writer read: someone else wrote first."""


class TokenStoreError(RuntimeError):
    """The store is misconfigured or unreadable (e.g. wrong encryption key); the message says which setting."""


class SecretStore(Protocol):
    """Get and compare-and-swap named secrets."""

    def get(self, name: str) -> StoredSecret | None: ...

    def put(
        self, name: str, value: str, *, issued_at: datetime, expected_version: str | None
    ) -> StoredSecret:
        """Write a new version if the current version is `expected_version` (None: must not exist yet)."""
        ...

    def describe(self) -> str:
        """Where secrets are kept, for humans (never includes a secret)."""
        ...


class PostgresSecretStore:
    """Secrets encrypted with Fernet (AES-128-CBC + HMAC) in ops.token_store; ciphertext only in the database.

    The key comes from the environment (SMART_OFFICE_TOKEN_STORE_KEY), never from the database. Several
    comma-separated keys allow key rotation: the first encrypts, all decrypt.

    :param url: the warehouse (a `WarehouseTarget`, or a libpq URL); the table comes from its migrations.
    :param keys: Fernet keys (urlsafe base64, 32 bytes); the first one is used for new writes.
    """

    def __init__(self, url: WarehouseTarget | str, keys: list[str]) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        from smart_office.warehouse.connection import as_target

        if not keys:
            raise TokenStoreError(
                "SMART_OFFICE_TOKEN_STORE_KEY is empty; generate one with `smart-office keygen`"
            )
        try:
            fernets = [Fernet(k.strip().encode()) for k in keys]
        except ValueError:
            raise TokenStoreError(
                "SMART_OFFICE_TOKEN_STORE_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated"
            ) from None
        self._url = as_target(url)
        self._crypto = MultiFernet(fernets)
        self._key_id = key_fingerprint(keys[0])

    def describe(self) -> str:
        return f"encrypted PostgreSQL store ops.token_store at {self._url.display} (key {self._key_id})"

    def get(self, name: str) -> StoredSecret | None:
        from cryptography.fernet import InvalidToken

        from smart_office.warehouse.connection import connect

        with connect(self._url, autocommit=True) as conn:
            row = conn.execute(
                "select ciphertext, version, issued_at, key_id from ops.token_store where name = %s", (name,)
            ).fetchone()
        if row is None:
            return None
        ciphertext, version, issued_at, key_id = row
        try:
            value = self._crypto.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            raise TokenStoreError(
                f"cannot decrypt {name!r} (written with key {key_id}); SMART_OFFICE_TOKEN_STORE_KEY lacks that key"
            ) from None
        return StoredSecret(Secret(value), str(version), issued_at)

    def put(
        self, name: str, value: str, *, issued_at: datetime, expected_version: str | None
    ) -> StoredSecret:
        from smart_office.warehouse.connection import connect

        ciphertext = self._crypto.encrypt(value.encode())
        with connect(self._url, autocommit=True) as conn:
            if expected_version is None:
                row = conn.execute(
                    """
                    insert into ops.token_store (name, ciphertext, key_id, version, issued_at)
                    values (%s, %s, %s, 1, %s)
                    on conflict (name) do nothing
                    returning version
                    """,
                    (name, ciphertext, self._key_id, issued_at),
                ).fetchone()
            else:
                row = conn.execute(
                    """
                    update ops.token_store
                    set ciphertext = %s, key_id = %s, version = version + 1, issued_at = %s, updated_at = now()
                    where name = %s and version = %s
                    returning version
                    """,
                    (ciphertext, self._key_id, issued_at, name, int(expected_version)),
                ).fetchone()
        if row is None:
            raise VersionConflict(name)
        return StoredSecret(Secret(value), str(row[0]), issued_at)


class KeyVaultSecretStore:
    """Secrets in Azure Key Vault (one secret per name, one Key Vault version per write).

    Key Vault has no conditional write, so compare-and-swap is done as read → write → verify: after
    writing, the writer lists the versions created since the one it read; if another writer interleaved,
    the value with the latest `issued_at` among them is made current again. Every writer runs the same
    check, so the vault converges on the newest token.

    :param client: an azure.keyvault.secrets.SecretClient for the vault.
    """

    _TAG_ISSUED_AT = "issued_at"
    _TAG_PREVIOUS = "previous_version"

    def __init__(self, client: SecretClient) -> None:
        self._client = client

    def describe(self) -> str:
        return f"Azure Key Vault {self._client.vault_url}"

    def get(self, name: str) -> StoredSecret | None:
        from azure.core.exceptions import ResourceNotFoundError

        try:
            secret = self._client.get_secret(name)
        except ResourceNotFoundError:
            return None
        return self._stored(secret)

    def put(
        self, name: str, value: str, *, issued_at: datetime, expected_version: str | None
    ) -> StoredSecret:
        current = self.get(name)
        if (current.version if current else None) != expected_version:
            raise VersionConflict(name)
        tags = {self._TAG_ISSUED_AT: issued_at.astimezone(UTC).isoformat()}
        if expected_version:
            tags[self._TAG_PREVIOUS] = expected_version
        written = self._client.set_secret(name, value, tags=tags, content_type="text/plain")
        self._converge(name, since=current.issued_at if current else None)
        return self._stored(written)

    def _converge(self, name: str, *, since: datetime | None) -> None:
        """Make the newest-issued value current if concurrent writers interleaved."""
        versions = [
            p
            for p in self._client.list_properties_of_secret_versions(name)
            if p.enabled and p.tags and self._TAG_ISSUED_AT in p.tags
        ]
        if since is not None:
            versions = [p for p in versions if _parse_time(p.tags[self._TAG_ISSUED_AT]) > since]
        if len(versions) < 2:
            return
        latest_written = max(versions, key=lambda p: p.created_on)
        newest_issued = max(versions, key=lambda p: (_parse_time(p.tags[self._TAG_ISSUED_AT]), p.created_on))
        if newest_issued.version == latest_written.version:
            return
        log.info(
            "key vault secret %s: concurrent rotation detected; restoring the newest-issued version", name
        )
        winner = self._client.get_secret(name, newest_issued.version)
        self._client.set_secret(
            name, winner.value, tags=dict(winner.properties.tags or {}), content_type="text/plain"
        )

    def _stored(self, secret: Any) -> StoredSecret:
        tags = secret.properties.tags or {}
        issued = tags.get(self._TAG_ISSUED_AT)
        issued_at = _parse_time(issued) if issued else secret.properties.created_on
        return StoredSecret(Secret(secret.value), secret.properties.version, issued_at)


def _parse_time(text: str) -> datetime:
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def key_fingerprint(key: str) -> str:
    """A short, non-reversible id of an encryption key, so a wrong key is named without revealing it."""
    return hashlib.sha256(key.strip().encode()).hexdigest()[:12]
