"""One extraction shard: a slice of the run's extractable tenants, extracted concurrently in one process.

Sharding keeps a 10,000-customer portfolio to tens of mapped Airflow tasks; inside a task, tenants run
concurrently on one event loop with a pooled HTTP client and one warehouse connection per worker.
Memory is bounded by concurrency x page size, never by the number of tenants.

A tenant is the unit of work, and its blast radius: whatever goes wrong while extracting it — a dropped
warehouse connection, an answer nobody foresaw — costs that tenant (recorded as its outcome), never the
shard. A lost connection is replaced and the tenant's work redone (landing is idempotent). Only a
partner-level auth failure, which every tenant would hit, stops the shard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import psycopg

from smart_office.auth.exchange import TokenExchanger
from smart_office.extract.runs import FAILED, PARTIAL, TenantOutcome, record_outcomes
from smart_office.extract.tenant import (
    ENDPOINTS,
    EndpointSpec,
    ExtractionWindow,
    PartnerAuthFailure,
    TenantExtractor,
    failed_outcomes,
)
from smart_office.graph.client import GraphClient
from smart_office.warehouse.connection import WarehouseTarget, WarehouseUnreachableError, aconnect

log = logging.getLogger(__name__)

# How often one tenant's unit of work is started again after its warehouse connection was lost.
WAREHOUSE_ATTEMPTS = 3


class WarehouseUnavailableError(RuntimeError):
    """The warehouse could not take the shard's outcomes even after reconnecting; the shard task is retried."""


@dataclass(slots=True)
class ShardSummary:
    """What a shard did — small enough for XCom."""

    run_id: str
    shard: int
    shards: int
    tenants: int = 0
    loaded: int = 0
    failed: int = 0
    rows_received: int = 0
    rows_new: int = 0
    quarantined: int = 0
    requests: int = 0
    throttled: int = 0
    reconnects: int = 0

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)

    def count(self, outcomes: list[TenantOutcome]) -> None:
        self.tenants += 1
        if any(o.outcome in {FAILED, PARTIAL} for o in outcomes):
            self.failed += 1
        else:
            self.loaded += 1
        for o in outcomes:
            self.rows_received += o.rows_received
            self.rows_new += o.rows_new
            self.quarantined += o.quarantined
            self.requests += o.requests
            self.throttled += o.throttled


def shard_tenants(conn: psycopg.Connection, run_id: str, shard: int, shards: int) -> list[str]:
    """The shard's tenants: the customers the run extracts (`ops.run_customers.is_extractable`, the warehouse's
    rule), split into `shards` contiguous slices."""
    rows = conn.execute(
        """
        select tenant_id::text from (
            select tenant_id, ntile(%s) over (order by tenant_id) as slice
            from ops.run_customers
            where run_id = %s and is_extractable
        ) s
        where slice = %s
        order by tenant_id
        """,
        (shards, run_id, shard + 1),
    ).fetchall()
    return [r[0] for r in rows]


async def connect_warehouse(target: WarehouseTarget | str, *, attempts: int = 4) -> psycopg.AsyncConnection:
    """An autocommit connection for landing; a warehouse that is briefly away (failover, restart) is waited for.

    A refused login is a configuration error and raised at once (WarehouseLoginError, not retried).
    """
    for attempt in range(attempts):
        try:
            return await aconnect(target, autocommit=True, application_name="smart-office-extract")
        except WarehouseUnreachableError:
            if attempt + 1 == attempts:
                raise
            await asyncio.sleep(random.uniform(0.5, 2.0) * 2**attempt)
    raise AssertionError("unreachable")


def _usable(conn: psycopg.AsyncConnection | None) -> bool:
    return conn is not None and not conn.closed and not conn.broken


async def _close_quietly(conn: psycopg.AsyncConnection | None) -> None:
    if conn is not None:
        with contextlib.suppress(psycopg.Error):
            await conn.close()


