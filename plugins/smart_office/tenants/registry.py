"""ops.tenants as a small API: add and remove direct tenants, include (pilot) and exclude tenants, list them.

Every change is one transaction that updates the entry and appends a row to ops.tenant_changes with who made
it, when and why, so the history survives the entry. Which tenants a run then reads is not decided here: the
warehouse's `ops.tenant_scope` and `ops.is_extractable` (migration 0008) read this table.
"""

from __future__ import annotations

import getpass
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

CREDENTIALS = ("app_only", "delegated")


class TenantsError(ValueError):
    """A change the tenants table refuses: what is wrong and how to fix it."""

    def __init__(self, what: str, fix: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.fix = fix


@dataclass(frozen=True, slots=True)
class TenantEntry:
    tenant_id: str
    display_name: str | None
    credential: str | None
    scope: str | None
    scope_reason: str | None
    added_by: str
    added_at: datetime
    changed_by: str
    changed_at: datetime

    @property
    def is_direct(self) -> bool:
        return self.credential is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "display_name": self.display_name,
            "credential": self.credential,
            "scope": self.scope,
            "scope_reason": self.scope_reason,
            "added_by": self.added_by,
            "added_at": self.added_at.isoformat(),
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat(),
        }


def tenant_guid(text: str) -> str:
    """A tenant id as the table keys it (a lower-case GUID); anything else is refused by name."""
    try:
        value = uuid.UUID(text.strip())
    except ValueError:
        raise TenantsError(
            f"tenant {text!r} is not a tenant id", "give the tenant's GUID (Entra admin center, Overview)"
        ) from None
    return str(value)


