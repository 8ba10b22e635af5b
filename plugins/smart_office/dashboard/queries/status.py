"""What the marts hold at all, for every page: whether dbt has built them, the latest runs, how recent the data is."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date, datetime

from psycopg import sql

from smart_office.dashboard.queries.marts import SCHEMA, Reader, as_date, as_timestamp, mart, marts_named_in

COVERAGE = mart("fct_ingestion_coverage")
POSTURE = mart("rpt_customer_posture")
SECURE_SCORES = mart("fct_secure_scores")


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    as_of: datetime | None
    started_at: datetime | None
    status: str
    attempted: int
    loaded: int


@dataclass(frozen=True, slots=True)
class WarehouseStatus:
    """What the marts hold at all: whether they exist, the latest runs, and how recent the data is."""

    has_marts: bool
    customers: int = 0
    customers_scored: int = 0
    latest_score_date: date | None = None
    first_score_date: date | None = None
    latest_run: RunInfo | None = None
    last_finished_run: RunInfo | None = None

    @property
    def has_data(self) -> bool:
        return self.latest_score_date is not None

    @property
    def as_of(self) -> datetime | None:
        """The warehouse's "now": the latest run's point in time (not the database clock)."""
        run = self.latest_run
        return (run.as_of or run.started_at) if run else None

    @property
    def coverage_run(self) -> RunInfo | None:
        """The run whose coverage to show: the last finished one, else the one in progress."""
        return self.last_finished_run or self.latest_run


def marts_the_dashboard_reads() -> set[str]:
    """Every mart a query module names: what the pages need built before they can show anything."""
    from smart_office.dashboard.queries import alerts, customer, history, opportunities, portfolio, segments

    return marts_named_in(
        [alerts, customer, history, opportunities, portfolio, segments, sys.modules[__name__]]
    )


def warehouse_status(reader: Reader) -> WarehouseStatus:
    # The marts exist once dbt has built them (a first build goes model by model); before that the pages'
    # queries would fail.
    needed = sorted(marts_the_dashboard_reads())
    found = reader.frame(
        sql.SQL(
            "select count(*) as n from unnest({names}::text[]) as name "
            "where to_regclass({schema} || '.' || quote_ident(name)) is not null"
        ).format(names=sql.Literal(needed), schema=sql.Literal(SCHEMA))
    )
    if int(found.iloc[0]["n"]) != len(needed):
        return WarehouseStatus(has_marts=False)
    counts = reader.frame(
        sql.SQL(
            """
            select
                (select count(*) from {posture} where not is_departed) as customers,
                (select count(*) from {posture} where not is_departed and secure_score_pct is not null)
                    as customers_scored,
                (select max(score_date) from {scores}) as latest_score_date,
                (select min(score_date) from {scores}) as first_score_date
            """
        ).format(posture=POSTURE, scores=SECURE_SCORES)
    ).iloc[0]
    runs = reader.frame(
        sql.SQL(
            """
            select
                run_id,
                run_as_of,
                run_started_at,
                run_status,
                coalesce(max(customers_attempted), 0)::bigint as attempted,
                coalesce(max(customers_loaded), 0)::bigint as loaded
            from {coverage}
            group by run_id, run_as_of, run_started_at, run_status
            order by run_started_at desc, run_id desc
            limit 10
            """
        ).format(coverage=COVERAGE)
    )
    infos = [
        RunInfo(
            run_id=row.run_id,
            as_of=as_timestamp(row.run_as_of),
            started_at=as_timestamp(row.run_started_at),
            status=row.run_status,
            attempted=int(row.attempted),
            loaded=int(row.loaded),
        )
        for row in runs.itertuples()
    ]
    finished = [run for run in infos if run.status != "running"]
    return WarehouseStatus(
        has_marts=True,
        customers=int(counts["customers"]),
        customers_scored=int(counts["customers_scored"]),
        latest_score_date=as_date(counts["latest_score_date"]),
        first_score_date=as_date(counts["first_score_date"]),
        latest_run=infos[0] if infos else None,
        last_finished_run=finished[0] if finished else None,
    )
