"""`.state/demo.env` points other commands at the demo's warehouse, and only its owner can read it."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from smart_office.warehouse.connection import target_from_url
from smart_office_demo.demo import write_demo_env


def test_demo_env_is_private_and_sources_to_the_same_values(tmp_path: Path) -> None:
    url = "postgresql://postgres:fake%2Fpw'$HOME@/smart_office?host=/tmp/x%20y"
    path = write_demo_env(tmp_path, url, "fake-key-not-a-secret")

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # What a user's shell reads back is exactly what the demo used, quotes and dollars included.
    echoed = subprocess.run(
        [
            "sh",
            "-c",
            f'set -a; . "{path}"; set +a; printf "%s\\n%s\\n%s" "$SMART_OFFICE_WAREHOUSE_URL" '
            '"$SMART_OFFICE_TOKEN_STORE" "$SMART_OFFICE_TOKEN_STORE_KEY"',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    assert echoed[1:] == ["postgres", "fake-key-not-a-secret"]
    sourced = target_from_url(echoed[0])
    assert sourced.params == target_from_url(url).params
    assert sourced.password == "fake/pw'$HOME"


def test_rewriting_keeps_it_private(tmp_path: Path) -> None:
    path = tmp_path / "demo.env"
    path.write_text("old\n")
    path.chmod(0o644)
    write_demo_env(tmp_path, "postgresql://postgres@/db", "fake-key")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "old" not in path.read_text()


def test_the_demo_port_is_off_unless_asked_and_must_be_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from smart_office_demo.demo import SetupError, demo_port

    monkeypatch.delenv("SMART_OFFICE_DEMO_PORT", raising=False)
    assert demo_port() is None
    monkeypatch.setenv("SMART_OFFICE_DEMO_PORT", "15432")
    assert demo_port() == 15432
    for wrong in ("0", "70000", "5432x"):
        monkeypatch.setenv("SMART_OFFICE_DEMO_PORT", wrong)
        with pytest.raises(SetupError, match="SMART_OFFICE_DEMO_PORT"):
            demo_port()
