"""The emulator's durable state in SQLite (WAL): directory objects, grants, tokens, Key Vault secrets, faults.

Secrets that authenticate (refresh tokens, auth/device codes, client secrets) are stored as SHA-256 hashes of
high-entropy random values the emulator generated, never in clear. Key Vault secret values are stored in
clear: returning them is that service's job. One connection guarded by a lock: every call is short, and the
hot read paths (bearer validation, Graph data) never touch the database.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

_SCHEMA = """
create table if not exists meta (key text primary key, value text not null);
create table if not exists applications (
    object_id text primary key, tenant_id text not null, app_id text not null unique, data blob not null);
create table if not exists password_credentials (
    key_id text primary key, app_object_id text not null, secret_hash text not null,
    start_ts real, end_ts real);
create index if not exists password_credentials_app on password_credentials (app_object_id);
create table if not exists key_credentials (
    key_id text not null, app_object_id text not null, cert_der blob not null,
    sha1 text not null, sha256 text not null, start_ts real, end_ts real, primary key (app_object_id, key_id));
create table if not exists service_principals (
    object_id text primary key, tenant_id text not null, app_id text not null, data blob not null,
    unique (tenant_id, app_id));
create table if not exists groups (
    object_id text primary key, tenant_id text not null, display_name text not null, data blob not null);
create table if not exists group_members (
    group_id text not null, member_id text not null, member_type text not null, primary key (group_id, member_id));
create table if not exists consents (
    tenant_id text not null, client_id text not null, resource_app_id text not null, kind text not null,
    value text not null, primary key (tenant_id, client_id, resource_app_id, kind, value));
create table if not exists refresh_tokens (
    token_hash text primary key, client_id text not null, user_oid text not null,
    issued_ts real not null, expires_ts real not null, data blob not null);
create table if not exists auth_codes (
    code_hash text primary key, expires_ts real not null, redeemed integer not null default 0, data blob not null);
create table if not exists device_codes (
    device_hash text primary key, user_code text not null unique, expires_ts real not null,
    status text not null, last_poll_ts real, data blob not null);
create table if not exists kv_secrets (
    seq integer primary key autoincrement, name text not null collate nocase, version text not null,
    value text not null, data blob not null, unique (name, version));
create table if not exists kv_deleted (
    name text primary key collate nocase, data blob not null);
