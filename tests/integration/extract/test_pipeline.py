"""Extraction end to end against the emulator (HTTPS) and a real PostgreSQL: paging, incremental runs,
idempotence, watermarks, quarantine, every injected fault, coverage outcomes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from emulator.data.incidents import incidents_as_of
from emulator.data.portfolio import Portfolio
from emulator.data.securescore import record_days
from emulator.data.timestamps import from_us
from smart_office.auth.stores import CLIENT_SECRET_NAME, REFRESH_TOKEN_NAME, PostgresSecretStore
from smart_office.extract.tenant import PartnerAuthFailure
from smart_office.pipeline import (
    CoverageError,
    check_partner_token,
    discover_customers,
    extract_shard,
    finalize_run,
    prepare_warehouse,
)
from smart_office.runtime import build_exchanger, build_secret_store
from smart_office.settings import Settings
from tests.support.emulator import EmulatorHandle
from tests.support.partner import seeded_partner_env
from tests.support.warehouse import fresh_database

NOW = "2026-11-02T09:00:00+00:00"
SEED = 11
TENANTS = 16


# One shard in a process of its own, as an Airflow worker runs it.
_SHARD_PROCESS = """
import json, sys
from datetime import datetime
from smart_office.pipeline import extract_shard
from smart_office.settings import Settings
print(json.dumps(extract_shard(Settings.from_env(), run_id=sys.argv[1], shard=int(sys.argv[2]),
                               shards=int(sys.argv[3]), as_of=datetime.fromisoformat(sys.argv[4]))))
