"""Where the partner refresh token (and the app credential) live: Azure Key Vault or encrypted PostgreSQL.

Both stores implement one small interface with compare-and-swap on the version read, so concurrent workers
rotating the refresh token never replace a newer token with an older one (see `RefreshTokenKeeper`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from smart_office.redaction import Secret

if TYPE_CHECKING:
    import psycopg
    from azure.keyvault.secrets import SecretClient

    from smart_office.warehouse.connection import WarehouseTarget

log = logging.getLogger(__name__)

REFRESH_TOKEN_NAME = "smart-office-refresh-token"
CLIENT_SECRET_NAME = "smart-office-client-secret"
CLIENT_CERTIFICATE_NAME = "smart-office-client-certificate"


def tenant_secret_name(tenant_id: str, kind: str) -> str:
    """The name of a customer tenant's own entry (e.g. its refresh token): it holds the tenant id, which is how
    `smart-office tenants purge` finds every entry of a tenant (smart_office.retention.purge)."""
    return f"smart-office-tenant-{tenant_id.lower()}-{kind}"


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

    One database session per store instance, opened on first use and shared by its threads (one statement
    at a time; each statement is its own transaction): a run that reads and writes the token many times
    still logs in once. A session that broke while idle (server restart, idle timeout) is replaced once per
    call; `close()` ends it (so does garbage collection). Not to be shared across fork (libpq's rule).

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
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._finalizer: weakref.finalize | None = None

    def describe(self) -> str:
        return f"encrypted PostgreSQL store ops.token_store at {self._url.display} (key {self._key_id})"

    def get(self, name: str) -> StoredSecret | None:
        from cryptography.fernet import InvalidToken

        row = self._fetchone(
            "select ciphertext, version, issued_at, key_id from ops.token_store where name = %s", (name,)
        )
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
        ciphertext = self._crypto.encrypt(value.encode())
        if expected_version is None:
            row = self._fetchone(
                """
                insert into ops.token_store (name, ciphertext, key_id, version, issued_at)
                values (%s, %s, %s, 1, %s)
                on conflict (name) do nothing
                returning version
                """,
                (name, ciphertext, self._key_id, issued_at),
            )
        else:
            row = self._fetchone(
                """
                update ops.token_store
                set ciphertext = %s, key_id = %s, version = version + 1, issued_at = %s, updated_at = now()
                where name = %s and version = %s
                returning version
                """,
                (ciphertext, self._key_id, issued_at, name, int(expected_version)),
            )
        if row is None:
            raise VersionConflict(name)
        return StoredSecret(Secret(value), str(row[0]), issued_at)

    def close(self) -> None:
        """End the database session (the next call opens a new one)."""
        with self._lock:
            self._discard()

    def _fetchone(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        import psycopg

        with self._lock:
            conn = self._connection()
            try:
                return conn.execute(query, params).fetchone()
            except psycopg.OperationalError:
                if not conn.broken:
                    raise
            # The session died between calls: one new session, one retry. A compare-and-swap that did commit
            # before the break finds its own version gone and reports a conflict, which the caller resolves.
            self._discard()
            return self._connection().execute(query, params).fetchone()

    def _connection(self) -> psycopg.Connection:
        from smart_office.warehouse.connection import connect

        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, autocommit=True, application_name="smart-office-token-store")
            self._finalizer = weakref.finalize(self, self._conn.close)
        return self._conn

    def _discard(self) -> None:
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class KeyVaultSecretStore:
    """Secrets in Azure Key Vault (one secret per name, one Key Vault version per write).

    Key Vault has no conditional write, so compare-and-swap is read current → write → read current, and only
    the current version is ever read (never the version history, which grows by one on every write):

    - the first read checks that the current version is still `expected_version` (else `VersionConflict`);
    - after writing, the writer reads the current version again. Its own: done. One issued at the same time
      or later: another writer won, `VersionConflict` (the caller re-reads and adopts it). One issued
      earlier: a concurrent writer's older token landed after ours, so ours is written again on top, and
      checked again.

    A writer therefore never leaves an older token on top of a newer one it has seen, and of two writers
    that overlap, the one with the newer token re-asserts it. The one interleaving current reads cannot see
    is a writer whose read-then-write spans another writer's whole write-and-verify; the older token then
    stays current until the next write-back, which reads a version it did not write and writes the newer
    token again. That older token is still valid (Entra does not revoke a used refresh token), so the cost
    is a stored `issued_at` seconds older than it could be.

    :param client: an azure.keyvault.secrets.SecretClient for the vault.
    """

    _TAG_ISSUED_AT = "issued_at"
    _TAG_PREVIOUS = "previous_version"
    # Re-assertions after a concurrent older write; each needs another writer to interleave again.
    _VERIFY_ATTEMPTS = 3

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
        written = self._set(name, value, issued_at, previous=expected_version)
        for _attempt in range(self._VERIFY_ATTEMPTS):
            now = self.get(name)
            if now is not None and now.version == written.version:
                return written
            if now is not None and now.issued_at >= issued_at:
                raise VersionConflict(name)  # another writer stored a token at least as new: theirs stands
            log.info(
                "key vault secret %s: an older token was written over a newer one; writing the newer again",
                name,
            )
            written = self._set(name, value, issued_at, previous=now.version if now else None)
        raise VersionConflict(name)

    def delete_tenant_secrets(self, tenant_id: str) -> int:
        """Delete (and purge, where the vault allows) every secret whose name holds `tenant_id`; return how many."""
        from azure.core.exceptions import HttpResponseError

        tenant = tenant_id.lower()
        names = [
            p.name for p in self._client.list_properties_of_secrets() if p.name and tenant in p.name.lower()
        ]
        for name in names:
            self._client.begin_delete_secret(name).wait()
            try:
                self._client.purge_deleted_secret(name)
            except HttpResponseError as exc:  # soft-delete only (no purge permission, or purge protection)
                log.warning("key vault secret %s deleted but not purged: %s", name, exc.reason)
        return len(names)

    def _set(self, name: str, value: str, issued_at: datetime, *, previous: str | None) -> StoredSecret:
        tags = {self._TAG_ISSUED_AT: issued_at.astimezone(UTC).isoformat()}
        if previous:
            tags[self._TAG_PREVIOUS] = previous
        return self._stored(self._client.set_secret(name, value, tags=tags, content_type="text/plain"))

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
