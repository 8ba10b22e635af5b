"""Reading GDAP access assignments: which of a relationship's roles the partner gave to which security group.

A relationship's roles reach the partner's users only through an active assignment to a security group they are
in (emulator/FACTS.md §1.6), so discovery reads the assignments of every active relationship: twenty
relationships to a `$batch` round trip at the partner tenant, several round trips in flight under the client's
directory limits (a 10,000-customer portfolio is about 450 round trips), following a nextLink when a
relationship has more than a page. What they mean is not decided here but by the warehouse's
`ops.classify_customer_access` (migration 0007). A relationship whose read failed — throttled or failing past
the retry budget, an error, a malformed answer — is left out of the result: its assignments are unknown, and
the classification never takes unknown for unassigned.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from smart_office.graph.client import BatchRequest, GraphClient
from smart_office.graph.errors import GraphError
from smart_office.graph.rate_limits import DIRECTORY

log = logging.getLogger(__name__)

# The relationships whose assignments can matter: only an active (or expiring) one grants anything. Reading
# fewer than the classification looks at is safe (the rest are unknown); this only saves requests.
READ_STATUSES = frozenset({"active", "expiring"})
ENDPOINT = "/tenantRelationships/delegatedAdminRelationships/accessAssignments"
_PAGE_SIZE = "300"  # Graph's maximum $top here
_BATCH_SIZE = 20  # Graph's maximum requests per $batch


def assignments_path(relationship_id: str) -> str:
    return f"/tenantRelationships/delegatedAdminRelationships/{quote(relationship_id, safe='')}/accessAssignments"


@dataclass(slots=True)
class AssignmentReads:
    """The assignments of each relationship read completely, by relationship id; how many reads failed."""

    by_relationship: dict[str, list[Any]] = field(default_factory=dict)
    salvaged: set[str] = field(default_factory=set)
    failed: int = 0


def relationships_to_read(relationships: Iterable[Any]) -> list[str]:
    """Ids of the listed relationships whose assignments discovery reads, each once, in a stable order."""
    return sorted(
        {
            r["id"]
            for r in relationships
            if isinstance(r, dict) and isinstance(r.get("id"), str) and r.get("status") in READ_STATUSES
        }
    )


async def read_access_assignments(
    graph: GraphClient, partner_tenant_id: str, relationships: Iterable[Any], *, retry_seconds: float
) -> AssignmentReads:
    """Read the access assignments of every active relationship; `retry_seconds` bounds each round trip's retries."""
    ids = relationships_to_read(relationships)
    chunks = [ids[i : i + _BATCH_SIZE] for i in range(0, len(ids), _BATCH_SIZE)]
    reads = AssignmentReads()
    for part in await asyncio.gather(
        *(_read_chunk(graph, partner_tenant_id, chunk, retry_seconds) for chunk in chunks)
    ):
        reads.by_relationship.update(part.by_relationship)
        reads.salvaged |= part.salvaged
        reads.failed += part.failed
    if reads.failed:
        log.warning(
            "access assignments of %d of %d active GDAP relationships could not be read: their customers are "
            "classified as if the roles were assigned",
            reads.failed,
            len(ids),
        )
    return reads


async def _read_chunk(
    graph: GraphClient, partner_tenant_id: str, chunk: list[str], retry_seconds: float
) -> AssignmentReads:
    reads = AssignmentReads()
    deadline = time.monotonic() + retry_seconds
    requests = [
        BatchRequest(id=str(n), url=f"{assignments_path(rid)}?$top={_PAGE_SIZE}", bucket=DIRECTORY)
        for n, rid in enumerate(chunk)
    ]
    try:
        answers = await graph.batch(partner_tenant_id, requests, deadline=deadline, bucket=DIRECTORY)
    except GraphError as error:
        log.warning("a $batch of access assignments failed (%s)", type(error).__name__)
        reads.failed = len(chunk)
        return reads
    for n, relationship_id in enumerate(chunk):
        answer = answers.get(str(n))
        if answer is None or answer.status != 200:
            reads.failed += 1
            continue
        items: list[Any] = []
        try:
            async for page in graph.pages(
                partner_tenant_id,
                assignments_path(relationship_id),
                params={"$top": _PAGE_SIZE},
                bucket=DIRECTORY,
                first_page=answer.body,
                first_page_salvaged=answer.salvaged,
                deadline=deadline + retry_seconds,
            ):
                items.extend(page.items)
                if page.salvaged:
                    reads.salvaged.add(relationship_id)
        except GraphError as error:
            log.warning("access assignments of a relationship could not be read (%s)", type(error).__name__)
            reads.failed += 1
            continue
        reads.by_relationship[relationship_id] = items
    return reads
