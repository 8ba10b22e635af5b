"""Discovery reads GDAP access assignments from the emulator over HTTPS: customers whose security roles reach no
security group are `gdap_roles_unassigned` (not extracted, with a remedy in coverage), the reads go twenty to
a `$batch`, and a read that keeps failing leaves the customer extractable (unknown is not unassigned)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import msal
import pytest

from emulator.data.portfolio import Portfolio
from smart_office.clouds import cloud_from_endpoints
from smart_office.extract.access_assignments import (
    AssignmentReads,
    read_access_assignments,
    relationships_to_read,
)
from smart_office.graph.client import GraphClient
from smart_office.graph.rate_limits import DIRECTORY
from smart_office.pipeline import check_partner_token, discover_customers, prepare_warehouse
from smart_office.tls import requests_session
from tests.integration.extract.test_pipeline import Setup, _setup
from tests.support.emulator import EmulatorHandle
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.integration

NOW = "2026-11-02T09:00:00+00:00"
SEED = 32  # 24 customers with each kind of assignment gap: none at all, only pending, only helpdesk roles
TENANTS = 24
ASSIGNMENTS = "/v1.0/tenantRelationships/delegatedAdminRelationships/{relationship_id}/accessAssignments"


def _portfolio() -> Portfolio:
    return Portfolio(SEED, TENANTS, datetime.fromisoformat(NOW), "none")


def _unassigned(now: datetime) -> dict[str, str]:
    """Tenant → assignment gap, for listed customers with an active security relationship and a gap."""
    return {
        c.tenant_id: c.assignment_gap
        for c in _portfolio()
        if c.assignment_gap and c.is_listed(now) and any(r.grants_security_read(now) for r in c.gdap)
    }


@pytest.fixture
def setup(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[Setup]:
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        yield _setup(handle, url, tmp_path, SMART_OFFICE_TENANT_RETRY_SECONDS="1")


def _discover(setup: Setup, run_id: str) -> dict:
    prepare_warehouse(setup.settings)
    check_partner_token(setup.settings, as_of=setup.now)
    return discover_customers(setup.settings, run_id=run_id, as_of=setup.now)


def test_customers_whose_security_roles_reach_no_group_are_their_own_access_state(setup: Setup) -> None:
    now = setup.now
    unassigned = _unassigned(now)
    assert set(unassigned.values()) == {"unassigned", "pending", "security_roles_unassigned"}
    setup.handle.admin_delete("/stats")
    plan = _discover(setup, "run-1")

    assert plan["by_access_state"]["gdap_roles_unassigned"] == len(unassigned)
    assert plan["assignments_unknown"] == 0
    readable = {c.tenant_id for c in _portfolio() if c.can_read_security(now)}
    assert plan["extractable"] == len(readable)
    rows = setup.query(
        """
        select c.tenant_id::text, c.access_state, c.is_extractable, v.outcome, v.reason, ops.access_remedy(v.reason)
        from ops.run_customers as c join ops.run_coverage as v using (run_id, tenant_id)
        where c.run_id = 'run-1' and c.access_state = 'gdap_roles_unassigned'
        """
    )
    assert {r[0] for r in rows} == set(unassigned)
    for _, _, extractable, outcome, reason, remedy in rows:
        assert (extractable, outcome, reason) == (False, "not_extractable", "gdap_roles_unassigned")
        assert "Admin relationships" in remedy

    # Landed raw like the relationships: every assignment Graph listed, and what each read listed.
    portfolio = _portfolio()
    active = [
        (c, r)
        for c in portfolio
        if c.is_listed(now)
        for r in c.gdap
        if r.status_at(now) in {"active", "expiring"}
    ]
    expected = sorted(a.id for c, r in active for a in c.assignments_of(r) if a.created <= now)
    assert sorted(r[0] for r in setup.query("select entity_id from raw.gdap_access_assignments")) == expected
    reads = setup.query(
        "select count(*), count(*) filter (where cardinality(assignment_ids) = 0) from ops.gdap_access_assignment_reads"
    )
    assert reads[0][0] == len(active)
    assert reads[0][1] == sum(1 for c, r in active if not c.assignments_of(r))

    # Twenty relationships to a $batch round trip, as the emulator counted them.
    stats = setup.handle.admin_get("/stats")["endpoints"]
    served = [e for e in stats if e["service"] == "graph" and e["endpoint"].endswith("/accessAssignments")]
    assert sum(e["requests"] for e in served) == len(active)
    assert sum(e["batched"] for e in served) == len(active)
    sent = plan["requests_sent"]["graph"]["/v1.0/$batch"]
    assert sent == math.ceil(len(active) / 20)


def test_a_failing_assignments_read_is_unknown_not_unassigned(setup: Setup) -> None:
    now = setup.now
    portfolio = _portfolio()
    victim = next(c for c in portfolio if c.tenant_id in _unassigned(now))
    relationship = next(r for r in victim.gdap if r.grants_security_read(now))
    # Graph keeps answering 503 for this relationship's assignments, past the (one-second) retry budget.
    setup.handle.add_fault(
        kind="http_error",
        service="graph",
        endpoint=ASSIGNMENTS.format(relationship_id=relationship.id),
        params={"status": 503},
    )
    plan = _discover(setup, "run-1")

    assert plan["assignments_unknown"] == 1
    assert plan["by_access_state"]["gdap_roles_unassigned"] == len(_unassigned(now)) - 1
    state = setup.query(
        "select access_state, is_extractable from ops.run_customers where run_id = 'run-1' and tenant_id = %s",
        victim.tenant_id,
    )
    assert state == [("gdap", True)]
    # Nothing was recorded as read for it, so dbt does not take it for unassigned either.
    assert setup.query(
        "select count(*) from ops.gdap_access_assignment_reads where relationship_id = %s", relationship.id
    ) == [(0,)]


def test_assignment_round_trips_count_against_the_directory_limits_not_the_security_apis(
    emulator: EmulatorHandle,
) -> None:
    """Twenty relationships a round trip, counted against the partner tenant's directory limit (1,000 a minute):
    against the security API's 150 a minute, a 10,000-customer portfolio's 450 round trips would take 3 minutes."""
    cloud = cloud_from_endpoints(emulator.endpoints)
    creds = emulator.partner_credentials()
    partner = emulator.partner_tenant_id
    app = msal.ConfidentialClientApplication(
        creds["client_id"],
        client_credential=creds["client_secret"],
        authority=cloud.authority(partner),
        instance_discovery=False,
        http_client=requests_session(cloud.ca_bundle),
    )
    token = app.acquire_token_by_refresh_token(creds["refresh_token"], [cloud.graph_scope])["access_token"]

    async def tokens(_tenant: str, _scope: str, _force: bool = False) -> str:
        return token

    async def run() -> tuple[list, AssignmentReads, GraphClient]:
        async with GraphClient(cloud, tokens) as graph:
            listed = [
                item
                async for page in graph.pages(
                    partner,
                    "/tenantRelationships/delegatedAdminRelationships",
                    params={"$top": "300"},
                    bucket=DIRECTORY,
                )
                for item in page.items
            ]
            return listed, await read_access_assignments(graph, partner, listed, retry_seconds=5), graph

    relationships, reads, graph = asyncio.run(run())
    active = relationships_to_read(relationships)
    assert len(active) > 20
    assert set(reads.by_relationship) == set(active)
    assert reads.failed == 0
    assert graph.sent[f"{graph._base_path}/$batch"] == math.ceil(len(active) / 20)
    assert sum(graph.batch_items.values()) == len(active)
    buckets = {name for tenant, name in graph.limits._per_tenant if tenant == partner}
    assert "directory" in buckets
    assert "security" not in buckets
