"""Where each customer's history is complete (fct_tenant_history's rule), for the pages' portfolio series."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from psycopg import sql

from smart_office.dashboard.queries.marts import Reader, mart

HISTORY = mart("fct_tenant_history")


def complete_on(dataset: str, table: str, day: str) -> sql.Composable:
    """`table.day` falls in the customer's complete history of `dataset` (fct_tenant_history's rule).

    A customer without a history row (data landed before history spans were recorded) counts as complete.
    """
    return sql.SQL(
        "not exists (select 1 from {history} as history where history.tenant_id = {table}.tenant_id "
        "and history.dataset = {dataset} and {table}.{day} < history.complete_from_date)"
    ).format(
        history=HISTORY,
        table=sql.Identifier(table),
        day=sql.Identifier(day),
        dataset=sql.Literal(dataset),
    )


def history_completeness(
    reader: Reader, dataset: str, start: date, end: date, tenant_id: str | None = None
) -> pd.Series:
    """How many customers' history of `dataset` is complete over the whole range, and from when the others'."""
    condition = sql.SQL(" and tenant_id = %(tenant)s::uuid") if tenant_id else sql.SQL("")
    params: dict[str, Any] = {"tenant": tenant_id} if tenant_id else {}
    return reader.frame(
        sql.SQL(
            """
            select
                count(*) as customers,
                count(*) filter (where complete_from_date <= %(start)s) as complete_whole_range,
                count(*) filter (where complete_from_date > %(start)s and complete_from_date <= %(end)s)
                    as complete_part_of_range,
                max(complete_from_date) filter (where complete_from_date <= %(end)s) as complete_for_all_from,
                count(*) filter (where history_gaps > 0) as with_gaps
            from {history}
            where dataset = %(dataset)s{condition}
            """
        ).format(history=HISTORY, condition=condition),
        {**params, "dataset": dataset, "start": start, "end": end},
    ).iloc[0]
