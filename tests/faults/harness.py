"""The fault matrix's harness: one emulated portfolio and one warehouse per scenario, the real `smart-office run`
as a subprocess, and a digest of the warehouse to compare with a clean run's.

A scenario injects its faults through the emulator's admin API (or acts on the run while it goes: a terminated
warehouse backend, SIGKILL), runs the pipeline, checks the first run's exit code, message and outcomes, clears
the faults, runs again, and compares the warehouse with the clean reference by (entity, tenant, entity id,
payload hash): nothing lost, nothing extra, no run left `running`.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.support.emulator import EmulatorHandle
from tests.support.partner import seeded_partner_env

SEED = 7
TENANTS = 20
NOW = "2026-11-02T09:00:00Z"
RUN_ID = "cli/20261102T090000"
RAW_TABLES = (
    "partner_center_customers",
    "gdap_relationships",
    "gdap_access_assignments",
    "secure_scores",
    "secure_score_control_profiles",
    "alerts_v2",
    "incidents",
)
# Small pages so every tenant's alerts span several of them, over 30 days of history (the matrix is about
# faults; a first run's full 180 days would be hundreds of pages per tenant at Graph's 150 requests a minute,
# tests/integration/extract/test_history.py covers that); short identity retries so an identity outage
# costs seconds, not minutes; a low threshold so one broken tenant is an outcome, not a failed run.
BASE_ENV = {
    "SMART_OFFICE_ALERTS_PAGE_SIZE": "25",
    "SMART_OFFICE_ALERTS_INITIAL_DAYS": "30",
    "SMART_OFFICE_SHARD_SIZE": "7",
    "SMART_OFFICE_TENANT_CONCURRENCY": "4",
    "SMART_OFFICE_COVERAGE_THRESHOLD": "0.5",
    "SMART_OFFICE_IDENTITY_RETRY_SECONDS": "15",
    "SMART_OFFICE_ENDPOINT_TIME_LIMIT_MINUTES": "2",
}
RUN_TIMEOUT = 240.0
SMART_OFFICE = str(Path(sys.executable).parent / "smart-office")
Key = tuple[str, str, str, str]  # (table, tenant, entity id, payload hash)


@dataclass
class CliRun:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def message_lines(self) -> list[str]:
        """What the command said on stderr (library warnings aside)."""
        return [
            line
            for line in self.stderr.splitlines()
            if line.strip() and "Warning" not in line and not line.startswith("  warnings.warn")
        ]


@dataclass
class Portfolio:
    """An emulated portfolio (its own emulator) and its own warehouse, set up as a partner would have it."""

    handle: EmulatorHandle
    url: str
    env: dict[str, str]

    @classmethod
    def create(cls, handle: EmulatorHandle, url: str, folder: Path, **env: str) -> Portfolio:
        folder.mkdir(parents=True, exist_ok=True)
        full = {**os.environ, **seeded_partner_env(handle, url, folder), **BASE_ENV, **env}
        full.pop("SMART_OFFICE_DEMO_TENANTS", None)
        return cls(handle, url, full)

    def start(self, **env: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [SMART_OFFICE, "run", "--as-of", NOW],
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    def wait(self, process: subprocess.Popen[str], started: float, timeout: float = RUN_TIMEOUT) -> CliRun:
        try:
            stdout, stderr = process.communicate(timeout=max(1.0, timeout - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise AssertionError(f"the run hung for more than {timeout:.0f}s:\n{stderr[-3000:]}") from None
        return CliRun(process.returncode, stdout, stderr, time.monotonic() - started)

    def run(self, **env: str) -> CliRun:
        started = time.monotonic()
        return self.wait(self.start(**env), started)

    def query(self, text: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(text, params).fetchall()  # type: ignore[arg-type]

    def digest(self) -> set[Key]:
        keys: set[Key] = set()
        with psycopg.connect(self.url) as conn:
            for table in RAW_TABLES:
                for tenant, entity_id, digest in conn.execute(
                    f"select tenant_id::text, entity_id, encode(payload_hash, 'hex') from raw.{table}"  # noqa: S608 - fixed names
                ):
                    keys.add((table, tenant, entity_id, digest))
        return keys

    def outcomes(self, run_id: str = RUN_ID) -> dict[tuple[str, str], dict[str, Any]]:
        rows = self.query(
            "select tenant_id::text, endpoint, outcome, state, throttled, retries, quarantined, repaired "
            "from ops.tenant_runs where run_id = %s",
            run_id,
        )
        return {
            (t, e): {
                "outcome": o,
                "state": s,
                "throttled": th,
                "retries": r,
                "quarantined": q,
                "repaired": rp,
            }
            for t, e, o, s, th, r, q, rp in rows
        }

    def runs_left_running(self) -> list[str]:
        return [r[0] for r in self.query("select run_id from ops.runs where status = 'running'")]


@dataclass
class Reference:
    """What a clean run lands and records: the yardstick every scenario is compared with."""

    digest: set[Key]
    outcomes: dict[tuple[str, str], dict[str, Any]]
    partner_tenant_id: str

    def loaded_tenants(self) -> list[str]:
        """Tenants whose every endpoint loaded cleanly, most alerts first (the target spans several pages)."""
        by_tenant: dict[str, list[dict[str, Any]]] = {}
        for (tenant, _), outcome in self.outcomes.items():
            by_tenant.setdefault(tenant, []).append(outcome)
        clean = [
            t
            for t, items in by_tenant.items()
            if all(o["outcome"] == "loaded" and o["state"] == "ok" for o in items)
        ]
        return sorted(clean, key=lambda t: (-self.rows_of(t, "alerts_v2"), t))

    def rows_of(self, tenant: str, table: str) -> int:
        return sum(1 for key in self.digest if key[0] == table and key[1] == tenant)


T = "{tenant}"  # placeholders in fault specs, resolved when the scenario runs
P = "{partner}"


@dataclass
class Scenario:
    """One row of the matrix.

    :param faults: admin-API fault specs; `tenant` may be T (the scenario's target customer) or P (the partner).
    :param exit_code: the faulted run's intended exit code (0, or one of the CLI's documented failures).
    :param message: for a non-zero exit, a regex its one line must match (cause and remedy).
    :param expect: (endpoint -> (outcome, state)) of the target tenant after the faulted run.
    :param at_least: (endpoint -> {counter: minimum}) of the target tenant, e.g. throttled 429s booked there.
    :param extra_rows: how many raw versions beyond the reference may exist (payload mutations land as versions).
    :param action: instead of a plain run: a callable (portfolio) -> CliRun acting on the run while it goes.
    :param others_unaffected: every other tenant's outcomes equal the reference's (blast radius of one).
    :param by_entity: compare entities, not versions: a fault that changed payloads (NUL characters) leaves
        the versions Graph sent then, which are not the clean run's; every entity must still be there.
    :param env: settings for this scenario's runs (beside BASE_ENV).
    :param fired_at_most: the injected faults fired at least once and at most this often in the faulted run:
        an AADSTS error that needs a human is not retried blindly.
    :param closed_as: the status the faulted run's row in ops.runs must have (a run the CLI gave up on is
        closed, not left `running`).
    """

    id: str
    what: str
    faults: list[dict[str, Any]] = field(default_factory=list)
    exit_code: int = 0
    message: str | None = None
    expect: dict[str, tuple[str, str]] = field(default_factory=dict)
    at_least: dict[str, dict[str, int]] = field(default_factory=dict)
    extra_rows: int = 0
    action: Callable[[Portfolio], CliRun] | None = None
    others_unaffected: bool = True
    by_entity: bool = False
    env: dict[str, str] = field(default_factory=dict)
    fired_at_most: int | None = None
    closed_as: str | None = None
    fixed_in: str = ""


@dataclass
class Verdict:
    scenario: Scenario
    first: CliRun
    lost: int
    extra: int
    observed: str

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.id,
            "fault": self.scenario.what,
            "exit": self.first.exit_code,
            "observed": self.observed,
            "lost": self.lost,
            "extra": self.extra,
            "seconds": round(self.first.seconds, 1),
        }


def resolve(spec: dict[str, Any], tenant: str, partner: str) -> dict[str, Any]:
    resolved = dict(spec)
    if resolved.get("tenant") == T:
        resolved["tenant"] = tenant
    elif resolved.get("tenant") == P:
        resolved["tenant"] = partner
    return resolved


def play(scenario: Scenario, portfolio: Portfolio, reference: Reference) -> Verdict:
    """Fault, run, check, clear, run again, compare. Raises AssertionError naming what broke."""
    target = reference.loaded_tenants()[0]
    for spec in scenario.faults:
        portfolio.handle.add_fault(**resolve(spec, target, reference.partner_tenant_id))
    portfolio.env.update(scenario.env)
    first = scenario.action(portfolio) if scenario.action else portfolio.run()
    assert "Traceback" not in first.stderr, f"a traceback instead of an outcome:\n{first.stderr[-4000:]}"
    assert first.exit_code == scenario.exit_code, (
        f"exit code {first.exit_code}, wanted {scenario.exit_code}:\n{first.stderr[-3000:]}"
    )
    observed = "exit 0"
    if scenario.exit_code != 0:
        lines = first.message_lines
        assert len(lines) == 1, f"a failure must be one line, got {len(lines)}:\n{first.stderr}"
        assert scenario.message is not None
        assert re.search(scenario.message, lines[0]), lines[0]
        observed = f"exit {first.exit_code}: {lines[0][:70]}"
    else:
        outcomes = portfolio.outcomes()
        for endpoint, (outcome, state) in scenario.expect.items():
            got = outcomes.get((target, endpoint))
            assert got is not None, f"no outcome for {endpoint} of the target tenant"
            assert (got["outcome"], got["state"]) == (outcome, state), f"{endpoint}: {got}"
        for endpoint, minimums in scenario.at_least.items():
            got = outcomes[(target, endpoint)]
            for counter, minimum in minimums.items():
                assert got[counter] >= minimum, f"{endpoint}.{counter} = {got[counter]}, wanted >= {minimum}"
        quarantined = sum(m.get("quarantined", 0) for m in scenario.at_least.values())
        if quarantined:
            recorded = portfolio.query(
                "select (summary -> 'coverage' ->> 'quarantined')::int from ops.runs where run_id = %s",
                RUN_ID,
            )
            assert recorded[0][0] >= quarantined, f"the run's coverage counts {recorded[0][0]} quarantined"
        if scenario.others_unaffected:
            for key, clean in reference.outcomes.items():
                if key[0] == target:
                    continue
                got = outcomes.get(key)
                assert got is not None, f"{key} has no outcome after a fault in another tenant"
                assert (got["outcome"], got["state"]) == (clean["outcome"], clean["state"]), (
                    f"{key}: {got['outcome']}/{got['state']}, clean run {clean['outcome']}/{clean['state']}"
                )
        if scenario.expect:
            observed = ", ".join(f"{e} {o}/{s}" for e, (o, s) in scenario.expect.items())
    if scenario.fired_at_most is not None:
        fired = sum(f["fired"] for f in portfolio.handle.admin_get("/faults")["faults"])
        assert 1 <= fired <= scenario.fired_at_most, f"the fault fired {fired} time(s)"
        observed += f"; fired {fired}x"
    if scenario.closed_as is not None:
        status = portfolio.query("select status from ops.runs where run_id = %s", RUN_ID)
        assert status == [(scenario.closed_as,)], f"the faulted run is {status}"
    assert portfolio.runs_left_running() == [], "a run was left `running`"
    portfolio.handle.reset()
    second = portfolio.run()
    assert second.exit_code == 0, f"the run after the fault was cleared failed:\n{second.stderr[-3000:]}"
    assert portfolio.runs_left_running() == [], "a run was left `running`"
    actual = portfolio.digest()
    if scenario.by_entity:
        lost = {k[:3] for k in reference.digest} - {k[:3] for k in actual}
    else:
        lost = reference.digest - actual
    extra = actual - reference.digest
    assert not lost, f"{len(lost)} row(s) lost, e.g. {sorted(lost)[:3]}"
    assert len(extra) <= scenario.extra_rows, f"{len(extra)} unexpected row(s), e.g. {sorted(extra)[:3]}"
    return Verdict(scenario, first, len(lost), len(extra), observed)
