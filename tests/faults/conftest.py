"""Fixtures of the fault matrix, and the matrix printed as a table at the end of the run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import BASE_ENV, NOW, SEED, TENANTS, Portfolio, Reference
from tests.support.emulator import running_emulator
from tests.support.warehouse import fresh_database, postgres_server_url  # noqa: F401 - fixture

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def reference(postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:  # noqa: F811
    """One clean run of the matrix's portfolio (per test process: xdist workers each make their own)."""
    folder = tmp_path_factory.mktemp("fault-reference")
    with (
        running_emulator(folder / "emulator", tenants=TENANTS, seed=SEED, now=NOW) as handle,
        fresh_database(postgres_server_url) as url,
    ):
        portfolio = Portfolio.create(handle, url, folder)
        run = portfolio.run()
        assert run.exit_code == 0, run.stderr[-3000:]
        reference = Reference(portfolio.digest(), portfolio.outcomes(), handle.partner_tenant_id)
        assert len(reference.loaded_tenants()) >= 10, "the matrix needs a portfolio that mostly loads"
        target = reference.loaded_tenants()[0]
        # Paging faults need a target whose alerts and incidents span several pages.
        assert reference.rows_of(target, "alerts_v2") > 2 * int(BASE_ENV["SMART_OFFICE_ALERTS_PAGE_SIZE"])
        assert reference.rows_of(target, "incidents") > 50
        yield reference


@pytest.fixture
def portfolio(postgres_server_url: str, tmp_path: Path) -> Iterator[Portfolio]:  # noqa: F811
    """The same portfolio as the reference's (same seed, size and clock), with its own emulator and warehouse."""
    with (
        running_emulator(tmp_path / "emulator", tenants=TENANTS, seed=SEED, now=NOW) as handle,
        fresh_database(postgres_server_url) as url,
    ):
        yield Portfolio.create(handle, url, tmp_path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault matrix as a table: each scenario, what the faulted run did, rows lost and extra."""
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", "call") != "call":
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == "fault_matrix":
                    rows.append({**json.loads(value), "result": outcome})
    if not rows:
        return
    rows.sort(key=lambda r: r["scenario"])
    columns = ["scenario", "defect", "fault", "observed", "lost", "extra", "seconds", "result"]
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    widths["fault"] = min(widths["fault"], 60)
    widths["observed"] = min(widths["observed"], 60)
    terminalreporter.write_sep("=", f"fault matrix: {len(rows)} scenarios")
    terminalreporter.write_line("  ".join(c.ljust(widths[c]) for c in columns))
    for r in rows:
        terminalreporter.write_line(
            "  ".join(str(r.get(c, ""))[: widths[c]].ljust(widths[c]) for c in columns)
        )
    held = sum(r["result"] == "passed" for r in rows)
    terminalreporter.write_line(f"{held} of {len(rows)} scenarios held")
