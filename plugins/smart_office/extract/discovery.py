"""Customer discovery: every Partner Center customer, joined with GDAP relationships (and DAP contracts).

Produces the run's customer snapshot (ops.customer_snapshots), maintains ops.customers (first/last seen,
departed), and lands the raw Partner Center and GDAP payloads. Customers without delegated access are
recorded with their access state — they are not failures, they are a to-do for the partner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from smart_office.graph.client import GraphClient
from smart_office.graph.rate_limits import DIRECTORY
from smart_office.partner_center.client import PartnerCenterClient
from smart_office.warehouse.loader import RawLoader

log = logging.getLogger(__name__)

# Entra built-in roles that can read Secure Score and Defender alerts/incidents (role template ids).
SECURITY_READ_ROLES = frozenset(
    {
        "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
        "f2ef992c-3afb-46b9-b7cf-a126ee74c451",  # Global Reader
        "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
        "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",  # Security Operator
        "5d6b6bb7-de71-4623-b4af-96380a352509",  # Security Reader
    }
)
ACTIVE_GDAP = frozenset({"active", "expiring"})
PENDING_GDAP = frozenset({"created", "approvalPending", "approved", "activating"})
EXTRACTABLE_STATES = ("gdap", "dap")


@dataclass(slots=True)
class CustomerRecord:
    tenant_id: str
    partner_center_id: str | None
    company_name: str | None
    default_domain: str | None
    relationship_to_partner: str | None
    access_state: str
    gdap_status: str | None
    gdap_end_at: str | None
    has_security_roles: bool
    is_excluded: bool


@dataclass(slots=True)
class DiscoveryResult:
    run_id: str
    listed: int = 0
    extractable: int = 0
    departed: int = 0
    by_access_state: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "listed": self.listed,
            "extractable": self.extractable,
            "departed": self.departed,
            "by_access_state": dict(self.by_access_state),
        }


def classify_access(
    relationships: list[dict[str, Any]], has_dap_contract: bool
) -> tuple[str, str | None, str | None, bool]:
    """(access_state, best GDAP status, its end time, has security roles) for one customer."""

    def roles(rel: dict[str, Any]) -> set[str]:
        details = rel.get("accessDetails") or {}
        return {str(r.get("roleDefinitionId", "")).lower() for r in details.get("unifiedRoles") or []}

    active = [r for r in relationships if r.get("status") in ACTIVE_GDAP]
    with_security = [r for r in active if roles(r) & SECURITY_READ_ROLES]
    if with_security:
        best = max(with_security, key=lambda r: str(r.get("endDateTime") or ""))
        return "gdap", best.get("status"), best.get("endDateTime"), True
    if active:
        # /contracts lists every customer the partner administers, GDAP included, so a contract says
        # nothing about security roles: an active GDAP relationship without one is a GDAP gap to fix.
        best = max(active, key=lambda r: str(r.get("endDateTime") or ""))
        return "gdap_no_security_role", best.get("status"), best.get("endDateTime"), False
    if has_dap_contract:
        return "dap", None, None, False
    if any(r.get("status") in PENDING_GDAP for r in relationships):
        return "gdap_pending", "approvalPending", None, False
    if relationships:
        latest = max(
            relationships, key=lambda r: str(r.get("endDateTime") or r.get("lastModifiedDateTime") or "")
        )
        return "gdap_expired", latest.get("status"), latest.get("endDateTime"), False
    return "none", None, None, False


def build_records(
    customers: Iterable[dict[str, Any]],
    relationships: Iterable[dict[str, Any]],
    dap_tenants: set[str],
    excluded: frozenset[str],
) -> list[CustomerRecord]:
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for rel in relationships:
        tenant = str((rel.get("customer") or {}).get("tenantId", "")).lower()
        if tenant:
            by_tenant.setdefault(tenant, []).append(rel)
    records = []
    seen: set[str] = set()
    for customer in customers:
        profile = customer.get("companyProfile") or {}
        tenant = str(profile.get("tenantId") or customer.get("id") or "").lower()
        if not tenant or tenant in seen:
            continue
        seen.add(tenant)
        state, status, end, security = classify_access(by_tenant.get(tenant, []), tenant in dap_tenants)
        records.append(
            CustomerRecord(
                tenant_id=tenant,
                partner_center_id=customer.get("id"),
                company_name=profile.get("companyName"),
                default_domain=profile.get("domain"),
                relationship_to_partner=customer.get("relationshipToPartner"),
                access_state=state,
                gdap_status=status,
                gdap_end_at=end,
                has_security_roles=security,
                is_excluded=tenant in excluded,
            )
        )
    return records


async def discover(
    *,
    run_id: str,
    partner_tenant_id: str,
    partner_center: PartnerCenterClient,
    graph: GraphClient,
    conn: psycopg.AsyncConnection,
    excluded: frozenset[str],
    seen_at: datetime,
) -> DiscoveryResult:
    """List customers and relationships, write the snapshot; `seen_at` comes from the task context."""
    customers = await asyncio.to_thread(lambda: list(partner_center.customers()))
    relationships: list[dict[str, Any]] = []
    async for page in graph.pages(
        partner_tenant_id,
        "/tenantRelationships/delegatedAdminRelationships",
        params={"$top": "300"},
        bucket=DIRECTORY,
    ):
        relationships.extend(page.items)
    dap_tenants: set[str] = set()
    async for page in graph.pages(partner_tenant_id, "/contracts", params={"$top": "999"}, bucket=DIRECTORY):
        dap_tenants.update(str(c.get("customerId", "")).lower() for c in page.items if isinstance(c, dict))

    records = build_records(customers, relationships, dap_tenants, excluded)
    await _land_raw(RawLoader(conn, run_id), customers, relationships)
    result = DiscoveryResult(run_id=run_id, listed=len(records))
    async with conn.transaction():
        await _write_snapshot(conn, run_id, records, seen_at)
        result.departed = await _mark_departed(conn, run_id, seen_at)
    for record in records:
        result.by_access_state[record.access_state] = result.by_access_state.get(record.access_state, 0) + 1
        if record.access_state in EXTRACTABLE_STATES and not record.is_excluded:
            result.extractable += 1
    log.info(
        "discovered %d customers (%d extractable, %d departed): %s",
        result.listed,
        result.extractable,
        result.departed,
        result.by_access_state,
    )
    return result


async def _land_raw(
    loader: RawLoader, customers: list[dict[str, Any]], relationships: list[dict[str, Any]]
) -> None:
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for customer in customers:
        tenant = str(
            (customer.get("companyProfile") or {}).get("tenantId") or customer.get("id") or ""
        ).lower()
        by_tenant.setdefault(tenant, []).append(customer)
    for tenant, items in by_tenant.items():
        if tenant:
            await loader.land("partner_center_customers", tenant, items, endpoint="/v1/customers")
    by_tenant = {}
    for rel in relationships:
        tenant = str((rel.get("customer") or {}).get("tenantId", "")).lower()
        by_tenant.setdefault(tenant, []).append(rel)
    for tenant, items in by_tenant.items():
        if tenant:
            await loader.land(
                "gdap_relationships",
                tenant,
                items,
                endpoint="/tenantRelationships/delegatedAdminRelationships",
            )


async def _write_snapshot(
    conn: psycopg.AsyncConnection, run_id: str, records: list[CustomerRecord], seen_at: datetime
) -> None:
    # Two discoveries of the same run (a retried task beside a slow first attempt, or the same interval
    # run twice at once) replace the snapshot one after the other, never interleaved.
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"snapshot:{run_id}",))
    await conn.execute("delete from ops.customer_snapshots where run_id = %s", (run_id,))
    rows = [
        (
            run_id,
            r.tenant_id,
            r.partner_center_id,
            r.company_name,
            r.default_domain,
            r.relationship_to_partner,
            r.access_state,
            r.gdap_status,
            r.gdap_end_at,
            r.has_security_roles,
            r.is_excluded,
        )
        for r in records
    ]
    async with conn.cursor() as cur:
        async with cur.copy(
            """
            copy ops.customer_snapshots (run_id, tenant_id, partner_center_id, company_name, default_domain,
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles,
                is_excluded, is_departed) from stdin
            """
        ) as copy:
            for row in rows:
                await copy.write_row((*row, False))
        await cur.execute(
            """
            insert into ops.customers as c (tenant_id, partner_center_id, company_name, default_domain,
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles, is_excluded,
                first_seen_at, last_seen_at, departed_at, last_run_id)
            select tenant_id, partner_center_id, company_name, default_domain, relationship_to_partner,
                   access_state, gdap_status, gdap_end_at, has_security_roles, is_excluded, %(seen)s, %(seen)s,
                   null, run_id
            from ops.customer_snapshots where run_id = %(run)s
            on conflict (tenant_id) do update set
                partner_center_id = excluded.partner_center_id, company_name = excluded.company_name,
                default_domain = excluded.default_domain, relationship_to_partner = excluded.relationship_to_partner,
                access_state = excluded.access_state, gdap_status = excluded.gdap_status,
                gdap_end_at = excluded.gdap_end_at, has_security_roles = excluded.has_security_roles,
                is_excluded = excluded.is_excluded,
                first_seen_at = least(c.first_seen_at, excluded.first_seen_at),
                last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at),
                departed_at = null, last_run_id = excluded.last_run_id
            """,
            {"seen": seen_at, "run": run_id},
        )


async def _mark_departed(conn: psycopg.AsyncConnection, run_id: str, seen_at: datetime) -> int:
    """Customers we knew that Partner Center no longer lists have departed; keep them, flagged."""
    cur = await conn.execute(
        """
        with gone as (
            update ops.customers set departed_at = coalesce(departed_at, %(seen)s)
            where last_run_id <> %(run)s
            returning *
        ), snap as (
            insert into ops.customer_snapshots (run_id, tenant_id, partner_center_id, company_name, default_domain,
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles, is_excluded,
                is_departed)
            select %(run)s, tenant_id, partner_center_id, company_name, default_domain, relationship_to_partner,
                   'departed', gdap_status, gdap_end_at, has_security_roles, is_excluded, true
            from gone
            returning 1
        )
        select count(*) from snap
        """,
        {"seen": seen_at, "run": run_id},
    )
    return (await cur.fetchone())[0]
