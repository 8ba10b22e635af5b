"""`smart-office report`: a customer's review as HTML and PDF, on the dbt-built warehouse of emulator data.

The PDF's text (pypdf) is checked against the marts, queried here independently of the report's own queries; the
HTML is opened in headless Chromium, which must ask for nothing but the file itself. (Here rather than under a
reports/ folder: the warehouse these tests read is this folder's session fixture, built once.)
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from smart_office.cli import app
from smart_office.dashboard import formatting as fmt
from tests.support.marts_data import LandedPortfolio

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = "/usr/bin/chromium"
MONTH = ("2026-10", "2026-10-01", "2026-10-31")


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, installed by the project's script when missing."""
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "ensure_chromium.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return CHROMIUM


@pytest.fixture
def report_env(
    monkeypatch: pytest.MonkeyPatch, marts_warehouse: tuple[str, LandedPortfolio], chromium: str
) -> str:
    monkeypatch.delenv("SMART_OFFICE_DASHBOARD_URL", raising=False)
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", marts_warehouse[0])
    monkeypatch.setenv("SMART_OFFICE_CHROMIUM_PATH", chromium)
    return marts_warehouse[0]


def _report(out: Path, *args: str) -> tuple[int, str, list[Path]]:
    result = CliRunner().invoke(app, ["report", *args, "--out", str(out)])
    return result.exit_code, result.output, [Path(line) for line in result.stdout.splitlines() if "." in line]


def _text(pdf: Path) -> str:
    return " ".join(" ".join((page.extract_text() or "").split()) for page in PdfReader(pdf).pages)


def _customer_with_changes(superuser: psycopg.Connection, start: str, end: str) -> str:
    """The customer with the most control changes over the period (ties: the most alerts created in it)."""
    return superuser.execute(
        """
        with days as (
            select tenant_id, min(score_date) as first_day, max(score_date) as last_day
            from marts.fct_control_scores where score_date between %(start)s and %(end)s group by tenant_id
        )
        select days.tenant_id::text
        from days
        join marts.fct_control_scores f on f.tenant_id = days.tenant_id and f.score_date = days.first_day
        join marts.fct_control_scores l
            on l.tenant_id = days.tenant_id and l.score_date = days.last_day and l.control_id = f.control_id
        where days.first_day <= %(start)s::date + 1 and f.is_applicable and l.is_applicable
        group by days.tenant_id
        order by count(*) filter (where f.is_implemented <> l.is_implemented) desc,
            (select count(*) from marts.fct_alerts a
             where a.tenant_id = days.tenant_id and a.created_date between %(start)s and %(end)s) desc,
            days.tenant_id
        limit 1
        """,
        {"start": start, "end": end},
    ).fetchone()[0]