create table if not exists faults (id text primary key, data blob not null);
"""


def token_hash(value: str) -> str:
    """SHA-256 hex of a generated secret (refresh token, code, client secret); what the state keeps."""
    return hashlib.sha256(value.encode()).hexdigest()


def _dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def _loads(blob: bytes | str) -> Any:
    return orjson.loads(blob)


class EmulatorState:
    """Typed access to the state database; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("pragma journal_mode=wal")
        self._conn.execute("pragma synchronous=normal")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("rollback")
                raise
            self._conn.execute("commit")

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # -- meta ---------------------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._rows("select value from meta where key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "insert into meta values (?, ?) on conflict (key) do update set value = excluded.value",
                (key, value),
            )

    # -- applications -------------------------------------------------------------------------------------
    def put_application(self, tenant_id: str, app: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into applications values (?, ?, ?, ?) on conflict (object_id) do update set data = excluded.data",
                (app["id"], tenant_id, app["appId"], _dumps(app)),
            )

    def application(self, object_id: str) -> dict[str, Any] | None:
        rows = self._rows("select data from applications where object_id = ?", (object_id,))
        return _loads(rows[0][0]) if rows else None

    def application_by_app_id(self, app_id: str) -> tuple[str, dict[str, Any]] | None:
        """(home tenant id, application) for a client id."""
        rows = self._rows("select tenant_id, data from applications where app_id = ?", (app_id.lower(),))
        return (rows[0][0], _loads(rows[0][1])) if rows else None

    def applications(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self._rows("select data from applications where tenant_id = ? order by rowid", (tenant_id,))
        return [_loads(r[0]) for r in rows]

    def delete_application(self, object_id: str) -> bool:
        with self._tx() as db:
            gone = db.execute("delete from applications where object_id = ?", (object_id,)).rowcount
            db.execute("delete from password_credentials where app_object_id = ?", (object_id,))
            db.execute("delete from key_credentials where app_object_id = ?", (object_id,))
        return bool(gone)

    def add_password(
        self, app_object_id: str, key_id: str, secret: str, start_ts: float, end_ts: float
    ) -> None:
        with self._tx() as db:
            db.execute(
                "insert into password_credentials values (?, ?, ?, ?, ?)",
                (key_id, app_object_id, token_hash(secret), start_ts, end_ts),
            )

    def remove_password(self, app_object_id: str, key_id: str) -> bool:
        with self._tx() as db:
            return bool(
                db.execute(
                    "delete from password_credentials where app_object_id = ? and key_id = ?",
                    (app_object_id, key_id),
                ).rowcount
            )

    def password_for(self, app_object_id: str, secret: str) -> tuple[str, float, float] | None:
        """(key id, start, end) of the app's password credential matching `secret`, if any."""
        rows = self._rows(
            "select key_id, start_ts, end_ts from password_credentials where app_object_id = ? and secret_hash = ?",
            (app_object_id, token_hash(secret)),
        )
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None

    def set_key_credentials(self, app_object_id: str, keys: list[dict[str, Any]]) -> None:
        """Replace the app's certificates: dicts with key_id, cert_der, sha1, sha256, start_ts, end_ts."""
        with self._tx() as db:
            db.execute("delete from key_credentials where app_object_id = ?", (app_object_id,))
            db.executemany(
                "insert into key_credentials values (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        k["key_id"],
                        app_object_id,
                        k["cert_der"],
                        k["sha1"],
                        k["sha256"],
                        k["start_ts"],
                        k["end_ts"],
                    )
                    for k in keys
                ],
            )

    def key_credentials(self, app_object_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "select key_id, cert_der, sha1, sha256, start_ts, end_ts from key_credentials where app_object_id = ?",
            (app_object_id,),
        )
        names = ("key_id", "cert_der", "sha1", "sha256", "start_ts", "end_ts")
        return [dict(zip(names, r, strict=True)) for r in rows]

    # -- service principals and groups --------------------------------------------------------------------
    def put_service_principal(self, tenant_id: str, sp: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into service_principals values (?, ?, ?, ?) "
                "on conflict (object_id) do update set data = excluded.data",
                (sp["id"], tenant_id, sp["appId"].lower(), _dumps(sp)),
            )

    def service_principal(self, object_id: str) -> tuple[str, dict[str, Any]] | None:
        rows = self._rows("select tenant_id, data from service_principals where object_id = ?", (object_id,))
        return (rows[0][0], _loads(rows[0][1])) if rows else None

    def service_principal_by_app_id(self, tenant_id: str, app_id: str) -> dict[str, Any] | None:
        rows = self._rows(
            "select data from service_principals where tenant_id = ? and app_id = ?",
            (tenant_id, app_id.lower()),
        )
        return _loads(rows[0][0]) if rows else None

    def service_principals(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "select data from service_principals where tenant_id = ? order by rowid", (tenant_id,)
        )
        return [_loads(r[0]) for r in rows]

    def delete_service_principal(self, object_id: str) -> bool:
        with self._tx() as db:
            gone = db.execute("delete from service_principals where object_id = ?", (object_id,)).rowcount
            db.execute("delete from group_members where member_id = ?", (object_id,))
        return bool(gone)

    def put_group(self, tenant_id: str, group: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into groups values (?, ?, ?, ?) on conflict (object_id) do update set data = excluded.data",
                (group["id"], tenant_id, group["displayName"], _dumps(group)),
            )

    def group(self, object_id: str) -> tuple[str, dict[str, Any]] | None:
        rows = self._rows("select tenant_id, data from groups where object_id = ?", (object_id,))
        return (rows[0][0], _loads(rows[0][1])) if rows else None

    def groups(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = self._rows("select data from groups where tenant_id = ? order by rowid", (tenant_id,))
        return [_loads(r[0]) for r in rows]

    def add_member(self, group_id: str, member_id: str, member_type: str) -> bool:
        """False if already a member."""
        with self._tx() as db:
            return bool(
                db.execute(
                    "insert into group_members values (?, ?, ?) on conflict do nothing",
                    (group_id, member_id, member_type),
                ).rowcount
            )

    def remove_member(self, group_id: str, member_id: str) -> bool:
        with self._tx() as db:
            return bool(
                db.execute(
                    "delete from group_members where group_id = ? and member_id = ?", (group_id, member_id)
                ).rowcount
            )

    def members(self, group_id: str) -> list[tuple[str, str]]:
        """(member id, member type) in insertion order."""
        return [
            (r[0], r[1])
            for r in self._rows(
                "select member_id, member_type from group_members where group_id = ? order by rowid",
                (group_id,),
            )
        ]

    # -- consents -----------------------------------------------------------------------------------------
    def grant(
        self, tenant_id: str, client_id: str, resource_app_id: str, kind: str, values: list[str]
    ) -> None:
        with self._tx() as db:
            db.executemany(
                "insert into consents values (?, ?, ?, ?, ?) on conflict do nothing",
                [(tenant_id, client_id.lower(), resource_app_id, kind, v) for v in values],
            )

    def consented(self, tenant_id: str, client_id: str, resource_app_id: str, kind: str) -> set[str]:
        rows = self._rows(
            "select value from consents where tenant_id = ? and client_id = ? and resource_app_id = ? and kind = ?",
            (tenant_id, client_id.lower(), resource_app_id, kind),
        )
        return {r[0] for r in rows}

    def revoke_consents(self, client_id: str) -> None:
        with self._tx() as db:
            db.execute("delete from consents where client_id = ?", (client_id.lower(),))

    # -- refresh tokens, auth codes, device codes ---------------------------------------------------------
    def add_refresh_token(
        self,
        token: str,
        client_id: str,
        user_oid: str,
        issued_ts: float,
        expires_ts: float,
        data: dict[str, Any],
    ) -> None:
        with self._tx() as db:
            db.execute(
                "insert into refresh_tokens values (?, ?, ?, ?, ?, ?)",
                (token_hash(token), client_id.lower(), user_oid, issued_ts, expires_ts, _dumps(data)),
            )

    def refresh_token(self, token: str) -> dict[str, Any] | None:
        rows = self._rows(
            "select client_id, user_oid, issued_ts, expires_ts, data from refresh_tokens where token_hash = ?",
            (token_hash(token),),
        )
        if not rows:
            return None
        client_id, user_oid, issued, expires, data = rows[0]
        return {
            **_loads(data),
            "client_id": client_id,
            "user_oid": user_oid,
            "issued_ts": issued,
            "expires_ts": expires,
        }

    def add_auth_code(self, code: str, expires_ts: float, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into auth_codes values (?, ?, 0, ?)", (token_hash(code), expires_ts, _dumps(data))
            )

    def redeem_auth_code(self, code: str) -> tuple[dict[str, Any], float, bool] | None:
        """(data, expiry, already redeemed) and marks the code redeemed."""
        with self._tx() as db:
            row = db.execute(
                "select expires_ts, redeemed, data from auth_codes where code_hash = ?", (token_hash(code),)
            ).fetchone()
            if row is None:
                return None
            db.execute("update auth_codes set redeemed = 1 where code_hash = ?", (token_hash(code),))
        return _loads(row[2]), row[0], bool(row[1])

    def add_device_code(
        self, device_code: str, user_code: str, expires_ts: float, data: dict[str, Any]
    ) -> None:
        with self._tx() as db:
            db.execute(
                "insert into device_codes values (?, ?, ?, 'pending', null, ?)",
                (token_hash(device_code), user_code, expires_ts, _dumps(data)),
            )

    def device_code(self, device_code: str) -> dict[str, Any] | None:
        rows = self._rows(
            "select user_code, expires_ts, status, last_poll_ts, data from device_codes where device_hash = ?",
            (token_hash(device_code),),
        )
        if not rows:
            return None
        user_code, expires, status, last_poll, data = rows[0]
        return {
            **_loads(data),
            "user_code": user_code,
            "expires_ts": expires,
            "status": status,
            "last_poll_ts": last_poll,
        }

    def poll_device_code(self, device_code: str, poll_ts: float) -> None:
        with self._tx() as db:
            db.execute(
                "update device_codes set last_poll_ts = ? where device_hash = ?",
                (poll_ts, token_hash(device_code)),
            )

    def set_device_status(self, user_code: str, status: str, *, only_if: str = "pending") -> bool:
        with self._tx() as db:
            return bool(
                db.execute(
                    "update device_codes set status = ? where user_code = ? and status = ?",
                    (status, user_code, only_if),
                ).rowcount
            )

    def device_by_user_code(self, user_code: str) -> dict[str, Any] | None:
        rows = self._rows(
            "select expires_ts, status, data from device_codes where user_code = ?", (user_code,)
        )
        if not rows:
            return None
        return {**_loads(rows[0][2]), "expires_ts": rows[0][0], "status": rows[0][1]}

    # -- Key Vault secrets --------------------------------------------------------------------------------
    def put_secret(self, name: str, version: str, value: str, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into kv_secrets (name, version, value, data) values (?, ?, ?, ?)",
                (name, version, value, _dumps(data)),
            )

    def update_secret(self, name: str, version: str, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "update kv_secrets set data = ? where name = ? and version = ?", (_dumps(data), name, version)
            )

    def secret(self, name: str, version: str | None = None) -> tuple[str, str, str, dict[str, Any]] | None:
        """(stored name, version, value, data); the latest version when `version` is None."""
        if version is None:
            rows = self._rows(
                "select name, version, value, data from kv_secrets where name = ? order by seq desc limit 1",
                (name,),
            )
        else:
            rows = self._rows(
                "select name, version, value, data from kv_secrets where name = ? and version = ?",
                (name, version),
            )
        if not rows:
            return None
        stored, ver, value, data = rows[0]
        return stored, ver, value, _loads(data)

    def secret_versions(self, name: str) -> list[tuple[str, str, dict[str, Any]]]:
        rows = self._rows("select name, version, data from kv_secrets where name = ? order by seq", (name,))
        return [(r[0], r[1], _loads(r[2])) for r in rows]

    def secret_names(self) -> list[str]:
        """Names with at least one version, in creation order of their latest version."""
        rows = self._rows("select name, max(seq) from kv_secrets group by name order by max(seq)")
        return [r[0] for r in rows]

    def delete_secret(self, name: str, deleted: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
        """Move all versions to the deleted store; returns the removed versions (oldest first)."""
        with self._tx() as db:
            rows = db.execute(
                "select name, version, value, data from kv_secrets where name = ? order by seq", (name,)
            ).fetchall()
            if rows:
                versions = [[r[0], r[1], r[2], _loads(r[3])] for r in rows]
                db.execute(
                    "insert into kv_deleted values (?, ?) on conflict (name) do update set data = excluded.data",
                    (rows[0][0], _dumps({**deleted, "versions": versions})),
                )
                db.execute("delete from kv_secrets where name = ?", (name,))
        return [(r[0], r[1], r[2], _loads(r[3])) for r in rows]

    def deleted_secret(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("select data from kv_deleted where name = ?", (name,))
        return _loads(rows[0][0]) if rows else None

    def deleted_secrets(self) -> list[dict[str, Any]]:
        return [_loads(r[0]) for r in self._rows("select data from kv_deleted order by rowid")]

    def purge_secret(self, name: str) -> bool:
        with self._tx() as db:
            return bool(db.execute("delete from kv_deleted where name = ?", (name,)).rowcount)

    def recover_secret(self, name: str) -> bool:
        with self._tx() as db:
            row = db.execute("select data from kv_deleted where name = ?", (name,)).fetchone()
            if row is None:
                return False
            for stored, version, value, data in _loads(row[0])["versions"]:
                db.execute(
                    "insert into kv_secrets (name, version, value, data) values (?, ?, ?, ?)",
                    (stored, version, value, _dumps(data)),
                )
            db.execute("delete from kv_deleted where name = ?", (name,))
        return True

    # -- faults -------------------------------------------------------------------------------------------
    def save_fault(self, fault_id: str, data: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute(
                "insert into faults values (?, ?) on conflict (id) do update set data = excluded.data",
                (fault_id, _dumps(data)),
            )

    def delete_fault(self, fault_id: str | None = None) -> None:
        with self._tx() as db:
            if fault_id is None:
                db.execute("delete from faults")
            else:
                db.execute("delete from faults where id = ?", (fault_id,))

    def faults(self) -> list[dict[str, Any]]:
        return [_loads(r[0]) for r in self._rows("select data from faults order by rowid")]
