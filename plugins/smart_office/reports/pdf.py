"""The report's PDF: headless Chromium prints the report's own HTML, so the PDF and the HTML never differ.

Which Chromium: SMART_OFFICE_CHROMIUM_PATH (a path or a command name), else the first of `chromium`,
`chromium-browser`, `google-chrome` on PATH (Debian's package: `apt-get install chromium`, or
scripts/ensure_chromium.sh). The page is opened from a local file with every host name resolving to nothing,
so even a page that asked for something outside could not reach it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

CHROMIUM_PATH_ENV = "SMART_OFFICE_CHROMIUM_PATH"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_SECONDS = 120


class PdfError(RuntimeError):
    """The PDF could not be made; one line saying why and what to do."""


class ChromiumNotFoundError(PdfError):
    pass


def find_chromium(env: Mapping[str, str] | None = None) -> str:
    """The Chromium executable to print with, from SMART_OFFICE_CHROMIUM_PATH or PATH."""
    env = os.environ if env is None else env
    configured = env.get(CHROMIUM_PATH_ENV, "").strip()
    if configured:
        found = shutil.which(configured)
        if found is None:
            raise ChromiumNotFoundError(
                f"{CHROMIUM_PATH_ENV}={configured} is not an executable Chromium: correct it, or install "
                "Chromium (Debian: apt-get install chromium)"
            )
        return found
    for name in CANDIDATES:
        if found := shutil.which(name):
            return found
    raise ChromiumNotFoundError(
        f"no Chromium found ({', '.join(CANDIDATES)} not on PATH): install it (Debian: apt-get install chromium) "
        f"or set {CHROMIUM_PATH_ENV} to its path"
    )


def chromium_command(executable: str, page: Path, pdf: Path, profile: Path) -> list[str]:
    """Chromium's command line that prints `page` to `pdf`."""
    command = [
        executable,
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        # Every host resolves to nothing: the report is self-contained, and a printer must not call out.
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium's sandbox refuses to run as root (containers)
    return [*command, page.resolve().as_uri()]


def render_pdf(
    html: str, pdf: Path, *, executable: str | None = None, timeout: float = TIMEOUT_SECONDS
) -> Path:
    """Print `html` to `pdf` with headless Chromium; returns `pdf`."""
    executable = executable or find_chromium()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="smart-office-report-") as scratch:
        folder = Path(scratch)
        page = folder / "report.html"
        page.write_text(html, encoding="utf-8")
        printed = folder / "report.pdf"
        try:
            result = subprocess.run(
                chromium_command(executable, page, printed, folder / "profile"),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
                env={**os.environ, "HOME": str(folder)},
            )
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"Chromium ({executable}) did not print the report within {timeout:.0f} s"
            ) from None
        except OSError as exc:
            raise ChromiumNotFoundError(f"cannot start Chromium ({executable}): {exc.strerror}") from None
        if result.returncode != 0 or not printed.is_file() or printed.read_bytes()[:5] != b"%PDF-":
            last = (result.stderr.strip().splitlines() or ["no output"])[-1][:300]
            raise PdfError(f"Chromium ({executable}) printed no PDF (exit code {result.returncode}): {last}")
        shutil.copyfile(printed, pdf)
    return pdf
