"""One extraction shard: a slice of the run's extractable tenants, extracted concurrently in one process.

Sharding keeps a 10,000-customer portfolio to tens of mapped Airflow tasks; inside a task, tenants run
concurrently on one event loop with a pooled HTTP client and one warehouse connection per worker.
Memory is bounded by concurrency x page size, never by the number of tenants.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict, dataclass

import psycopg

from smart_office.auth.exchange import TokenExchanger
from smart_office.extract.runs import FAILED, PARTIAL, TenantOutcome, record_outcomes
from smart_office.extract.tenant import ENDPOINTS, EndpointSpec, ExtractionWindow, TenantExtractor
from smart_office.graph.client import GraphClient
from smart_office.warehouse.connection import WarehouseTarget, aconnect

log = logging.getLogger(__name__)


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
    """The shard's tenants: extractable customers of the run's snapshot, split into `shards` contiguous slices."""
    rows = conn.execute(
        """
        select tenant_id::text from (
            select tenant_id, ntile(%s) over (order by tenant_id) as slice
            from ops.customer_snapshots
            where run_id = %s and access_state in ('gdap', 'dap') and not is_excluded and not is_departed
        ) s
        where slice = %s
        order by tenant_id
        """,
        (shards, run_id, shard + 1),
    ).fetchall()
    return [r[0] for r in rows]


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
    """Extract `tenants` with `concurrency` workers. A partner-level auth failure cancels the shard and raises."""
    summary = ShardSummary(run_id=run_id, shard=shard, shards=shards)
    queue: asyncio.Queue[str] = asyncio.Queue()
    for tenant in tenants:
        queue.put_nowait(tenant)

    async def worker() -> None:
        conn = await aconnect(warehouse_url, autocommit=True, application_name="smart-office-extract")
        try:
            extractor = TenantExtractor(graph, exchanger, conn, run_id, window, endpoints)
            while True:
                try:
                    tenant = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                outcomes = await extractor.extract(tenant)
                await record_outcomes(conn, run_id, outcomes)
                summary.count(outcomes)
        finally:
            await conn.close()

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
