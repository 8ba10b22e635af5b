"""`ops.customer_attributes`: read and write the partner's customer attributes, each change with who and when.

A value written again unchanged keeps its original who/when, so importing an unedited export changes nothing.
Every function runs in one transaction: a batch is applied whole or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from smart_office.segments.attributes import Attribute


@dataclass(frozen=True, slots=True)
class StoredAttribute:
    tenant_id: str
    company_name: str | None
    key: str
    value: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class Applied:
    """What a batch changed: values written (new or different) and values removed."""

    written: int
    removed: int


_UPSERT = """
    insert into ops.customer_attributes as current (tenant_id, attribute_key, attribute_value, set_by, set_at)
    values (%(tenant_id)s, %(key)s, %(value)s, %(set_by)s, now())
    on conflict (tenant_id, attribute_key) do update
    set attribute_value = excluded.attribute_value, set_by = excluded.set_by, set_at = excluded.set_at
    where current.attribute_value is distinct from excluded.attribute_value
"""
_DELETE = "delete from ops.customer_attributes where tenant_id = %(tenant_id)s and attribute_key = %(key)s"


def apply(
    conn: psycopg.Connection,
    *,
    write: Sequence[Attribute] = (),
    remove: Sequence[tuple[str, str]] = (),
    set_by: str,
) -> Applied:
    """Write `write` and remove the (tenant, key) pairs of `remove`, in one transaction."""
    written = removed = 0
    with conn.transaction(), conn.cursor() as cursor:
        for attribute in write:
            cursor.execute(
                _UPSERT,
                {
                    "tenant_id": attribute.tenant_id,
                    "key": attribute.key,
                    "value": attribute.value,
                    "set_by": set_by,
                },
            )
            written += cursor.rowcount
        for tenant_id, key in remove:
            cursor.execute(_DELETE, {"tenant_id": tenant_id, "key": key})
            removed += cursor.rowcount
    return Applied(written=written, removed=removed)


def stored(
    conn: psycopg.Connection, *, tenant_id: str | None = None, key: str | None = None
) -> list[StoredAttribute]:
    """The attributes set, with the customer's name where discovery knows it, by customer and key."""
    rows = conn.execute(
        """
        select
            attributes.tenant_id::text,
            customers.company_name,
            attributes.attribute_key,
            attributes.attribute_value,
            attributes.set_by,
            attributes.set_at
        from ops.customer_attributes as attributes
        left join ops.customers as customers on attributes.tenant_id = customers.tenant_id
        where
            (%(tenant_id)s::uuid is null or attributes.tenant_id = %(tenant_id)s::uuid)
            and (%(key)s::text is null or attributes.attribute_key = %(key)s::text)
        order by customers.company_name nulls last, attributes.tenant_id, attributes.attribute_key
        """,
        {"tenant_id": tenant_id, "key": key},
    ).fetchall()
    return [StoredAttribute(*row) for row in rows]


def known_customers(conn: psycopg.Connection) -> dict[str, str | None]:
    """Every customer discovery has listed, departed ones included: tenant id → company name."""
    rows = conn.execute(
        "select tenant_id::text, company_name from ops.customers order by company_name, tenant_id"
    )
    return dict(rows.fetchall())


def unknown_tenants(conn: psycopg.Connection, tenant_ids: Iterable[str]) -> list[str]:
    """Those of `tenant_ids` discovery has never listed (a typo, or a customer not discovered yet)."""
    known = known_customers(conn)
    return sorted({tenant for tenant in tenant_ids if tenant not in known})
