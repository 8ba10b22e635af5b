"""Deleting superseded raw versions older than the retention, without changing what dbt builds from raw.

A raw table holds every version of every entity (key: tenant, entity id, payload hash). The marts read, per
entity, one version: the latest landed (`extracted_at`), or for alerts and incidents the one with the latest
`lastUpdateDateTime` (ties: the latest landed); `fct_incidents` also reads the latest landing time of each
incident. A version is deleted only when, before the retention's cutoff, it had already been superseded on
each of those orders by a version that stays — so:

- the latest version of every entity is kept, however old (an entity is never deleted, only its history);
- every version in effect at any moment inside the window (from the cutoff on) is kept, so a build at any
  point of the window, and the weekly full refresh now, read the same versions as before;
- a version whose change time staging might read differently from the loader (a lastUpdateDateTime that is
  not a plain UTC `…Z` time of 2000-2099) is never deleted.

Deletions run in batches along the primary key, each its own short transaction, so the daily merge into the
same tables never waits long on them. What retention does change: `fct_data_issues` lists issues per version;
at the next full refresh it no longer lists those of deleted versions (docs/retention.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

RAW_SCHEMA = "raw"
# The raw tables of versioned entities, and the payload field of the change time their marts order by first
# (None: the marts order by landing time only).
VERSIONED_TABLES: dict[str, str | None] = {
    "partner_center_customers": None,
    "gdap_relationships": None,
    "secure_scores": None,
    "secure_score_control_profiles": None,
    "alerts_v2": "lastUpdateDateTime",
    "incidents": "lastUpdateDateTime",
}
DEFAULT_BATCH_SIZE = 5_000

# A plain UTC time of 2000-2099, which PostgreSQL's cast and staging's reader (dbt/macros/json_safe.sql) read
# the same way; the loader's parse of it (source_updated_at not null) vouches that the day exists.
_CANONICAL_TIME = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,15})?Z$"


@dataclass(slots=True)
class RetentionResult:
    """Versions deleted per raw table, and the batches it took."""

    cutoff: datetime
    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0

    @property
    def total(self) -> int:
        return sum(self.deleted.values())

    def as_dict(self) -> dict[str, object]:
        return {"cutoff": self.cutoff.isoformat(), "deleted": dict(self.deleted), "batches": self.batches}


def _change_time(alias: str, field_name: str) -> sql.Composable:
    """The version's change time as staging reads it, or null when it might read it otherwise."""
    value = sql.SQL("{}.payload -> {}").format(sql.Identifier(alias), sql.Literal(field_name))
    text = sql.SQL("{}.payload ->> {}").format(sql.Identifier(alias), sql.Literal(field_name))
    return sql.SQL(
        "case when jsonb_typeof({value}) = 'string' and {alias}.source_updated_at is not null "
        "and {text} ~ {pattern} then ({text})::timestamptz end"
    ).format(value=value, text=text, alias=sql.Identifier(alias), pattern=sql.Literal(_CANONICAL_TIME))


def _deletable(table: str, change_field: str | None) -> sql.Composable:
    """The condition on `v` under which a version may go (see the module's docstring)."""
    target = sql.Identifier(RAW_SCHEMA, table)
    same_entity = sql.SQL("w.tenant_id = v.tenant_id and w.entity_id = v.entity_id")
    condition = sql.SQL(
        "v.extracted_at < %(cutoff)s and exists ("
        "select from {target} as w where {same} and w.extracted_at > v.extracted_at "
        "and w.extracted_at < %(cutoff)s)"
    ).format(target=target, same=same_entity)
    if change_field is None:
        return condition
    v_time = _change_time("v", change_field)
    w_time = _change_time("w", change_field)
    return sql.SQL(
        "{condition} and {v_time} is not null and exists ("
        "select from {target} as w where {same} and w.extracted_at < %(cutoff)s and {w_time} > {v_time})"
    ).format(condition=condition, v_time=v_time, w_time=w_time, target=target, same=same_entity)


def apply_raw_retention(
    conn: psycopg.Connection, cutoff: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> RetentionResult:
    """Delete the superseded versions of every raw table that the window from `cutoff` does not need.

    :param conn: a connection not inside a transaction; each batch commits on its own.
    :param cutoff: the start of the retained window (the run's logical time less the retention).
    :param batch_size: primary-key range per batch (rows looked at, not rows deleted).
    """
    result = RetentionResult(cutoff=cutoff)
    key = sql.SQL("(v.tenant_id, v.entity_id, v.payload_hash)")
    for table, change_field in VERSIONED_TABLES.items():
        target = sql.Identifier(RAW_SCHEMA, table)
        deletable = _deletable(table, change_field)
        lower: tuple[object, ...] | None = None
        deleted = 0
        while True:
            with conn.transaction():
                after = (
                    sql.SQL("where {key} > (%(t)s, %(e)s, %(h)s)").format(key=key) if lower else sql.SQL("")
                )
                params = {"t": lower[0], "e": lower[1], "h": lower[2]} if lower else {}
                upper = conn.execute(
                    sql.SQL(
                        "select v.tenant_id, v.entity_id, v.payload_hash from {target} as v {after} "
                        "order by v.tenant_id, v.entity_id, v.payload_hash offset %(skip)s limit 1"
                    ).format(target=target, after=after),
                    {**params, "skip": batch_size - 1},
                ).fetchone()
                bounds = [sql.SQL("{key} > (%(t)s, %(e)s, %(h)s)").format(key=key)] if lower else []
                if upper is not None:
                    bounds.append(sql.SQL("{key} <= (%(ut)s, %(ue)s, %(uh)s)").format(key=key))
                    params.update({"ut": upper[0], "ue": upper[1], "uh": upper[2]})
                statement = sql.SQL("delete from {target} as v where {conditions}").format(
                    target=target, conditions=sql.SQL(" and ").join([*bounds, deletable])
                )
                deleted += conn.execute(statement, {**params, "cutoff": cutoff}).rowcount
            result.batches += 1
            if upper is None:
                break
            lower = upper
        result.deleted[table] = deleted
    log.info(
        "raw retention before %s: %d version(s) deleted %s", cutoff.isoformat(), result.total, result.deleted
    )
    return result