"""


@dataclass
class Setup:
    handle: EmulatorHandle
    settings: Settings
    url: str
    now: datetime
    env: dict[str, str]

    def run(
        self,
        run_id: str,
        as_of: datetime | None = None,
        interval_start: datetime | None = None,
        shard_processes: bool = False,
        **overrides: Any,
    ) -> dict[str, Any]:
        settings = dataclasses.replace(self.settings, **overrides) if overrides else self.settings
        when = as_of or self.now
        prepare_warehouse(settings)
        check_partner_token(settings, as_of=when)
        plan = discover_customers(settings, run_id=run_id, as_of=when)
        if shard_processes:
            assert not overrides, "a shard process reads its settings from the environment"
            assert interval_start is None
            shards = [
                self._shard_in_a_process(run_id, i, plan["shards"], when) for i in range(plan["shards"])
            ]
        else:
            shards = [
                extract_shard(
                    settings,
                    run_id=run_id,
                    shard=i,
                    shards=plan["shards"],
                    as_of=when,
                    interval_start=interval_start,
                )
                for i in range(plan["shards"])
            ]
        try:
            coverage = finalize_run(settings, run_id=run_id)
        except CoverageError as error:
            coverage = {"error": str(error)}
        return {"plan": plan, "shards": shards, "coverage": coverage}

    def _shard_in_a_process(self, run_id: str, shard: int, shards: int, as_of: datetime) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", _SHARD_PROCESS, run_id, str(shard), str(shards), as_of.isoformat()],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]

    def outcomes(self, run_id: str) -> dict[tuple[str, str], tuple[str, str]]:
        rows = self.query(
            "select tenant_id::text, endpoint, outcome, state from ops.tenant_runs where run_id = %s", run_id
        )
        return {(t, e): (o, s) for t, e, o, s in rows}


def _setup(handle: EmulatorHandle, url: str, tmp: Path, **env_overrides: str) -> Setup:
    env = {
        **seeded_partner_env(handle, url, tmp),
        "SMART_OFFICE_SHARD_SIZE": "6",
        "SMART_OFFICE_TENANT_CONCURRENCY": "4",
        "SMART_OFFICE_COVERAGE_THRESHOLD": "0.5",
        **env_overrides,
    }
    now = datetime.fromisoformat(handle.admin_get("/clock")["now"])
    return Setup(handle, Settings.from_env(env), url, now, env)


@pytest.fixture
def setup(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[Setup]:
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        yield _setup(handle, url, tmp_path)


def _portfolio() -> Portfolio:
    return Portfolio(SEED, TENANTS, datetime.fromisoformat(NOW), "none")


def _counts(s: Setup) -> dict[str, int]:
    tables = [
        "secure_scores",
        "secure_score_control_profiles",
        "alerts_v2",
        "incidents",
        "partner_center_customers",
        "gdap_relationships",
    ]
    return {t: s.query(f"select count(*) from raw.{t}")[0][0] for t in tables}  # noqa: S608 - fixed names


def test_first_run_lands_every_extractable_customer(setup: Setup) -> None:
    result = setup.run("run-1")
    portfolio = _portfolio()
    now = setup.now
    readable = [c for c in portfolio if c.can_read_security(now)]
    assert result["plan"]["listed"] == sum(c.is_listed(now) for c in portfolio)
    assert result["plan"]["shards"] == -(-result["plan"]["extractable"] // 6)
    # Every day Graph holds (90, minus the days it skipped) for every readable tenant, exactly once.
    expected_scores = sum(len(record_days(c, now)) for c in readable)
    assert _counts(setup)["secure_scores"] == expected_scores
    per_tenant = dict(setup.query("select tenant_id::text, count(*) from raw.secure_scores group by 1"))
    assert per_tenant == {c.tenant_id: len(record_days(c, now)) for c in readable}
    assert result["coverage"]["loaded"] == len(readable)
    # Customers without security access are recorded as such, not attempted and not failures.
    states = dict(
        setup.query(
            "select access_state, count(*) from ops.customer_snapshots where run_id = 'run-1' group by 1"
        )
    )
    assert sum(states.values()) == result["plan"]["listed"]


def test_rerun_is_idempotent(setup: Setup) -> None:
    setup.run("run-1")
    before = _counts(setup)
    second = setup.run("run-2")
    assert _counts(setup) == before
    assert sum(s["rows_new"] for s in second["shards"]) == 0


def test_incremental_day_fetches_only_what_is_new_in_few_requests(setup: Setup) -> None:
    setup.run("run-1")
    before = _counts(setup)
    setup.handle.admin_post("/clock/advance", {"days": 1})
    later = setup.now + timedelta(days=1)
    setup.handle.admin_delete("/stats")
    # The day's shards run in processes of their own, as Airflow's workers run them.
    second = setup.run("run-2", as_of=later, shard_processes=True)
    after = _counts(setup)
    readable = [c for c in _portfolio() if c.can_read_security(later)]
    new_days = sum(len(set(record_days(c, later)) - set(record_days(c, setup.now))) for c in readable)
    assert after["secure_scores"] - before["secure_scores"] == new_days
    assert after["alerts_v2"] >= before["alerts_v2"]
    assert second["coverage"]["loaded"] == len(readable)
    # What Microsoft saw, per customer tenant and identity included: the token request and one $batch (its
    # items travel inside it). No OpenID discovery at all: the first day's processes left every tenant's
    # configuration (the partner's too) in the discovery cache.
    stats = setup.handle.admin_get("/stats")
    customers = {c.tenant_id for c in readable}
    round_trips: Counter[str] = Counter()
    seen: Counter[tuple[str, str]] = Counter()
    for row in stats["endpoints"]:
        seen[(row["service"], row["endpoint"])] += row["requests"]
        if row["tenant"] in customers:
            round_trips[row["tenant"]] += row["requests"] - row["batched"]
    assert set(round_trips) == customers
    assert max(round_trips.values()) <= 3
    assert not [endpoint for _, endpoint in seen if endpoint.endswith("/.well-known/openid-configuration")]
    # Control profiles were read in full the day before: not due, not asked.
    assert ("graph", "/v1.0/security/secureScoreControlProfiles") not in seen
    assert {
        state
        for (_, endpoint), (_, state) in setup.outcomes("run-2").items()
        if endpoint == "control_profiles"
    } == {"not_due"}
    # The pipeline's own count, token included, says the same.
    requests = setup.query(
        "select tenant_id::text, sum(requests) from ops.tenant_runs where run_id = 'run-2' group by 1"
    )
    assert {t for t, _ in requests} >= customers
    assert max(r for t, r in requests if t in customers) <= 3
    sent = [shard["requests_sent"] for shard in second["shards"]]
    assert sum(s["identity"].get("/{tenant}/oauth2/v2.0/token", 0) for s in sent) == len(customers)
    # Discovery's $batch round trips (GDAP access assignments, twenty relationships each) are the rest.
    discovery_batches = second["plan"]["requests_sent"]["graph"].get("/v1.0/$batch", 0)
    assert discovery_batches >= 1
    assert (
        sum(s["graph"].get("/v1.0/$batch", 0) for s in sent) + discovery_batches
        == seen[("graph", "/v1.0/$batch")]
    )


def test_a_tenant_with_pages_of_changed_incidents_still_costs_three_round_trips(setup: Setup) -> None:
    setup.run("run-1")
    read = {
        tenant: watermark or read_through
        for tenant, watermark, read_through in setup.query(
            "select tenant_id::text, watermark, read_through from ops.watermarks where endpoint = 'incidents'"
        )
    }
    # A week since the last run: the busiest tenants have more incidents changed than one page of 50 holds.
    days = 7
    setup.handle.admin_post("/clock/advance", {"days": days})
    later = setup.now + timedelta(days=days)
    setup.handle.admin_delete("/stats")
    setup.run("run-2", as_of=later, shard_processes=True)
    readable = [c for c in _portfolio() if c.can_read_security(later)]
    overlap = timedelta(hours=setup.settings.alerts_overlap_hours)
    window = {
        c.tenant_id: [
            s
            for s in incidents_as_of(c, later)
            if read[c.tenant_id] - overlap < from_us(s.last_update_us) <= later
        ]
        for c in readable
    }
    pages = {tenant: -(-len(changed) // 50) for tenant, changed in window.items()}
    assert sorted(pages.values())[-2:] == [2, 3]
    # Every incident the emulator holds for the window is landed, as it is at the end of the window.
    landed = set(setup.query("select tenant_id::text, entity_id, source_updated_at from raw.incidents"))
    for tenant, changed in window.items():
        assert {(tenant, s.skeleton.id, from_us(s.last_update_us)) for s in changed} <= landed
    # What Microsoft saw per customer tenant, identity included: the token request, one $batch with the first
    # pages, one $batch with the incident pages after the first.
    stats = setup.handle.admin_get("/stats")
    round_trips: Counter[str] = Counter()
    read_ahead: Counter[str] = Counter()
    for row in stats["endpoints"]:
        if row["tenant"] in window:
            round_trips[row["tenant"]] += row["requests"] - row["batched"]
            if row["endpoint"] == "/v1.0/security/incidents":
                read_ahead[row["tenant"]] += row["batched"]
    assert max(round_trips.values()) <= 3
    busy = {tenant for tenant, n in pages.items() if n > 1}
    assert {tenant: round_trips[tenant] for tenant in busy} == dict.fromkeys(busy, 3)
    # Each tenant's incidents: its first page inside the first $batch, the rest inside the second.
    assert {t: read_ahead[t] for t in window} == {t: max(n, 1) for t, n in pages.items()}
    # The pipeline books the second $batch to incidents and counts their pages.
    outcomes = {
        tenant: (requests, n)
        for tenant, requests, n in setup.query(
            "select tenant_id::text, requests, pages from ops.tenant_runs "
            "where run_id = 'run-2' and endpoint = 'incidents'"
        )
    }
    assert {t: outcomes[t] for t in busy} == {t: (1, pages[t]) for t in busy}
    totals = setup.query(
        "select tenant_id::text, sum(requests) from ops.tenant_runs where run_id = 'run-2' group by 1"
    )
    assert max(n for tenant, n in totals if tenant in window) <= 3


def test_control_profiles_are_read_again_a_week_after_their_last_complete_read(setup: Setup) -> None:
    def profile_reads() -> int:
        stats = setup.handle.admin_get("/stats")
        return sum(
            row["requests"]
            for row in stats["endpoints"]
            if row["endpoint"] == "/v1.0/security/secureScoreControlProfiles"
        )

    def profile_states(run_id: str) -> set[str]:
        return {
            s for (_, endpoint), (_, s) in setup.outcomes(run_id).items() if endpoint == "control_profiles"
        }

    setup.run("day-0")
    loaded = setup.query("select count(*) from raw.secure_score_control_profiles")[0][0]
    read_through = dict(
        setup.query(
            "select tenant_id::text, read_through from ops.watermarks where endpoint = 'control_profiles'"
        )
    )
    readable = {c.tenant_id for c in _portfolio() if c.can_read_security(setup.now)}
    assert loaded > 0
    assert set(read_through) == readable
    assert set(read_through.values()) == {setup.now}
    for previous, day in ((0, 1), (1, 6), (6, 7)):
        setup.handle.admin_post("/clock/advance", {"days": day - previous})
        setup.handle.admin_delete("/stats")
        setup.run(f"day-{day}", as_of=setup.now + timedelta(days=day))
        if day < 7:
            assert (profile_reads(), profile_states(f"day-{day}")) == (0, {"not_due"})
    # A week on, every readable tenant's profiles are read in one response each (no nextLink), and recorded.
    assert profile_reads() == len(readable)
    assert profile_states("day-7") == {"ok"}
    week = setup.now + timedelta(days=7)
    assert set(
        setup.query("select read_through from ops.watermarks where endpoint = 'control_profiles'")
    ) == {(week,)}


def test_the_discovery_cache_holds_public_documents_only(setup: Setup) -> None:
    setup.run("run-1")
    exchanger = build_exchanger(setup.settings, build_secret_store(setup.settings))
    tenant = _readable_tenant(setup)
    access_token = exchanger.get_token(tenant, setup.settings.cloud.graph_scope).token.reveal()
    store = PostgresSecretStore(setup.url, list(setup.settings.token_store_keys))
    secrets = [
        access_token,
        store.get(CLIENT_SECRET_NAME).value.reveal(),  # type: ignore[union-attr]
        store.get(REFRESH_TOKEN_NAME).value.reveal(),  # type: ignore[union-attr]
    ]
    folder = setup.settings.discovery_cache_dir
    assert folder is not None
    files = [p for p in folder.iterdir() if p.is_file()]
    stored = b"".join(p.read_bytes() for p in files)
    assert f"/{tenant}/v2.0/.well-known/openid-configuration".encode() in stored  # the cache is in use
    assert access_token.startswith("eyJ")
    for value in [*secrets, '"access_token"', '"refresh_token"', '"id_token":', "eyJ"]:
        assert value.encode() not in stored, f"{value[:12]}… is in the discovery cache"


def test_watermark_advances_with_the_data_and_overlap_never_duplicates(setup: Setup) -> None:
    setup.run("run-1")
    watermarks = dict(
        setup.query("select tenant_id::text, watermark from ops.watermarks where endpoint = 'alerts_v2'")
    )
    latest = dict(setup.query("select tenant_id::text, max(source_updated_at) from raw.alerts_v2 group by 1"))
    assert watermarks
    for tenant, value in watermarks.items():
        assert value >= latest.get(tenant, value)
    dupes = setup.query(
        "select count(*) from (select tenant_id, entity_id, payload_hash from raw.alerts_v2 group by 1, 2, 3 "
        "having count(*) > 1) d"
    )
    assert dupes == [(0,)]


def _readable_tenant(s: Setup, offset: int = 0) -> str:
    readable = [c.tenant_id for c in _portfolio() if c.can_read_security(s.now)]
    return readable[offset]


@pytest.mark.parametrize(
    ("fault", "endpoint", "expected_outcome", "expected_state"),
    [
        ({"kind": "throttle", "params": {"retry_after": 0.25}, "count": 2}, "alerts_v2", "loaded", "ok"),
        ({"kind": "http_error", "params": {"status": 503}, "count": 2}, "alerts_v2", "loaded", "ok"),
        ({"kind": "reset", "count": 1}, "alerts_v2", "loaded", "ok"),
        ({"kind": "truncate", "count": 1}, "alerts_v2", "loaded", "ok"),
        ({"kind": "slow", "params": {"seconds": 0.5}, "count": 1}, "alerts_v2", "loaded", "ok"),
        ({"kind": "malformed"}, "alerts_v2", "failed", "malformed_page"),
        ({"kind": "nextlink_loop"}, "alerts_v2", None, "pagination_error"),
        ({"kind": "empty_page", "count": 1}, "alerts_v2", "loaded", "ok"),
        ({"kind": "nul_strings"}, "alerts_v2", "loaded", "repaired_items"),
    ],
)
def test_faults_are_absorbed_or_recorded_per_tenant(
    setup: Setup, fault: dict[str, Any], endpoint: str, expected_outcome: str | None, expected_state: str
) -> None:
    tenant = _readable_tenant(setup)
    setup.handle.add_fault(service="graph", tenant=tenant, **fault)
    result = setup.run("run-f")
    outcomes = setup.outcomes("run-f")
    outcome, state = outcomes[(tenant, endpoint)]
    assert state == expected_state
    if expected_outcome:
        assert outcome == expected_outcome
    # Other tenants are untouched by one tenant's fault.
    other = _readable_tenant(setup, 1)
    assert outcomes[(other, endpoint)] == ("loaded", "ok")
    assert result["coverage"]["attempted"] >= 2
    if expected_state == "malformed_page":
        reasons = {
            r[0] for r in setup.query("select reason from raw.quarantine where tenant_id = %s", tenant)
        }
        assert reasons == {"malformed_page"}
    if expected_state == "repaired_items":
        # Landed, not set aside: the original bytes are kept beside the storable payload.
        repaired = setup.query(
            "select count(*) from raw.alerts_v2 where tenant_id = %s and 'nul_character' = any(repairs) "
            "and original_payload is not null",
            tenant,
        )
        assert repaired[0][0] >= 1


def test_an_error_nobody_foresaw_costs_that_tenant_only(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the extractor (here: one made to happen for one tenant) is that tenant's `internal_error`."""
    from smart_office.extract.tenant import TenantExtractor

    tenant = _readable_tenant(setup)
    extract = TenantExtractor.extract

    async def broken_for_one(self: TenantExtractor, tenant_id: str) -> Any:
        if tenant_id == tenant:
            raise KeyError("a field nobody expected")
        return await extract(self, tenant_id)

    monkeypatch.setattr(TenantExtractor, "extract", broken_for_one)
    result = setup.run("run-bug")
    outcomes = setup.outcomes("run-bug")
    broken = {endpoint: value for (t, endpoint), value in outcomes.items() if t == tenant}
    assert set(broken.values()) == {("failed", "internal_error")}
    assert set(broken) == {"secure_scores", "control_profiles", "alerts_v2", "incidents"}
    errors = setup.query(
        "select distinct error from ops.tenant_runs where run_id = 'run-bug' and tenant_id = %s", tenant
    )
    assert errors == [("KeyError: 'a field nobody expected'",)]
    others = {value for (t, _), value in outcomes.items() if t != tenant}
    assert others == {("loaded", "ok")}
    assert result["coverage"]["failed_by_state"] == {"internal_error": 1}


