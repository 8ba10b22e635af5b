"""Customer discovery: every Partner Center customer, joined with GDAP relationships, their access assignments
(which roles reach a security group of the partner: `extract/access_assignments.py`) and DAP contracts.

Lands the raw Partner Center and GDAP payloads (relationships and assignments), writes the run's customer snapshot (ops.customer_snapshots)
and maintains ops.customers (first/last seen, departed). What access a customer grants is not decided here:
the snapshot records what was listed, and the warehouse's `ops.classify_customer_access` (migration 0006,
0007; also what dbt's `int_customers_access_classified` calls) classifies it as the snapshot is written; which
customers the run extracts is `ops.run_customers.is_extractable`. Customers without delegated access are
recorded with their access state — they are not failures, they are a to-do for the partner.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from smart_office.extract.access_assignments import ENDPOINT as ASSIGNMENTS_ENDPOINT
from smart_office.extract.access_assignments import read_access_assignments
from smart_office.graph.client import GraphClient
from smart_office.graph.rate_limits import DIRECTORY
from smart_office.partner_center.client import PartnerCenterClient
from smart_office.warehouse.loader import RawLoader

log = logging.getLogger(__name__)

# An ISO 8601 time with its own offset: passed to PostgreSQL as sent, so the warehouse parses it as staging does.
_HAS_OFFSET = re.compile(r"(Z|z|[+-]\d{2}(:?\d{2})?)$")


@dataclass(slots=True)
class CustomerRecord:
    """One listed customer, as discovery observed it (nothing concluded yet)."""

    tenant_id: str
    partner_center_id: str | None
    company_name: str | None
    default_domain: str | None
    relationship_to_partner: str | None
    relationships: list[dict[str, Any]]
    has_dap_contract: bool
    is_excluded: bool


@dataclass(slots=True)
class DiscoveryResult:
    run_id: str
    listed: int = 0
    extractable: int = 0
    departed: int = 0
    purged: int = 0  # listed, but purged on request: left out (smart_office.retention.blocked)
    by_access_state: dict[str, int] = field(default_factory=dict)
    # Active relationships whose access assignments could not be read (classified as if assigned).
    assignments_unknown: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "listed": self.listed,
            "extractable": self.extractable,
            "departed": self.departed,
            "purged": self.purged,
            "by_access_state": dict(self.by_access_state),
            "assignments_unknown": self.assignments_unknown,
        }


def _graph_text(value: Any) -> str | None:
    """A JSON string (cut to 100 characters), or a number or boolean as its JSON text; else None (as staging)."""
    if isinstance(value, str):
        return value[:100]
    if isinstance(value, bool | int | float):
        return orjson.dumps(value).decode()
    return None


def _graph_timestamp(value: Any) -> str | None:
    """An ISO 8601 date-time of 2000-2099 (as staging reads one), else None; without an offset, UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if not 2000 <= parsed.year <= 2099:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC).isoformat()
    return value if _HAS_OFFSET.search(value) else parsed.isoformat()


def _role_ids(entity: dict[str, Any]) -> list[str]:
    """The roleDefinitionIds of `accessDetails.unifiedRoles` (a relationship's or an assignment's)."""
    details = entity.get("accessDetails")
    roles = details.get("unifiedRoles") if isinstance(details, dict) else None
    return [
        role["roleDefinitionId"][:100]
        for role in (roles if isinstance(roles, list) else [])
        if isinstance(role, dict) and isinstance(role.get("roleDefinitionId"), str)
    ]


def assignment_facts(assignment: Any) -> dict[str, Any]:
    """An access assignment in the shape `ops.classify_customer_access` reads: status, container type, roles."""
    if not isinstance(assignment, dict):
        return {"status": None, "container_type": None, "role_ids": []}
    container = assignment.get("accessContainer")
    return {
        "status": _graph_text(assignment.get("status")),
        "container_type": _graph_text(
            container.get("accessContainerType") if isinstance(container, dict) else None
        ),
        "role_ids": _role_ids(assignment),
    }


