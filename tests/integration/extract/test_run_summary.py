"""The run summary (`smart-office run`, `make demo`) over a real run's ops tables: its numbers add up, and they
are the numbers the run's clients counted on the wire — the `$batch` on its own row, each endpoint's
follow-up pages under it, token exchanges as identity requests rather than an entity."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from smart_office.extract.tenant import ENDPOINTS
from smart_office.summary import BATCH, TOKEN, print_run_summary, read_run_summary
from tests.integration.extract.test_pipeline import NOW, SEED, TENANTS, Setup, _portfolio, _setup
from tests.support.emulator import EmulatorHandle
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.integration


@pytest.fixture
def small_pages(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[Setup]:
    """The pipeline's test setup, with alerts in pages of 40 so that some customers need follow-up pages."""
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        yield _setup(handle, url, tmp_path, SMART_OFFICE_ALERTS_PAGE_SIZE="40")


def _sent(shards: list[dict], service: str) -> Counter[str]:
    total: Counter[str] = Counter()
    for shard in shards:
        total.update(shard["requests_sent"].get(service, {}))
    return total


def _check_against_the_wire(setup: Setup, run_id: str, result: dict) -> None:
    with psycopg.connect(setup.url) as conn:
        summary = read_run_summary(conn, run_id)
    assert summary is not None
    assert summary.run_id == run_id

    # Customers: every access state's row adds up to the totals, which are the run's plan and coverage.
    total = summary.access_total()
    assert total.customers == result["plan"]["listed"] + result["plan"]["departed"]
    assert total.attempted == result["plan"]["extractable"] == result["coverage"]["attempted"]
    assert total.loaded == result["coverage"]["loaded"]
    readable_states = {a.access_state for a in summary.access if a.attempted}
    assert all(a.attempted == a.customers for a in summary.access if a.access_state in readable_states)

    # Graph: the $batch row and each endpoint's follow-up pages are what the client sent, path by path.
    graph = _sent(result["shards"], "graph")
    by_endpoint = {e.endpoint: e for e in summary.entities}
    assert TOKEN not in by_endpoint
    # Incidents' pages after the first travel in $batches of their own, booked to incidents.
    incidents = by_endpoint["incidents"].requests if "incidents" in by_endpoint else 0
    assert by_endpoint[BATCH].requests + incidents == graph["/v1.0/$batch"] + graph.get(
        "/v1.0/security/incidents", 0
    )
    for spec in ENDPOINTS:
        if spec.name in by_endpoint and not spec.read_ahead:
            assert by_endpoint[spec.name].requests == graph.get(f"/v1.0{spec.path}", 0), spec.name
    assert summary.graph_requests == sum(graph.values())
    assert summary.entity_total().new == sum(s["rows_new"] for s in result["shards"])
    # Identity: one token exchange per customer, as the exchanger counted them.
    identity = _sent(result["shards"], "identity")
    assert summary.token_requests == identity["/{tenant}/oauth2/v2.0/token"]
    plan_sent = result["plan"]["requests_sent"]
    assert summary.discovery_requests["partner_center"] == sum(plan_sent["partner_center"].values())

    # Durations: the whole run (discovery to close) holds the extraction.
    assert summary.duration_s is not None
    assert summary.extraction_s is not None
    assert 0 < summary.extraction_s <= summary.duration_s


def test_the_summary_adds_up_to_what_the_run_sent(small_pages: Setup) -> None:
    first = small_pages.run("run-1")
    _check_against_the_wire(small_pages, "run-1", first)
    with psycopg.connect(small_pages.url) as conn:
        summary = read_run_summary(conn, "run-1")
    assert summary is not None
    alerts = next(e for e in summary.entities if e.endpoint == "alerts_v2")
    assert alerts.requests > 0  # pages of 40: some customers needed more than the $batch's first page
    assert alerts.pages == alerts.requests + alerts.customers
    # Incidents (50 to a page) read ahead: fewer round trips after the first page than pages after it.
    incidents = next(e for e in summary.entities if e.endpoint == "incidents")
    assert 0 < incidents.requests < incidents.pages - incidents.customers

    # The next day control profiles are not due: the $batch is booked to the first endpoint that was read.
    small_pages.handle.admin_post("/clock/advance", {"days": 1})
    second = small_pages.run("run-2", as_of=small_pages.now + timedelta(days=1))
    _check_against_the_wire(small_pages, "run-2", second)
    readable = sum(c.can_read_security(small_pages.now + timedelta(days=1)) for c in _portfolio())
    with psycopg.connect(small_pages.url) as conn:
        summary = read_run_summary(conn)  # the latest run
    assert summary is not None
    assert summary.run_id == "run-2"
    assert next(e for e in summary.entities if e.endpoint == BATCH).customers == readable


def test_the_printed_summary_keeps_the_run_id_whole(small_pages: Setup) -> None:
    run_id = "smart_office_security_posture_manual__2026-12-07T00:06:10.413075+00:00"  # as Airflow names runs
    small_pages.run(run_id)
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    assert print_run_summary(console, small_pages.url, run_id) is True
    text = out.getvalue()
    assert any(run_id in line for line in text.splitlines())
    assert "…" not in text  # nothing cut short in an 80-column terminal
    assert "$batch" in text
    assert "token exchanges" in text
    assert "succeeded in " in text
    assert "(discovery to close); extraction " in text
    # The portfolio's customer whose GDAP roles reach no security group: its state, and what to do about it.
    unassigned = sum(
        1
        for c in _portfolio()
        if c.assignment_gap and any(r.grants_security_read(small_pages.now) for r in c.gdap)
    )
    assert unassigned == 1
    assert "gdap_roles_unassigned (1): Assign the relationship's security roles" in " ".join(text.split())
    assert "Admin relationships → the relationship → Assign." in " ".join(text.split())
    assert print_run_summary(Console(file=io.StringIO()), small_pages.url, "no-such-run") is False


def test_smart_office_run_prints_the_table_and_no_progress_bar_into_a_pipe(small_pages: Setup) -> None:
    done = subprocess.run(
        [str(Path(sys.executable).parent / "smart-office"), "run", "--as-of", NOW],
        env={**os.environ, **small_pages.env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "customers loaded" in done.stderr  # the one-line sentence, as before
    assert "cli/20261102T090000" in done.stdout
    assert "Graph by endpoint" in done.stdout
    # stdout is a pipe here: no progress bar, no carriage returns.
    assert "extracting" not in done.stdout
    assert "\r" not in done.stdout