def test_consent_revoked_tenant_is_an_outcome_not_a_crash(setup: Setup) -> None:
    tenant = _readable_tenant(setup)
    setup.handle.add_fault(kind="consent_revoked", service="identity", tenant=tenant)
    result = setup.run("run-c")
    assert setup.outcomes("run-c")[(tenant, "token")] == ("failed", "consent_required")
    assert result["coverage"]["failed_by_state"] == {"consent_required": 1}
    assert "1 consent_required" in result["coverage"]["sentence"]


def test_partner_level_failure_stops_the_run_with_one_message(setup: Setup) -> None:
    setup.handle.add_fault(kind="refresh_token_expired", service="identity")
    with pytest.raises(PartnerAuthFailure, match=r"refresh_token_expired.*smart-office consent"):
        check_partner_token(setup.settings, as_of=setup.now)


def test_coverage_below_threshold_fails_loudly(setup: Setup) -> None:
    for offset in range(4):
        setup.handle.add_fault(
            kind="conditional_access_blocked", service="identity", tenant=_readable_tenant(setup, offset)
        )
    result = setup.run("run-t", coverage_threshold=0.9)
    assert "below the threshold" in result["coverage"]["error"]
    assert "4 conditional_access_blocked" in result["coverage"]["error"]
    assert setup.query("select status from ops.runs where run_id = 'run-t'") == [("failed",)]


