"""Finding Chromium (a setting, else PATH) and the command line that prints a report without calling out."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from smart_office.reports.pdf import (
    ChromiumNotFoundError,
    PdfError,
    chromium_command,
    find_chromium,
    render_pdf,
)


def _executable(folder: Path, name: str, script: str = "#!/bin/sh\nexit 0\n") -> Path:
    path = folder / name
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_setting_wins(tmp_path: Path) -> None:
    chosen = _executable(tmp_path, "my-chrome")
    _executable(tmp_path, "chromium")
    env = {"SMART_OFFICE_CHROMIUM_PATH": str(chosen), "PATH": str(tmp_path)}
    assert find_chromium(env) == str(chosen)


def test_a_wrong_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ChromiumNotFoundError) as raised:
        find_chromium({"SMART_OFFICE_CHROMIUM_PATH": str(tmp_path / "nothing")})
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        f"SMART_OFFICE_CHROMIUM_PATH={tmp_path / 'nothing'} is not an executable Chromium"
    )


def test_without_a_setting_path_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = _executable(tmp_path, "chromium-browser")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium({}) == str(browser)
    browser.unlink()
    with pytest.raises(ChromiumNotFoundError, match=r"no Chromium found .* set SMART_OFFICE_CHROMIUM_PATH"):
        find_chromium({})


def test_the_command_prints_a_local_file_and_resolves_no_host(tmp_path: Path) -> None:
    command = chromium_command("/usr/bin/chromium", tmp_path / "r.html", tmp_path / "r.pdf", tmp_path / "p")
    assert command[0] == "/usr/bin/chromium"
    assert "--headless" in command
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in command
    assert f"--print-to-pdf={tmp_path / 'r.pdf'}" in command
    assert f"--user-data-dir={tmp_path / 'p'}" in command
    assert command[-1] == (tmp_path / "r.html").as_uri()
    assert ("--no-sandbox" in command) == (os.geteuid() == 0)


def test_a_chromium_that_prints_nothing_is_one_line(tmp_path: Path) -> None:
    broken = _executable(tmp_path, "broken", "#!/bin/sh\necho 'first' >&2\necho 'GPU exploded' >&2\nexit 3\n")
    with pytest.raises(PdfError) as raised:
        render_pdf("<html></html>", tmp_path / "out" / "r.pdf", executable=str(broken))
    assert str(raised.value) == f"Chromium ({broken}) printed no PDF (exit code 3): GPU exploded"
    assert not (tmp_path / "out" / "r.pdf").exists()
