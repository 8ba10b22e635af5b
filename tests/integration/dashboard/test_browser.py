"""End to end: `smart-office dashboard serve` on a dbt-built warehouse, every page opened in headless Chromium.

The dashboard logs in as its own login (a member of the BI reader role, with a password) through
SMART_OFFICE_DASHBOARD_URL; the numbers on screen are checked against SQL on the marts, the password must
appear nowhere, no page may ask any host but the dashboard's own for anything (a security product makes no
outside call it was not asked to, and must work offline), and no table cell may read "None".

A full-page screenshot of each page goes to SMART_OFFICE_SCREENSHOTS_DIR when it is set (`make screenshots`
sets it to docs/screenshots/, which the README links), else to a temporary directory, so a test run never
writes into the tree.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

from smart_office.dashboard import formatting as fmt
from tests.support.marts_data import LandedPortfolio

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS_ENV = "SMART_OFFICE_SCREENSHOTS_DIR"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "fake-dashboard-password-e2e"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium, installed by the project's script when missing."""
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "ensure_chromium.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return CHROMIUM


@pytest.fixture(scope="module")
def dashboard_login(marts_warehouse: tuple[str, LandedPortfolio]) -> Iterator[str]:
    """A login with a password that is a member of the BI reader role, as a deployment would create."""
    url = marts_warehouse[0]
    name = f"dashboard_e2e_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login password {} in role smart_office_bi_reader").format(
                sql.Identifier(name), sql.Literal(PASSWORD)
            )
        )
    parts = urlsplit(url)
    yield urlunsplit(parts._replace(netloc=f"{name}:{PASSWORD}@{parts.hostname or ''}"))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def dashboard(dashboard_login: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The dashboard served by its CLI on a free port; yields its base URL and its log file."""
    port = _free_port()
    log = tmp_path_factory.mktemp("dashboard") / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "SMART_OFFICE_WAREHOUSE_URL"}
    env["SMART_OFFICE_DASHBOARD_URL"] = dashboard_login
    with log.open("w") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "smart-office"), "dashboard", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:  # noqa: S310 - local
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


class OutsideRequests:
    """Every request a page makes to a host other than the dashboard's own, refused and remembered."""

    def __init__(self, base: str) -> None:
        self.own = urlsplit(base).netloc
        self.seen: list[str] = []

    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        # Refused, not merely noted: the test never reaches the internet, and the page must cope without it.
        page.route("**/*", self._route)
        page.on("websocket", lambda socket: self._check(socket.url))

    def _route(self, route) -> None:  # type: ignore[no-untyped-def]
        if self._check(route.request.url):
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def _check(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in {"data", "blob", "about"} or parts.netloc == self.own:
            return True
        self.seen.append(url)
        return False


def _open(browser, base: str, path: str, wanted: str, outside: OutsideRequests | None = None):  # type: ignore[no-untyped-def]
    """Open a page and wait until the metric labelled `wanted` is on screen; return the page."""
    page = browser.new_page(viewport={"width": 1400, "height": 2600})
    (outside or OutsideRequests(base)).watch(page)
    page.goto(base + path)
    deadline = time.monotonic() + 60
    while wanted not in _metrics(page):
        assert time.monotonic() < deadline, (
            f"{wanted!r} never appeared on {path}: {page.inner_text('body')[:2000]}"
        )
        time.sleep(0.3)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000
    )
    return page


def _metrics(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    found = {}
    for metric in page.query_selector_all('[data-testid="stMetric"]'):
        label = metric.query_selector('[data-testid="stMetricLabel"]')
        value = metric.query_selector('[data-testid="stMetricValue"]')
        if label and value:
            found[label.inner_text().strip()] = value.inner_text().strip()
    return found


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the pages' screenshots go: SMART_OFFICE_SCREENSHOTS_DIR, else a temporary directory."""
    chosen = os.environ.get(SCREENSHOTS_ENV)
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _shot(page, folder: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _outside_links(page, own: str) -> list[str]:  # type: ignore[no-untyped-def]
    """URLs the document points the browser at on another host (icons, styles, scripts, images, frames).

    Headless Chromium may not fetch everything a document links (a favicon, say), so the links are read too.
    """
    urls = page.eval_on_selector_all(
        "link[href], script[src], img[src], iframe[src], source[src]",
        "nodes => nodes.map(n => n.href || n.src)",
    )
    return [url for url in urls if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != own]


def _cells(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The text of every table cell on the page that the browser exposes (dataframes are drawn on a canvas;
    their accessible grid holds the cells in view)."""
    return [
        text.strip()
        for text in page.eval_on_selector_all(
            "[role=gridcell], td, th", "nodes => nodes.map(n => n.innerText || n.textContent || '')"
        )
    ]


def _check_page(page, outside: OutsideRequests) -> None:  # type: ignore[no-untyped-def]
    """No request and no link to another host; no cell reading "None"; no table wider than its place."""
    # The grids fill in after the script has finished; wait until every visible table (one in a closed
    # expander draws nothing) shows its cells.
    page.wait_for_function(
        """() => {
            const tables = [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                .filter(t => t.checkVisibility());
            return tables.length > 0 && tables.every(t => t.querySelector('[role=gridcell]'));
        }""",
        timeout=30_000,
    )
    assert outside.seen == []
    assert _outside_links(page, outside.own) == []
    cells = _cells(page)
    assert cells, "no table cell found on the page: the check below would prove nothing"
    assert "None" not in cells
    clipped = page.eval_on_selector_all(
        '[data-testid="stDataFrame"] .dvn-scroller',
        "nodes => nodes.filter(n => n.scrollWidth > n.clientWidth + 1).length",
    )
    assert clipped == 0, "a table is wider than the page and cuts off its right-hand columns"


def _check_no_password(page, log: Path) -> None:  # type: ignore[no-untyped-def]
    assert PASSWORD not in page.content()
    assert PASSWORD not in log.read_text()


def test_every_page_shows_the_marts_numbers(
    browser,  # type: ignore[no-untyped-def]
    dashboard: tuple[str, Path],
    superuser: psycopg.Connection,
    screenshots: Path,
) -> None:
    base, log = dashboard
    worst_tenant, worst_name, worst_pct, rank, size = superuser.execute(
        "select tenant_id::text, company_name, secure_score_pct, portfolio_rank, portfolio_size "
        "from marts.rpt_customer_posture where not is_departed and secure_score_pct is not null "
        "order by secure_score_pct, company_name limit 1"
    ).fetchone()
    attempted, loaded = superuser.execute(
        "select max(customers_attempted), max(customers_loaded) from marts.fct_ingestion_coverage "
        "where run_started_at = (select max(run_started_at) from marts.fct_ingestion_coverage)"
    ).fetchone()

    outside = OutsideRequests(base)
    page = _open(browser, base, "/", "Lowest score", outside)
    shown = _metrics(page)
    assert shown["Lowest score"] == fmt.pct(worst_pct)
    assert shown["Loaded"] == f"{loaded} of {attempted}"
    assert worst_name in page.inner_text("body")
    _check_page(page, outside)
    _shot(page, screenshots, "portfolio")
    _check_no_password(page, log)

    outside = OutsideRequests(base)
    page = _open(browser, base, f"/customer?customer={worst_tenant}", "Secure Score", outside)
    shown = _metrics(page)
    assert shown["Secure Score"] == fmt.pct(worst_pct)
    assert shown["Rank in portfolio"] == f"{rank} of {size}"
    assert page.locator("h2", has_text=worst_name).count() == 1
    _check_page(page, outside)
    _shot(page, screenshots, "customer")
    _check_no_password(page, log)

    (latest,) = superuser.execute("select max(score_date) from marts.fct_secure_scores").fetchone()
    (created,) = superuser.execute(
        # A customer counts from the day its alert history is complete (fct_tenant_history), as on the page.
        "select count(*) from marts.fct_alerts as a left join marts.fct_tenant_history as h "
        "on h.tenant_id = a.tenant_id and h.dataset = 'alerts_v2' "
        "where created_date >= coalesce(h.complete_from_date, created_date) "
        "and created_date between %s::date - 89 and %s",
        (latest, latest),
    ).fetchone()
    outside = OutsideRequests(base)
    page = _open(browser, base, "/alerts", "Alerts created", outside)
    assert _metrics(page)["Alerts created"] == fmt.count(created)
    _check_page(page, outside)
    _shot(page, screenshots, "alerts")
    _check_no_password(page, log)

    (points,) = superuser.execute(
        "select sum(score_gain_points) from marts.rpt_opportunities where not is_risk_accepted"
    ).fetchone()
    outside = OutsideRequests(base)
    page = _open(browser, base, "/opportunities", "Points available", outside)
    assert float(_metrics(page)["Points available"].replace(",", "")) == pytest.approx(points, abs=0.051)
    _check_page(page, outside)
    _shot(page, screenshots, "opportunities")
    _check_no_password(page, log)


def test_choosing_a_filter_updates_the_url_for_sharing(
    browser,  # type: ignore[no-untyped-def]
    dashboard: tuple[str, Path],
    superuser: psycopg.Connection,
    screenshots: Path,
) -> None:
    base, _ = dashboard
    page = _open(browser, base, "/alerts", "Alerts created")
    page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').filter(
        has_text="Severity"
    ).click()
    page.get_by_role("option", name="High", exact=True).click()
    page.wait_for_url("**/alerts?severity=high", timeout=30_000)
    (latest,) = superuser.execute("select max(score_date) from marts.fct_secure_scores").fetchone()
    (created_high,) = superuser.execute(
        # A customer counts from the day its alert history is complete (fct_tenant_history), as on the page.
        "select count(*) from marts.fct_alerts as a left join marts.fct_tenant_history as h "
        "on h.tenant_id = a.tenant_id and h.dataset = 'alerts_v2' where severity = 'high' "
        "and created_date >= coalesce(h.complete_from_date, created_date) "
        "and created_date between %s::date - 89 and %s",
        (latest, latest),
    ).fetchone()
    deadline = time.monotonic() + 30
    while _metrics(page).get("Alerts created") != fmt.count(created_high):
        assert time.monotonic() < deadline, _metrics(page)
        time.sleep(0.3)
    # The shared link opens the same view in a new session.
    shared = _open(browser, base, urlsplit(page.url).path + "?" + urlsplit(page.url).query, "Alerts created")
    assert _metrics(shared)["Alerts created"] == fmt.count(created_high)
    _shot(shared, screenshots, "alerts-high-only")