def test_partner_center_paging_reads_every_page_once(setup: Setup) -> None:
    from smart_office.partner_center.client import PartnerCenterClient
    from smart_office.runtime import build_exchanger, build_secret_store
    from smart_office.tls import requests_session

    settings = setup.settings
    exchanger = build_exchanger(settings, build_secret_store(settings))

    def token() -> str:
        return exchanger.get_token(
            settings.partner_tenant_id, settings.cloud.partner_center_scope
        ).token.reveal()

    client = PartnerCenterClient(
        settings.cloud.partner_center_url, token, requests_session(settings.cloud.ca_bundle), page_size=5
    )
    customers = list(client.customers())
    listed = [c for c in _portfolio() if c.is_listed(setup.now)]
    assert sorted(c["id"] for c in customers) == sorted(c.tenant_id for c in listed)
    assert client.stats.pages == -(-len(listed) // 5)


def test_throttled_partner_center_is_retried_after_retry_after(setup: Setup) -> None:
    setup.handle.add_fault(kind="throttle", service="partner_center", count=1, params={"retry_after": 0.5})
    result = setup.run("run-pc")
    assert result["plan"]["listed"] == sum(c.is_listed(setup.now) for c in _portfolio())


def test_a_shard_that_never_ran_lowers_coverage_instead_of_vanishing(setup: Setup) -> None:
    from smart_office.pipeline import close_run, enforce_coverage

    settings, now = setup.settings, setup.now
    prepare_warehouse(settings)
    check_partner_token(settings, as_of=now)
    plan = discover_customers(settings, run_id="run-s", as_of=now)
    assert plan["shards"] >= 2
    extract_shard(settings, run_id="run-s", shard=0, shards=plan["shards"], as_of=now)
    summary = close_run(dataclasses.replace(settings, coverage_threshold=0.9), run_id="run-s")
    extracted = len({t for t, _ in setup.outcomes("run-s")})
    assert summary["attempted"] == plan["extractable"]
    assert summary["failed_by_state"]["not_extracted"] == plan["extractable"] - extracted
    assert not summary["ok"]
    # The run is closed (never left `running`), and failing it is a separate, later step.
    assert setup.query("select status from ops.runs where run_id = 'run-s'") == [("failed",)]
    with pytest.raises(CoverageError, match="not_extracted"):
        enforce_coverage(summary)


def test_a_run_whose_process_died_long_ago_is_marked_abandoned(setup: Setup) -> None:
    from smart_office.extract.runs import start_run

    with psycopg.connect(setup.url) as conn:
        from smart_office.warehouse.migrations import migrate

        migrate(conn)
        conn.execute(
            "insert into ops.runs (run_id, started_at) values ('old', now() - interval '13 hours'), "
            "('recent', now() - interval '1 hour')"
        )
        conn.commit()
        start_run(conn, "new", dag_id=None, dag_run_id=None, logical_date=None)
    statuses = dict(setup.query("select run_id, status from ops.runs"))
    assert statuses == {"old": "abandoned", "recent": "running", "new": "running"}
