"""`smart-office-demo stop` (and so `make clean`): the dashboard and the embedded PostgreSQL the demo left
running are stopped, repeating it is harmless, and nothing that is not the demo's is touched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from smart_office.warehouse.connection import target_from_url
from smart_office_demo.demo import start_dashboard
from smart_office_demo.embedded import start_embedded_postgres, stop_embedded_postgres

pytestmark = pytest.mark.integration

DEMO = str(Path(sys.executable).parent / "smart-office-demo")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def demo_stop(state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEMO, "stop"],
        env={**os.environ, "SMART_OFFICE_STATE_DIR": str(state), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    stop_embedded_postgres(tmp_path / "warehouse")  # whatever a failed test left


def test_stop_ends_the_dashboard_and_the_embedded_postgres_and_can_be_repeated(state: Path) -> None:
    url = start_embedded_postgres(state / "warehouse")
    port = _free_port()
    start_dashboard(target_from_url(url), state, port=port)
    dashboard_pid = int((state / "dashboard.pid").read_text())
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) == 0  # the dashboard answers

    first = demo_stop(state)
    assert first.returncode == 0, first.stderr
    assert "dashboard: stopped" in first.stdout
    assert "embedded PostgreSQL: stopped" in first.stdout
    # The dashboard is this test's child (the demo's are adopted by init once the demo exits): reap it, then
    # nothing of its process group is left.
    assert os.waitpid(dashboard_pid, 0)[0] == dashboard_pid
    with pytest.raises(ProcessLookupError):
        os.killpg(dashboard_pid, 0)
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
    assert not (state / "dashboard.pid").exists()

    again = demo_stop(state)
    assert again.returncode == 0, again.stderr
    assert "dashboard: not running" in again.stdout
    assert "embedded PostgreSQL: not running" in again.stdout


def test_a_stale_pid_file_never_signals_someone_elses_process(state: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        (state / "dashboard.pid").write_text(str(bystander.pid))
        result = demo_stop(state)
        assert result.returncode == 0, result.stderr
        assert "dashboard: not running" in result.stdout
        assert bystander.poll() is None
        assert not (state / "dashboard.pid").exists()
    finally:
        bystander.kill()
        bystander.wait()


def test_stop_without_a_demo_starts_nothing(state: Path) -> None:
    result = demo_stop(state)
    assert result.returncode == 0, result.stderr
    assert "embedded PostgreSQL: not running" in result.stdout
    assert not (state / "warehouse").exists()


def test_pgserver_is_imported_without_the_xdg_runtime_dir_warning() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["PYTHONWARNINGS"] = "default"

    def stderr_of(code: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
        ).stderr

    # pgserver itself warns in this environment ...
    assert "XDG_RUNTIME_DIR is not set" in stderr_of("import pgserver")
    # ... and the demo's way in does not.
    assert "XDG_RUNTIME_DIR" not in stderr_of("from smart_office_demo.embedded import _pgserver; _pgserver()")


def test_make_clean_stops_the_demo_before_removing_its_state() -> None:
    repo = Path(__file__).resolve().parents[3]
    planned = subprocess.run(
        ["make", "-n", "clean"], cwd=repo, capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    stop = next(i for i, line in enumerate(planned) if "smart-office-demo stop" in line)
    remove = next(i for i, line in enumerate(planned) if line.startswith("rm -rf") and ".state" in line)
    assert stop < remove


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_the_tcp_port_follows_the_setting_and_a_busy_port_is_one_clear_error(state: Path) -> None:
    from smart_office_demo.embedded import EmbeddedPostgresError

    port = _free_port()
    url = start_embedded_postgres(state / "warehouse", listen_port=port)
    assert _listening(port)
    # The setting unset again: back to the socket only, the data where it was.
    url = start_embedded_postgres(state / "warehouse")
    assert not _listening(port)
    with psycopg.connect(url) as conn:
        assert conn.execute("show listen_addresses").fetchone() == ("",)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(EmbeddedPostgresError, match=f"127.0.0.1:{busy} is in use"):
            start_embedded_postgres(state / "warehouse", listen_port=busy)
    with psycopg.connect(url) as conn:  # still running, as it was
        assert conn.execute("select 1").fetchone() == (1,)