async def extract_tenants(
    *,
    tenants: list[str],
    run_id: str,
    shard: int,
    shards: int,
    graph: GraphClient,
    exchanger: TokenExchanger,
    warehouse_url: WarehouseTarget | str,
    window: ExtractionWindow,
    concurrency: int,
    endpoints: tuple[EndpointSpec, ...] = ENDPOINTS,
) -> ShardSummary:
    """Extract `tenants` with `concurrency` workers. A partner-level auth failure cancels the shard and raises;
    anything else is a tenant's outcome."""
    summary = ShardSummary(run_id=run_id, shard=shard, shards=shards)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for tenant in tenants:
        queue.put_nowait(tenant)

    async def worker() -> None:
        conn: psycopg.AsyncConnection | None = None
        extractor: TenantExtractor | None = None

        async def ready() -> tuple[psycopg.AsyncConnection, TenantExtractor]:
            """This worker's connection, opened again if it was lost; an unreachable warehouse stops the shard."""
            nonlocal conn, extractor
            if extractor is not None and conn is not None and _usable(conn):
                return conn, extractor
            await _close_quietly(conn)
            conn = extractor = None
            try:
                conn = await connect_warehouse(warehouse_url)
            except WarehouseUnreachableError as error:
                raise WarehouseUnavailableError(
                    f"shard {shard + 1}/{shards}: {error}; the shard will be retried"
                ) from None
            extractor = TenantExtractor(graph, exchanger, conn, run_id, window, endpoints)
            return conn, extractor

        def lost(error: psycopg.OperationalError, attempt: int, what: str) -> None:
            nonlocal extractor
            extractor = None
            summary.reconnects += 1
            log.warning(
                "%s: warehouse connection lost (%s, attempt %d of %d); reconnecting",
                what,
                type(error).__name__,
                attempt + 1,
                WAREHOUSE_ATTEMPTS,
            )

        async def extract_one(tenant: str) -> list[TenantOutcome]:
            started = datetime.now(UTC)
            for attempt in range(WAREHOUSE_ATTEMPTS):
                _, current = await ready()
                try:
                    return await current.extract(tenant)
                except PartnerAuthFailure:
                    raise
                except psycopg.OperationalError as error:
                    # Terminated backend, failover, network: the tenant's work is idempotent, so it is done
                    # again from the start on a new connection.
                    lost(error, attempt, f"tenant {tenant}")
                    await asyncio.sleep(random.uniform(0.2, 1.0) * 2**attempt)
                except Exception as error:  # an answer nobody foresaw: this tenant's failure, not the shard's
                    log.exception("tenant %s: extraction failed unexpectedly", tenant)
                    return failed_outcomes(
                        tenant, endpoints, "internal_error", started, f"{type(error).__name__}: {error}"
                    )
            return failed_outcomes(
                tenant, endpoints, "warehouse_error", started, f"connection lost {WAREHOUSE_ATTEMPTS} times"
            )

        async def record(outcomes: list[TenantOutcome]) -> None:
            for attempt in range(WAREHOUSE_ATTEMPTS):
                current, _ = await ready()
                try:
                    await record_outcomes(current, run_id, outcomes)
                    return
                except psycopg.OperationalError as error:
                    lost(error, attempt, "recording outcomes")
                    await asyncio.sleep(random.uniform(0.2, 1.0) * 2**attempt)
            raise WarehouseUnavailableError(
                f"shard {shard + 1}/{shards}: the warehouse keeps dropping the connection; the shard will be retried"
            )

        try:
            while True:
                try:
                    tenant = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcomes = await extract_one(tenant)
                await record(outcomes)
                summary.count(outcomes)
        finally:
            await _close_quietly(conn)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, min(concurrency, len(tenants))))]
    try:
        await asyncio.gather(*workers)
    except BaseException:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        raise
    log.info("shard %d/%d: %s", shard + 1, shards, summary.as_dict())
    return summary