def relationship_facts(relationship: dict[str, Any], assignments: list[Any] | None = None) -> dict[str, Any]:
    """A GDAP relationship in the shape `ops.classify_customer_access` reads: status, end and last change, roles,
    and — when they were read completely — its access assignments (None: unknown, which is not unassigned)."""
    facts: dict[str, Any] = {
        "status": _graph_text(relationship.get("status")),
        "end_at": _graph_timestamp(relationship.get("endDateTime")),
        "last_modified_at": _graph_timestamp(relationship.get("lastModifiedDateTime")),
        "role_ids": _role_ids(relationship),
    }
    if assignments is not None:
        facts["assignments"] = [assignment_facts(a) for a in assignments]
    return facts


def _relationship_tenant(relationship: dict[str, Any]) -> str:
    customer = relationship.get("customer")
    return str((customer if isinstance(customer, dict) else {}).get("tenantId") or "").lower()


def build_records(
    customers: Iterable[dict[str, Any]],
    relationships: Iterable[dict[str, Any]],
    dap_tenants: set[str],
    excluded: frozenset[str],
    assignments: dict[str, list[Any]] | None = None,
) -> list[CustomerRecord]:
    """One record per listed tenant (the first listing wins), with its relationships (and the access assignments
    read for them, by relationship id) and DAP contract."""
    read = assignments or {}
    by_tenant: dict[str, list[dict[str, Any]]] = {}
    for rel in relationships:
        tenant = _relationship_tenant(rel)
        if tenant:
            rel_id = rel.get("id")
            found = read.get(rel_id) if isinstance(rel_id, str) else None
            by_tenant.setdefault(tenant, []).append(relationship_facts(rel, found))
    records = []
    seen: set[str] = set()
    for customer in customers:
        profile = customer.get("companyProfile") or {}
        tenant = str(profile.get("tenantId") or customer.get("id") or "").lower()
        if not tenant or tenant in seen:
            continue
        seen.add(tenant)
        records.append(
            CustomerRecord(
                tenant_id=tenant,
                partner_center_id=customer.get("id"),
                company_name=profile.get("companyName"),
                default_domain=profile.get("domain"),
                relationship_to_partner=customer.get("relationshipToPartner"),
                relationships=by_tenant.get(tenant, []),
                has_dap_contract=tenant in dap_tenants,
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
    retry_seconds: float = 300.0,
) -> DiscoveryResult:
    """List customers, relationships (and their access assignments) and contracts, then record them; `seen_at`
    comes from the task context, `retry_seconds` bounds the retries of each round trip of assignments."""
    customers = await asyncio.to_thread(lambda: list(partner_center.customers()))
    relationships: list[dict[str, Any]] = []
    async for page in graph.pages(
        partner_tenant_id,
        "/tenantRelationships/delegatedAdminRelationships",
        params={"$top": "300"},
        bucket=DIRECTORY,
    ):
        relationships.extend(page.items)
    reads = await read_access_assignments(
        graph, partner_tenant_id, relationships, retry_seconds=retry_seconds
    )
    dap_tenants: set[str] = set()
    async for page in graph.pages(partner_tenant_id, "/contracts", params={"$top": "999"}, bucket=DIRECTORY):
        dap_tenants.update(str(c.get("customerId", "")).lower() for c in page.items if isinstance(c, dict))
    return await record_discovery(
        conn,
        run_id=run_id,
        customers=customers,
        relationships=relationships,
        dap_tenants=dap_tenants,
        excluded=excluded,
        seen_at=seen_at,
        assignments=reads.by_relationship,
        salvaged_assignments=reads.salvaged,
        assignments_unknown=reads.failed,
    )


async def record_discovery(
    conn: psycopg.AsyncConnection,
    *,
    run_id: str,
    customers: list[dict[str, Any]],
    relationships: list[dict[str, Any]],
    dap_tenants: set[str],
    excluded: frozenset[str],
    seen_at: datetime,
    assignments: dict[str, list[Any]] | None = None,
    salvaged_assignments: set[str] | frozenset[str] = frozenset(),
    assignments_unknown: int = 0,
) -> DiscoveryResult:
    """Land what discovery listed and write the run's snapshot (the part that calls no Microsoft API).

    :param customers: Partner Center customers, as listed.
    :param relationships: the partner's GDAP relationships, as Graph listed them.
    :param assignments: the access assignments of the relationships read completely, by relationship id; a
        relationship not in it has unknown assignments.
    :param salvaged_assignments: relationships whose assignments came in a leniently parsed body.
    :param assignments_unknown: how many active relationships' assignments could not be read.
    :param dap_tenants: tenants the partner's /contracts lists.
    :param excluded: tenants excluded by configuration.
    :param seen_at: the run's point in time (first/last seen, departed).
    """
    from smart_office.retention.blocked import drop_purged

    # Assignments are landed through the relationships kept, so a purged tenant's are dropped with them.
    customers, relationships, purged = await drop_purged(conn, customers, relationships)
    records = build_records(customers, relationships, dap_tenants, excluded, assignments)
    loader = RawLoader(conn, run_id)
    await _land_raw(loader, customers, relationships)
    landed = await _land_assignments(loader, relationships, assignments or {}, salvaged_assignments)
    async with conn.transaction():
        await _record_assignment_reads(conn, run_id, landed, seen_at)
        await _write_snapshot(conn, run_id, records, seen_at)
        departed = await _mark_departed(conn, run_id, seen_at)
    result = DiscoveryResult(
        run_id=run_id,
        listed=len(records),
        departed=departed,
        purged=purged,
        assignments_unknown=assignments_unknown,
    )
    # What the run will extract is the warehouse's rule, read back rather than restated here.
    cur = await conn.execute(
        """
        select access_state, count(*), count(*) filter (where is_extractable)
        from ops.run_customers
        where run_id = %s and not is_departed
        group by access_state
        """,
        (run_id,),
    )
    for state, count, extractable in await cur.fetchall():
        result.by_access_state[state] = count
        result.extractable += extractable
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
        by_tenant.setdefault(_relationship_tenant(rel), []).append(rel)
    for tenant, items in by_tenant.items():
        if tenant:
            await loader.land(
                "gdap_relationships",
                tenant,
                items,
                endpoint="/tenantRelationships/delegatedAdminRelationships",
            )


async def _land_assignments(
    loader: RawLoader,
    relationships: list[dict[str, Any]],
    assignments: dict[str, list[Any]],
    salvaged: set[str] | frozenset[str],
) -> list[tuple[str, str, list[str]]]:
    """Land the assignments read, by customer tenant; returns (tenant, relationship id, assignment ids) per read."""
    tenant_of = {r.get("id"): _relationship_tenant(r) for r in relationships if isinstance(r.get("id"), str)}
    by_tenant: dict[str, list[tuple[str, list[Any]]]] = {}
    for relationship_id, items in assignments.items():
        tenant = tenant_of.get(relationship_id)
        if tenant:
            by_tenant.setdefault(tenant, []).append((relationship_id, items))
    reads = []
    for tenant, found in by_tenant.items():
        items = [item for _, listed in found for item in listed]
        lenient = any(relationship_id in salvaged for relationship_id, _ in found)
        await loader.land(
            "gdap_access_assignments", tenant, items, endpoint=ASSIGNMENTS_ENDPOINT, lenient=lenient
        )
        for relationship_id, listed in found:
            ids = [str(i["id"]) for i in listed if isinstance(i, dict) and isinstance(i.get("id"), str)]
            reads.append((tenant, relationship_id, ids))
    return reads


async def _record_assignment_reads(
    conn: psycopg.AsyncConnection, run_id: str, reads: list[tuple[str, str, list[str]]], seen_at: datetime
) -> None:
    """Which assignments each relationship had at its latest complete read (a run for an earlier interval never
    replaces a later read)."""
    async with conn.cursor() as cur:
        await cur.executemany(
            """
            insert into ops.gdap_access_assignment_reads as r (tenant_id, relationship_id, assignment_ids, read_at, run_id)
            values (%s, %s, %s, %s, %s)
            on conflict (tenant_id, relationship_id) do update set
                assignment_ids = excluded.assignment_ids, read_at = excluded.read_at, run_id = excluded.run_id
            where excluded.read_at >= r.read_at
            """,
            [(tenant, relationship_id, ids, seen_at, run_id) for tenant, relationship_id, ids in reads],
        )


async def _write_snapshot(
    conn: psycopg.AsyncConnection, run_id: str, records: list[CustomerRecord], seen_at: datetime
) -> None:
    # Two discoveries of the same run (a retried task beside a slow first attempt, or the same interval
    # run twice at once) replace the snapshot one after the other, never interleaved.
    await conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"snapshot:{run_id}",))
    await conn.execute("delete from ops.customer_snapshots where run_id = %s", (run_id,))
    await conn.execute(
        """
        create temporary table discovered (
            tenant_id uuid not null,
            partner_center_id text,
            company_name text,
            default_domain text,
            relationship_to_partner text,
            relationships jsonb not null,
            has_dap_contract boolean not null,
            is_excluded boolean not null
        ) on commit drop
        """
    )
    async with conn.cursor() as cur:
        async with cur.copy(
            """
            copy discovered (tenant_id, partner_center_id, company_name, default_domain, relationship_to_partner,
                relationships, has_dap_contract, is_excluded) from stdin
            """
        ) as copy:
            for r in records:
                await copy.write_row(
                    (
                        r.tenant_id,
                        r.partner_center_id,
                        r.company_name,
                        r.default_domain,
                        r.relationship_to_partner,
                        orjson.dumps(r.relationships).decode(),
                        r.has_dap_contract,
                        r.is_excluded,
                    )
                )
        # The classification is the warehouse's (migration 0006), so dbt classifies the landed payloads alike.
        await cur.execute(
            """
            insert into ops.customer_snapshots (run_id, tenant_id, partner_center_id, company_name, default_domain,
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles,
                has_dap_contract, is_excluded, is_departed)
            select %(run)s, discovered.tenant_id, discovered.partner_center_id, discovered.company_name,
                   discovered.default_domain, discovered.relationship_to_partner, access.access_state,
                   access.gdap_status, access.gdap_end_at, access.has_security_roles, discovered.has_dap_contract,
                   discovered.is_excluded, false
            from discovered
            cross join lateral ops.classify_customer_access(discovered.relationships, discovered.has_dap_contract)
                as access
            """,
            {"run": run_id},
        )
        await cur.execute(
            """
            insert into ops.customers as c (tenant_id, partner_center_id, company_name, default_domain,
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles,
                has_dap_contract, is_excluded, first_seen_at, last_seen_at, departed_at, last_run_id)
            select tenant_id, partner_center_id, company_name, default_domain, relationship_to_partner,
                   access_state, gdap_status, gdap_end_at, has_security_roles, has_dap_contract, is_excluded,
                   %(seen)s, %(seen)s, null, run_id
            from ops.customer_snapshots where run_id = %(run)s
            on conflict (tenant_id) do update set
                partner_center_id = excluded.partner_center_id, company_name = excluded.company_name,
                default_domain = excluded.default_domain, relationship_to_partner = excluded.relationship_to_partner,
                access_state = excluded.access_state, gdap_status = excluded.gdap_status,
                gdap_end_at = excluded.gdap_end_at, has_security_roles = excluded.has_security_roles,
                has_dap_contract = excluded.has_dap_contract, is_excluded = excluded.is_excluded,
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
                relationship_to_partner, access_state, gdap_status, gdap_end_at, has_security_roles,
                has_dap_contract, is_excluded, is_departed)
            select %(run)s, tenant_id, partner_center_id, company_name, default_domain, relationship_to_partner,
                   'departed', gdap_status, gdap_end_at, has_security_roles, has_dap_contract, is_excluded, true
            from gone
            returning 1
        )
        select count(*) from snap
        """,
        {"seen": seen_at, "run": run_id},
    )
    return (await cur.fetchone())[0]
