"""Customer segments for every page: the segments to choose from, and the condition that keeps a query to one.

A page passes the chosen `Segment` (or None) to its queries; each puts `in_segment(segment, <tenant column>)` in
its `where`, so one rule (dim_customer_segments' membership) decides who is in a segment everywhere.
"""

from __future__ import annotations

import pandas as pd
from psycopg import sql

from smart_office.dashboard.filters import Segment
from smart_office.dashboard.queries.marts import Reader, mart

SEGMENTS = mart("dim_customer_segments")


def in_segment(segment: Segment | None, tenant: sql.Composable) -> sql.Composable:
    """`tenant` (a tenant id column) belongs to `segment`; true when no segment is chosen."""
    if segment is None:
        return sql.SQL("true")
    return sql.SQL(
        "{tenant} in (select segments.tenant_id from {segments} as segments"
        " where segments.segment_key = {key} and segments.segment_value = {value})"
    ).format(tenant=tenant, segments=SEGMENTS, key=sql.Literal(segment.key), value=sql.Literal(segment.value))


def segment_options(reader: Reader) -> pd.DataFrame:
    """Every segment with its number of customers, the well-known ones (service model, industry, …) first."""
    return reader.frame(
        sql.SQL(
            """
            select segment_key, segment_value, count(*) as customers
            from {segments}
            group by segment_key, segment_value, is_well_known
            order by is_well_known desc, segment_key, segment_value
            """
        ).format(segments=SEGMENTS)
    )


def segment_members(reader: Reader, segment: Segment) -> list[str]:
    """The tenant ids of the segment's customers."""
    frame = reader.frame(
        sql.SQL(
            "select tenant_id::text as tenant_id from {segments}"
            " where segment_key = %(key)s and segment_value = %(value)s order by tenant_id"
        ).format(segments=SEGMENTS),
        {"key": segment.key, "value": segment.value},
    )
    return list(frame["tenant_id"])
