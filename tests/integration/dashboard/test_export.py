"""`smart-office dashboard export`: self-contained HTML of the portfolio and of one customer, from the marts."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from smart_office.dashboard import formatting as fmt
from smart_office.dashboard.cli import dashboard_app
from tests.support.marts_data import LandedPortfolio

pytestmark = pytest.mark.integration


def _export(monkeypatch: pytest.MonkeyPatch, url: str, out: Path, *extra: str) -> list[Path]:
    monkeypatch.delenv("SMART_OFFICE_DASHBOARD_URL", raising=False)
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", url)
    result = CliRunner().invoke(dashboard_app, ["export", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return [Path(line) for line in result.stdout.splitlines() if line.endswith(".html")]


def _self_contained(html: str) -> None:
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)=["']?(?!https://)[a-z]+:""", html)  # nothing but outbound links
    assert not re.search(r"""src=["']https?://""", html)  # no remote image or frame


def test_export_writes_the_portfolio_and_the_worst_customer(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
    tmp_path: Path,
) -> None:
    portfolio, customer = _export(monkeypatch, marts_warehouse[0], tmp_path)
    worst_name, worst_pct = superuser.execute(
        "select company_name, secure_score_pct from marts.rpt_customer_posture "
        "where not is_departed and secure_score_pct is not null order by secure_score_pct, company_name limit 1"
    ).fetchone()
    page = portfolio.read_text()
    _self_contained(page)
    assert "<svg" in page
    assert fmt.pct(worst_pct) in page
    assert "customers were not fully loaded" in page
    assert customer.name.startswith("customer-")
    detail = customer.read_text()
    _self_contained(detail)
    assert f"<h1>{worst_name} — Secure Score</h1>" in detail
    assert "Microsoft: similar size" in detail


def test_export_of_a_chosen_customer(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio], tmp_path: Path
) -> None:
    url, landed = marts_warehouse
    tenant = next(t for t, state in landed.failed_last_run.items() if state == "consent_required")
    _, customer = _export(monkeypatch, url, tmp_path, "--customer", tenant)
    assert "not loaded by the last run (consent required)" in customer.read_text()


def test_export_of_an_empty_warehouse_says_no_data(
    monkeypatch: pytest.MonkeyPatch, empty_warehouse: str, tmp_path: Path
) -> None:
    paths = _export(monkeypatch, empty_warehouse, tmp_path)
    assert len(paths) == 1
    assert "No data yet: the first run has not finished" in paths[0].read_text()
