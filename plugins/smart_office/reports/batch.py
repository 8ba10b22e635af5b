"""Every current customer's report for one period, written to a folder or object store and optionally e-mailed.

One customer's failure costs that customer only: it is recorded, with the error's type and first line, in the
period folder's `manifest.json` (one entry per customer: written, no_data or failed, the files, whether e-mailed),
and the others go on. A retry of the same run skips the customers the run already wrote (and e-mailed), so
nobody receives a report twice.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from smart_office.dashboard.queries.marts import Reader
from smart_office.redaction import redact_text
from smart_office.reports import queries
from smart_office.reports.document import CustomerReport, NoDataError, build_report
from smart_office.reports.output import WrittenReport, write_report
from smart_office.reports.period import ReportPeriod

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
MANIFEST_EVERY = 25
LISTED_FAILURES = 20  # in the task's summary (XCom stays small); the manifest lists them all

Send = Callable[[CustomerReport, Path], None]
Write = Callable[[CustomerReport, Any, Path], WrittenReport]


def _first_line(exc: BaseException) -> str:
    line = (str(exc).strip().splitlines() or [""])[0]
    return redact_text(f"{type(exc).__name__}: {line}")[:300]


def _read_manifest(folder: Any) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        return json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError):
        return {}


def write_customer_reports(
    reader: Reader,
    location: Any,
    period: ReportPeriod,
    *,
    generated_at: datetime,
    run_id: str,
    send: Send | None = None,
    write: Write | None = None,
    chromium: str | None = None,
    segment_key: str | None = None,
) -> dict[str, Any]:
    """Write each current customer's report into `location`/<period label>/; returns a small summary.

    :param location: a Path or ObjectStoragePath (smart_office.reports.output.destination).
    :param send: e-mails one report with its local PDF; None sends nothing.
    :param write: writes one report (default: HTML and PDF, smart_office.reports.output.write_report).
    :param segment_key: the segment each customer is compared within (ReportSettings.segment_key); None: none.
    """
    folder = location / period.label
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _read_manifest(folder)
    previous = manifest.get("customers", {}) if manifest.get("run_id") == run_id else {}
    entries: dict[str, dict[str, Any]] = {}
    customers = queries.current_customers(reader)
    with tempfile.TemporaryDirectory(prefix="smart-office-reports-") as scratch:
        for row in customers.itertuples():
            tenant = str(row.tenant_id)
            done = previous.get(tenant)
            if done and (
                done["status"] == "no_data"
                or (done["status"] == "written" and (send is None or done["emailed"]))
            ):
                entries[tenant] = done  # this run wrote it already (a retry): not again, nor e-mailed twice
                continue
            entry: dict[str, Any] = {"company_name": row.company_name}
            try:
                report = build_report(reader, tenant, period, generated_at, segment_key=segment_key)
                written = (write or _default_write(chromium))(report, folder, Path(scratch))
                entry.update(status="written", html=written.html, pdf=written.pdf, emailed=False)
                if send is not None:
                    send(report, written.local_pdf)
                    entry["emailed"] = True
            except NoDataError:
                entry.update(status="no_data", emailed=False)
            except Exception as exc:  # one customer's failure must not cost the others their reports
                log.warning("report of customer %s failed: %s", tenant, _first_line(exc), exc_info=True)
                entry.update(status="failed", error=_first_line(exc))
            entries[tenant] = entry
            if len(entries) % MANIFEST_EVERY == 0:  # progress a retry can resume from
                _write_manifest(folder, run_id, period, generated_at, entries)
    _write_manifest(folder, run_id, period, generated_at, entries)
    failed = sorted(t for t, e in entries.items() if e["status"] == "failed")
    return {
        "period": period.label,
        "location": str(folder),
        "customers": len(entries),
        "written": sum(e["status"] == "written" for e in entries.values()),
        "no_data": sum(e["status"] == "no_data" for e in entries.values()),
        "emailed": sum(bool(e.get("emailed")) for e in entries.values()),
        "failed": len(failed),
        "failed_tenants": failed[:LISTED_FAILURES],
    }


def _default_write(chromium: str | None) -> Write:
    def write(report: CustomerReport, folder: Any, scratch: Path) -> WrittenReport:
        return write_report(report, folder, scratch, chromium=chromium)

    return write


def _write_manifest(
    folder: Any,
    run_id: str,
    period: ReportPeriod,
    generated_at: datetime,
    entries: Mapping[str, Mapping[str, Any]],
) -> None:
    document = {
        "run_id": run_id,
        "period": period.label,
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "generated_at": generated_at.isoformat(),
        "customers": dict(entries),
    }
    (folder / MANIFEST).write_bytes(json.dumps(document, indent=1, sort_keys=True).encode("utf-8"))