def test_report_numbers_match_the_marts(
    report_env: str, superuser: psycopg.Connection, tmp_path: Path
) -> None:
    label, start, end = MONTH
    tenant = _customer_with_changes(superuser, start, end)
    code, output, paths = _report(tmp_path, "--customer", tenant, "--period", label)
    assert code == 0, output
    html_path, pdf_path = paths
    assert html_path.suffix == ".html"
    assert pdf_path.suffix == ".pdf"
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    text = _text(pdf_path)

    company = superuser.execute(
        "select company_name from marts.dim_customers where tenant_id = %s", (tenant,)
    ).fetchone()[0]
    assert f"{company} — Security review, October 2026" in text
    scores = superuser.execute(
        "select score_date, secure_score_pct, current_score, max_score, comparative_all_tenants_pct, "
        "comparative_similar_size_pct from marts.fct_secure_scores "
        "where tenant_id = %s and score_date between %s and %s and secure_score_pct is not null order by score_date",
        (tenant, start, end),
    ).fetchall()
    first, last = scores[0], scores[-1]
    assert f"Secure Score at the end {fmt.pct(last[1])}" in text
    assert f"{fmt.pp(last[1] - first[1])} over the period" in text
    assert f"At the start {fmt.pct(first[1])}" in text
    assert f"Points {fmt.points(last[2])} of {fmt.points(last[3])}" in text
    assert f"Microsoft: all tenants {fmt.pct(last[4])}" in text
    assert f"Microsoft: similar size {fmt.pct(last[5])}" in text
    assert f"Secure Score days: {first[0]:%d %b %Y} to {last[0]:%d %b %Y}" in text
    median = superuser.execute(
        "select percentile_cont(0.5) within group (order by s.secure_score_pct) from marts.fct_secure_scores s "
        "join marts.dim_customers c using (tenant_id) where s.score_date = %s and not c.is_departed "
        "and s.secure_score_pct is not null",
        (last[0],),
    ).fetchone()[0]
    assert f"Portfolio median {fmt.pct(median)}" in text

    changes = superuser.execute(
        """
        select l.is_implemented, count(*)
        from marts.fct_control_scores f
        join marts.fct_control_scores l on l.tenant_id = f.tenant_id and l.control_id = f.control_id
        where f.tenant_id = %(t)s and f.score_date = %(first)s and l.score_date = %(last)s
            and f.is_applicable and l.is_applicable and f.is_implemented <> l.is_implemented
        group by l.is_implemented
        """,
        {"t": tenant, "first": first[0], "last": last[0]},
    ).fetchall()
    counted = dict(changes)
    gained, lost = counted.get(True, 0), counted.get(False, 0)
    assert gained + lost > 0, "the chosen customer should have control changes to show"
    assert f"Controls gained {gained}" in text
    assert f"Controls lost {lost}" in text
    assert f"Controls gained ({gained})" in text
    assert f"Controls lost ({lost})" in text

    top = superuser.execute(
        "select control_title, score_gain_points from marts.rpt_opportunities "
        "where tenant_id = %s and not is_risk_accepted order by score_gain_points desc, control_rank, control_title",
        (tenant,),
    ).fetchall()
    assert f"of {len(top):,})" in text
    assert f"{top[0][0]}" in text
    assert fmt.points(top[0][1], 2) in text
    total = sum(points for _, points in top)
    assert f"would add {fmt.points(total)} points" in text

    alerts = superuser.execute(
        "select count(*), count(*) filter (where is_open), "
        "percentile_cont(0.5) within group (order by hours_to_resolve), count(hours_to_resolve) "
        "from marts.fct_alerts where tenant_id = %s and created_date between %s and %s",
        (tenant, start, end),
    ).fetchone()
    incidents = superuser.execute(
        "select count(*), count(*) filter (where is_open), "
        "percentile_cont(0.5) within group (order by hours_to_resolve), count(hours_to_resolve) "
        "from marts.fct_incidents where tenant_id = %s and created_date between %s and %s and not is_redirected",
        (tenant, start, end),
    ).fetchone()
    events = text.split("Alerts created in the period", 1)[1]
    alert_part, incident_part = events.split("Incidents created in the period", 1)
    assert alerts[0], "the chosen customer should have alerts created in the period"
    assert f"All {alerts[0]:,} {alerts[3]:,} {fmt.hours(alerts[2])} {alerts[1]:,}" in alert_part, alert_part
    if incidents[0]:
        expected = f"All {incidents[0]:,} {incidents[3]:,} {fmt.hours(incidents[2])} {incidents[1]:,}"
        assert expected in incident_part, incident_part
    else:
        assert "No incident was created in the period" in incident_part


def test_report_html_loads_nothing_from_outside(
    report_env: str, superuser: psycopg.Connection, tmp_path: Path, chromium: str
) -> None:
    from playwright.sync_api import sync_playwright

    tenant = _customer_with_changes(superuser, MONTH[1], MONTH[2])
    code, output, paths = _report(tmp_path, "--customer", tenant, "--period", "2026-Q4")
    assert code == 0, output
    html = paths[0].read_text()
    assert "<script" not in html
    assert "<link" not in html
    assert "@import" not in html
    assert not re.search(r"""url\(""", html)
    assert "<svg" in html
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("request", lambda request: requested.append(request.url))
            page.goto(paths[0].as_uri(), wait_until="networkidle")
            assert page.locator("svg").count() >= 1
        finally:
            browser.close()
    assert requested == [paths[0].as_uri()]


