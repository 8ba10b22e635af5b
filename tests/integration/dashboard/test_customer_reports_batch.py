"""The monthly reports task on the dbt-built warehouse of emulator data: every current customer's report written to
an object store (ObjectStoragePath, file://) and e-mailed through a local SMTP server; one customer's failure
costs that customer only; a retry neither rewrites nor re-sends what the run already delivered."""

from __future__ import annotations

import json
import socket
import subprocess
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import psycopg
import pytest

from smart_office.dashboard.connection import MartsReader, MartsSource
from smart_office.reports.batch import write_customer_reports
from smart_office.reports.document import CustomerReport
from smart_office.reports.output import WrittenReport, destination
from smart_office.reports.period import month
from tests.support.marts_data import LandedPortfolio

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A local SMTP server (aiosmtpd) collecting what it receives, as Airflow's smtp_default connection."""
    from aiosmtpd.controller import Controller

    class Collect:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
            return "250 OK"

    handler = Collect()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    connection = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "reports@partner.example"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(connection))
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def chromium() -> str:
    result = subprocess.run(
        ["sh", str(ROOT / "scripts" / "ensure_chromium.sh")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return "/usr/bin/chromium"


def _current(superuser: psycopg.Connection) -> set[str]:
    return {
        r[0]
        for r in superuser.execute("select tenant_id::text from marts.dim_customers where not is_departed")
    }


def test_the_monthly_task_writes_and_mails_every_customers_report(
    monkeypatch: pytest.MonkeyPatch,
    marts_warehouse: tuple[str, LandedPortfolio],
    superuser: psycopg.Connection,
    smtp_server: Any,
    chromium: str,
    tmp_path: Path,
) -> None:
    from smart_office.reports.operator import CustomerReportsOperator

    monkeypatch.delenv("SMART_OFFICE_DASHBOARD_URL", raising=False)
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", marts_warehouse[0])
    monkeypatch.setenv("SMART_OFFICE_CHROMIUM_PATH", chromium)
    monkeypatch.setenv("SMART_OFFICE_REPORTS_DIR", (tmp_path / "store").as_uri())  # an object-store URL
    monkeypatch.setenv("SMART_OFFICE_REPORTS_EMAILS", "account-manager@partner.example")
    monkeypatch.delenv("SMART_OFFICE_REPORTS_PERIOD", raising=False)
    from airflow.sdk import DAG

    context = {
        "dag": DAG("smart_office_customer_reports", schedule=None),
        "run_id": "scheduled__2026-11-02T06:00:00+00:00",
        "data_interval_end": datetime(2026, 11, 2, 6, tzinfo=UTC),
    }
    summary = CustomerReportsOperator(task_id="write_customer_reports").execute(context)  # type: ignore[arg-type]

    current = _current(superuser)
    with_october = {
        r[0]
        for r in superuser.execute(
            "select distinct tenant_id::text from marts.fct_secure_scores "
            "where score_date between '2026-10-01' and '2026-10-31' and secure_score_pct is not null"
        )
    } & current
    assert summary["period"] == "2026-10"
    assert summary["customers"] == len(current)
    assert summary["written"] == len(with_october) > 0
    assert summary["no_data"] == len(current - with_october)
    assert summary["failed"] == 0
    assert summary["emailed"] == len(with_october)
    folder = tmp_path / "store" / "2026-10"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert {t for t, e in manifest["customers"].items() if e["status"] == "written"} == with_october
    assert len(list(folder.glob("*.pdf"))) == len(list(folder.glob("*.html"))) == len(with_october)
    assert all(p.read_bytes().startswith(b"%PDF-") for p in folder.glob("*.pdf"))

    assert len(smtp_server.messages) == len(with_october)
    recipients, message = smtp_server.messages[0]
    assert recipients == ["account-manager@partner.example"]
    assert message["From"] == "reports@partner.example"
    assert message["Subject"].startswith("[Partner Smart Office] ")
    assert message["Subject"].endswith(": security review, October 2026")
    attachments = [part for part in message.walk() if part.get_filename()]
    assert len(attachments) == 1
    assert attachments[0].get_filename() in {p.name for p in folder.glob("*-2026-10.pdf")}
    assert attachments[0].get_payload(decode=True).startswith(b"%PDF-")


def _html_only(fail_for: str, calls: list[str]) -> Any:
    """Writes the HTML alone (the PDF is the other test's), and fails for one customer."""

    def write(report: CustomerReport, folder: Any, scratch: Path) -> WrittenReport:
        calls.append(report.tenant_id)
        if report.tenant_id == fail_for:
            raise RuntimeError("printer on fire\nsecond line")
        target = folder / f"{report.tenant_id}.html"
        target.write_text("<html></html>")
        return WrittenReport(html=str(target), pdf=str(target), local_pdf=Path(str(target)))

    return write


def test_one_customers_failure_costs_that_customer_only_and_a_retry_sends_nothing_twice(
    marts_warehouse: tuple[str, LandedPortfolio], superuser: psycopg.Connection, tmp_path: Path
) -> None:
    current = sorted(_current(superuser))
    failing = current[len(current) // 2]
    reader = MartsReader(MartsSource(marts_warehouse[0], "smart_office_bi_reader"), pool_size=1)
    writes: list[str] = []
    sent: list[str] = []
    location = destination(tmp_path.as_uri())
    run = {
        "generated_at": datetime(2026, 11, 2, 6, tzinfo=UTC),
        "run_id": "smart_office_customer_reports/run-1",
        "send": lambda report, pdf: sent.append(report.tenant_id),
    }
    try:
        first = write_customer_reports(
            reader, location, month(2026, 10), write=_html_only(failing, writes), **run
        )
        manifest = json.loads((tmp_path / "2026-10" / "manifest.json").read_text())
        assert first["failed"] == 1
        assert first["failed_tenants"] == [failing]
        assert manifest["customers"][failing]["status"] == "failed"
        assert manifest["customers"][failing]["error"] == "RuntimeError: printer on fire"
        assert first["written"] + first["no_data"] == len(current) - 1
        assert sorted(sent) == sorted(t for t, e in manifest["customers"].items() if e["status"] == "written")

        # The retry of the same run: only the failed customer is tried again, nobody is e-mailed twice.
        writes.clear()
        sent_before = list(sent)
        second = write_customer_reports(
            reader, location, month(2026, 10), write=_html_only("none", writes), **run
        )
        assert writes == [failing]
        assert sent == [*sent_before, failing]
        assert second["failed"] == 0
        assert second["written"] == first["written"] + 1

        # A new run writes (and sends) again.
        writes.clear()
        write_customer_reports(
            reader,
            location,
            month(2026, 10),
            write=_html_only("none", writes),
            **{**run, "run_id": "smart_office_customer_reports/run-2"},
        )
        assert len(writes) == second["written"]
    finally:
        reader.close()
