"""Keeping a customer purged on request out of discovery: its listing is dropped before anything lands."""

from __future__ import annotations

import logging
import os
from typing import Any

import psycopg

from smart_office.retention.purge import PurgeError, ablocked_hashes, tenant_hash
from smart_office.retention.settings import PURGE_KEY
from smart_office.settings import SettingsError

log = logging.getLogger(__name__)


def _customer_tenant(customer: Any) -> str:
    if not isinstance(customer, dict):
        return ""
    profile = customer.get("companyProfile") or {}
    return str(
        (profile.get("tenantId") if isinstance(profile, dict) else None) or customer.get("id") or ""
    ).lower()


def _relationship_tenant(relationship: Any) -> str:
    customer = relationship.get("customer") if isinstance(relationship, dict) else None
    return str((customer if isinstance(customer, dict) else {}).get("tenantId") or "").lower()


async def drop_purged(
    conn: psycopg.AsyncConnection,
    customers: list[dict[str, Any]],
    relationships: list[dict[str, Any]],
    *,
    key: str | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    """Customers and relationships without the tenants purged on request (ops.purges), and how many were dropped.

    :param key: SMART_OFFICE_PURGE_KEY (read from the environment when not given); needed only when a purge
        blocks a tenant, and then a missing key is an error rather than a purged customer coming back.
    """
    blocked = await ablocked_hashes(conn)
    if not blocked:
        return customers, relationships, 0
    key = key or os.environ.get(PURGE_KEY, "").strip()
    if not key:
        raise SettingsError(
            f"{PURGE_KEY} is not set, and customers purged on request must be kept out of discovery"
        )
    hashes: dict[str, bool] = {}

    def is_blocked(tenant: str) -> bool:
        if not tenant:
            return False
        if tenant not in hashes:
            try:
                hashes[tenant] = tenant_hash(key, tenant) in blocked
            except PurgeError:  # not a GUID: not a tenant a purge can name
                hashes[tenant] = False
        return hashes[tenant]

    kept_customers = [c for c in customers if not is_blocked(_customer_tenant(c))]
    kept_relationships = [r for r in relationships if not is_blocked(_relationship_tenant(r))]
    dropped = len({t for t, b in hashes.items() if b})
    if dropped:
        log.info("%d listed customer(s) purged on request left out (smart-office tenants readmit)", dropped)
    return kept_customers, kept_relationships, dropped