def test_report_errors_are_one_line(report_env: str, superuser: psycopg.Connection, tmp_path: Path) -> None:
    code, output, _ = _report(tmp_path, "--customer", "no-such-customer.example", "--period", "2026-10")
    assert code == 1
    assert output.strip().count("\n") == 0
    assert "customer 'no-such-customer.example' is not in the warehouse" in output

    tenant, domain = superuser.execute(
        "select tenant_id::text, default_domain from marts.rpt_customer_posture "
        "where secure_score_pct is not null order by tenant_id limit 1"
    ).fetchone()
    code, output, _ = _report(tmp_path, "--customer", domain.upper(), "--period", "2025-Q1")
    assert code == 1
    assert output.strip().count("\n") == 0
    assert "has no Secure Score from 2025-01-01 to 2025-03-31" in output

    code, output, _ = _report(tmp_path, "--customer", tenant, "--period", "2026-13")
    assert code == 2
    assert "neither a quarter (2026-Q3) nor a month (2026-09)" in output
    assert not list(tmp_path.iterdir())


def test_a_missing_chromium_is_one_line(
    report_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SMART_OFFICE_CHROMIUM_PATH", str(tmp_path / "no-chromium"))
    code, output, _ = _report(tmp_path / "out", "--customer", "x", "--period", "2026-10")
    assert code == 2
    assert output.strip().count("\n") == 0
    assert "SMART_OFFICE_CHROMIUM_PATH=" in output
    assert "is not an executable Chromium" in output


class _ConnectionReader:
    """Reads the marts through one superuser connection (the report's queries without the BI reader role)."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def frame(self, query: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        cursor = self.conn.execute(query, params)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description or []])

    def copy_csv(self, query: Any, params: dict[str, Any] | None = None) -> bytes:
        raise NotImplementedError


def _last_scored_day(superuser: psycopg.Connection, tenant: str, start: str, end: str) -> Any:
    return superuser.execute(
        "select max(score_date) from marts.fct_secure_scores "
        "where tenant_id = %s and score_date between %s and %s and secure_score_pct is not null",
        (tenant, start, end),
    ).fetchone()[0]


def _median_of(superuser: psycopg.Connection, day: Any, members: list[str]) -> float:
    """The median Secure Score % on `day` of the current customers among `members` (tenant ids) whose history is
    complete on that day, the portfolio median's rule."""
    return superuser.execute(
        "select percentile_cont(0.5) within group (order by s.secure_score_pct) from marts.fct_secure_scores s "
        "join marts.dim_customers c using (tenant_id) where s.score_date = %s and not c.is_departed "
        "and s.secure_score_pct is not null and s.tenant_id = any(%s::uuid[]) "
        "and not exists (select 1 from marts.fct_tenant_history h where h.tenant_id = s.tenant_id "
        "and h.dataset = 'secure_scores' and s.score_date < h.complete_from_date)",
        (day, members),
    ).fetchone()[0]


def _scored_in(superuser: psycopg.Connection, tenants: list[str], start: str, end: str) -> str:
    """The first of `tenants` that is current and has a Secure Score in the period."""
    return superuser.execute(
        "select c.tenant_id::text from marts.dim_customers c where not c.is_departed "
        "and c.tenant_id = any(%s::uuid[]) and exists (select 1 from marts.fct_secure_scores s "
        "where s.tenant_id = c.tenant_id and s.score_date between %s and %s and s.secure_score_pct is not null) "
        "order by c.tenant_id limit 1",
        (tenants, start, end),
    ).fetchone()[0]


def _tile(label: str, value: str) -> str:
    return f'<div class="label">{label}</div><div class="value">{value}</div>'


def _subtitle(html: str) -> str:
    return html.split('<div class="sub">', 1)[1].split("</div>", 1)[0]


def test_the_report_compares_the_customer_with_its_seat_band_by_default(
    report_env: str, superuser: psycopg.Connection, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("SMART_OFFICE_REPORT_SEGMENT_BY", raising=False)
    label, start, end = MONTH
    # Seat bands as the product derives them (dbt, from each customer's licensedUserCount); read here from
    # dim_customers' column, not from the bridge the report reads.
    bands: dict[str, list[str]] = {}
    for tenant, band in superuser.execute(
        "select tenant_id::text, seat_band from marts.dim_customers where not is_departed and seat_band is not null"
    ):
        bands.setdefault(band, []).append(tenant)
    band, members = next((band, members) for band, members in sorted(bands.items()) if len(members) > 1)
    tenant = _scored_in(superuser, members, start, end)

    code, output, paths = _report(tmp_path, "--customer", tenant, "--period", label)
    assert code == 0, output
    html = paths[0].read_text()
    day = _last_scored_day(superuser, tenant, start, end)
    expected = _median_of(superuser, day, members)
    everyone = _median_of(superuser, day, [t for group in bands.values() for t in group])
    assert fmt.pct(expected) != fmt.pct(everyone), "the band's median should differ from the portfolio's"
    assert _tile(f"Segment median (seat_band={band})", fmt.pct(expected)) in html
    assert f"segment seat_band={band}" in _subtitle(html)
    assert f">Segment median (seat_band={band})</text>" in html  # the chart's line


def test_the_segment_key_option_and_setting(
    report_env: str,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    label, start, end = MONTH
    # service_model, as `smart-office segments` wrote it to ops.customer_attributes before dbt built the marts.
    break_fix = sorted(t for t, model in marts_warehouse[1].service_models.items() if model == "break-fix")
    tenant = _scored_in(superuser, break_fix, start, end)
    day = _last_scored_day(superuser, tenant, start, end)

    monkeypatch.setenv("SMART_OFFICE_REPORT_SEGMENT_BY", "")  # the setting: no segment comparison
    code, output, paths = _report(tmp_path / "none", "--customer", tenant, "--period", label)
    assert code == 0, output
    html = paths[0].read_text()
    assert "Segment median" not in html
    assert "segment" not in _subtitle(html)

    # The option overrides the setting.
    code, output, paths = _report(
        tmp_path / "option", "--customer", tenant, "--period", label, "--segment-key", "service_model"
    )
    assert code == 0, output
    html = paths[0].read_text()
    assert (
        _tile("Segment median (service_model=break-fix)", fmt.pct(_median_of(superuser, day, break_fix)))
        in html
    )
    assert "segment service_model=break-fix" in _subtitle(html)

    monkeypatch.setenv("SMART_OFFICE_REPORT_SEGMENT_BY", "service_model")  # the setting alone
    code, output, paths = _report(tmp_path / "setting", "--customer", tenant, "--period", label)
    assert code == 0, output
    assert "Segment median (service_model=break-fix)" in paths[0].read_text()

    code, output, _ = _report(
        tmp_path / "bad", "--customer", tenant, "--period", label, "--segment-key", "seat band"
    )
    assert code == 2
    assert output.strip().count("\n") == 0
    assert "--segment-key is not a segment key" in output


def test_no_segment_line_without_the_key_or_a_peer(
    marts_warehouse: tuple[str, LandedPortfolio], superuser: psycopg.Connection
) -> None:
    from smart_office.reports.document import build_report, report_html
    from smart_office.reports.period import month

    _, start, end = MONTH
    reader = _ConnectionReader(superuser)
    period, at = month(2026, 10), datetime(2026, 11, 2, tzinfo=UTC)
    # Nobody has an industry in this portfolio: the customer lacks the key.
    tenant = _scored_in(superuser, list(marts_warehouse[1].service_models), start, end)
    lacking = build_report(reader, tenant, period, at, segment_key="industry")
    assert lacking.segment is None
    assert "Segment median" not in report_html(lacking)
    # A seat band no other current customer shares: a segment of one, no peer to compare with.
    alone = superuser.execute(
        "select min(c.tenant_id::text) from marts.dim_customers c where not c.is_departed and c.seat_band is not null "
        "group by c.seat_band having count(*) = 1 order by 1 limit 1"
    ).fetchone()[0]
    single = build_report(reader, alone, period, at, segment_key="seat_band")
    assert single.segment is None
    assert "Segment median" not in report_html(single)
    # The same customer against its service model's peers has one.
    assert build_report(reader, alone, period, at, segment_key="service_model").segment is not None


def test_the_demo_writes_the_lowest_scoring_customers_pdf(
    report_env: str, superuser: psycopg.Connection, tmp_path: Path
) -> None:
    from smart_office.warehouse.connection import as_target
    from smart_office_demo.demo import write_demo_report

    pdf = write_demo_report(as_target(report_env), tmp_path)
    assert pdf is not None
    assert pdf.parent == tmp_path / "reports"
    assert pdf.read_bytes().startswith(b"%PDF-")
    company, latest = superuser.execute(
        "select company_name, latest_score_date from marts.rpt_customer_posture "
        "where not is_departed and secure_score_pct is not null order by secure_score_pct, tenant_id limit 1"
    ).fetchone()
    text = _text(pdf)
    assert f"{company} — Security review" in text
    assert f"to {latest:%d %b %Y}" in text