def current_user() -> str:
    """Who makes a change when --by is not given: the operating-system user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


_SELECT = (
    "select tenant_id::text, display_name, credential, scope, scope_reason, added_by, added_at, changed_by, "
    "changed_at from ops.tenants"
)


class TenantRegistry:
    """Changes to ops.tenants on one connection; each method commits its own transaction."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def list(self) -> list[TenantEntry]:
        rows = self._conn.execute(_SELECT + " order by tenant_id").fetchall()
        return [TenantEntry(*row) for row in rows]

    def get(self, tenant: str) -> TenantEntry | None:
        row = self._conn.execute(_SELECT + " where tenant_id = %s", (tenant_guid(tenant),)).fetchone()
        return TenantEntry(*row) if row else None

    def direct_credentials(self) -> dict[str, str]:
        """Each direct tenant's credential kind (app_only, delegated), by tenant id."""
        rows = self._conn.execute(
            "select tenant_id::text, credential from ops.tenants where credential is not null"
        ).fetchall()
        return dict(rows)

    def add(
        self,
        tenant: str,
        *,
        credential: str,
        by: str,
        display_name: str | None = None,
        reason: str | None = None,
    ) -> TenantEntry:
        """Add a direct tenant read with `credential`, or change the credential of one already listed."""
        tenant = tenant_guid(tenant)
        # The docs say "app-only" in prose; accept it (and any case) as the option's spelling too.
        credential = credential.strip().lower().replace("-", "_")
        if credential not in CREDENTIALS:
            raise TenantsError(
                f"--credential {credential!r} is unknown", f"use one of {', '.join(CREDENTIALS)}"
            )
        with self._conn.transaction():
            self._conn.execute(
                """
                insert into ops.tenants as t (tenant_id, display_name, credential, added_by, added_at, changed_by,
                    changed_at)
                values (%(tenant)s, %(name)s, %(credential)s, %(by)s, now(), %(by)s, now())
                on conflict (tenant_id) do update set
                    credential = excluded.credential,
                    display_name = coalesce(excluded.display_name, t.display_name),
                    changed_by = excluded.changed_by, changed_at = excluded.changed_at
                """,
                {"tenant": tenant, "name": display_name, "credential": credential, "by": by},
            )
            self._record(tenant, "add", by, reason)
        entry = self.get(tenant)
        assert entry is not None
        return entry

    def remove(self, tenant: str, *, by: str, reason: str | None = None) -> TenantEntry:
        """Remove a tenant's entry altogether (direct credential, pilot, exclusion); the history stays."""
        tenant = tenant_guid(tenant)
        with self._conn.transaction():
            entry = self._existing(tenant)
            self._record(tenant, "remove", by, reason)
            self._conn.execute("delete from ops.tenants where tenant_id = %s", (tenant,))
        return entry

    def include(self, tenant: str, *, by: str, reason: str | None = None) -> TenantEntry:
        """Put a tenant in the pilot: while any tenant is included, only included tenants are read."""
        return self._set_scope(tenant, "include", by, reason)

    def exclude(self, tenant: str, *, by: str, reason: str | None) -> TenantEntry:
        """Never read this tenant (a reason is required: an exclusion must say why)."""
        if not (reason or "").strip():
            raise TenantsError(
                f"excluding {tenant} needs a reason", "add --reason '…' (who asked, a ticket, a contract end)"
            )
        return self._set_scope(tenant, "exclude", by, reason)

    def clear(self, tenant: str, *, by: str, reason: str | None = None) -> TenantEntry:
        """Take a tenant out of the pilot or the exclusions (a direct tenant stays direct)."""
        tenant = tenant_guid(tenant)
        with self._conn.transaction():
            entry = self._existing(tenant)
            if entry.scope is None:
                raise TenantsError(f"tenant {tenant} is neither included nor excluded", "nothing to clear")
            self._record(tenant, "clear", by, reason)
            if entry.credential is None:
                self._conn.execute("delete from ops.tenants where tenant_id = %s", (tenant,))
            else:
                self._conn.execute(
                    """
                    update ops.tenants set scope = null, scope_reason = null, changed_by = %s, changed_at = now()
                    where tenant_id = %s
                    """,
                    (by, tenant),
                )
        return entry

    def _set_scope(self, tenant: str, scope: str, by: str, reason: str | None) -> TenantEntry:
        tenant = tenant_guid(tenant)
        with self._conn.transaction():
            self._conn.execute(
                """
                insert into ops.tenants as t (tenant_id, scope, scope_reason, added_by, added_at, changed_by,
                    changed_at)
                values (%(tenant)s, %(scope)s, %(reason)s, %(by)s, now(), %(by)s, now())
                on conflict (tenant_id) do update set
                    scope = excluded.scope, scope_reason = excluded.scope_reason,
                    changed_by = excluded.changed_by, changed_at = excluded.changed_at
                """,
                {"tenant": tenant, "scope": scope, "reason": reason, "by": by},
            )
            self._record(tenant, scope, by, reason)
        entry = self.get(tenant)
        assert entry is not None
        return entry

    def _existing(self, tenant: str) -> TenantEntry:
        entry = self.get(tenant)
        if entry is None:
            raise TenantsError(
                f"tenant {tenant} is not in the tenants table",
                "`smart-office tenants list` shows the entries",
            )
        return entry

    def _record(self, tenant: str, change: str, by: str, reason: str | None) -> None:
        self._conn.execute(
            """
            insert into ops.tenant_changes (tenant_id, change_type, changed_by, changed_at, reason, credential, scope)
            select %(tenant)s, %(change)s, %(by)s, now(), %(reason)s, credential, scope
            from (select 1) as one
            left join ops.tenants on tenant_id = %(tenant)s
            """,
            {"tenant": tenant, "change": change, "by": by, "reason": reason},
        )


def scope_summary(conn: psycopg.Connection) -> dict[str, Any]:
    """The partner's lists in numbers: direct tenants by credential, the pilot's size, exclusions."""
    row = conn.execute(
        """
        select
            count(*) filter (where credential = 'app_only'),
            count(*) filter (where credential = 'delegated'),
            count(*) filter (where scope = 'include'),
            count(*) filter (where scope = 'exclude')
        from ops.tenants
        """
    ).fetchone()
    assert row is not None
    app_only, delegated, included, excluded = row
    return {
        "direct_app_only": app_only,
        "direct_delegated": delegated,
        "included": included,
        "excluded": excluded,
    }
