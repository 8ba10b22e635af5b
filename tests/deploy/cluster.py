"""A distributed Airflow on this machine: api-server, scheduler, dag-processor and Celery workers as separate
processes, configured from docker-compose.yaml's `x-airflow-common-env` with only the addresses of the
local Redis and PostgreSQL swapped in. Each worker runs in its own UTS namespace (`unshare --uts`) with
its own hostname, as it would in its own container, so the task instances record which worker ran them.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from tests.deploy.compose import REPO, airflow_environment, interpolate

BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
HEALTHCHECK = REPO / "scripts" / "healthcheck.py"


class ClusterError(RuntimeError):
    """A component did not start or a wait ran out; the message carries the tail of its log."""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relocate(url: str, *, netloc: str, path: str | None = None) -> str:
    """`url` with its host, port and credentials (and optionally its path) replaced."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=netloc, path=parts.path if path is None else path))


def can_unshare_uts() -> bool:
    """True when this user may give a process its own hostname (root, or user namespaces allowed)."""
    if not shutil.which("unshare"):
        return False
    result = subprocess.run(["unshare", "--uts", "true"], capture_output=True, check=False)
    return result.returncode == 0


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new database on `server_url`, dropped (connections and all) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield relocate(server_url, netloc=urlsplit(server_url).netloc, path=f"/{name}")
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def compose_settings_for_local_services(
    *,
    metadata_url: str,
    broker_url: str,
    warehouse_url: str,
    api_port: int,
    overrides: Mapping[str, str],
) -> dict[str, str]:
    """docker-compose.yaml's Airflow environment, pointed at local services instead of compose services.

    Only addresses and secrets change: executor, auth manager, result backend scheme, telemetry, the
    warehouse connection id and every SMART_OFFICE_* name come from the compose file as written.
    """
    env = airflow_environment()
    metadata = urlsplit(metadata_url)
    warehouse = urlsplit(warehouse_url)
    fresh = {
        "AIRFLOW_DB_PASSWORD": "unused-with-trust-auth",
        "REDIS_PASSWORD": "unused-locally",
        "AIRFLOW_FERNET_KEY": _fernet_key(),
        "AIRFLOW_JWT_SECRET": secrets.token_hex(32),
        "AIRFLOW_API_SECRET_KEY": secrets.token_hex(32),
        "WAREHOUSE_DB_PASSWORD": "unused-with-trust-auth",
        "SMART_OFFICE_PARTNER_TENANT_ID": overrides.get("SMART_OFFICE_PARTNER_TENANT_ID", ""),
    }
    resolved = {key: interpolate(str(value), {**fresh, **overrides}) for key, value in env.items()}
    resolved["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = relocate(
        resolved["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], netloc=metadata.netloc, path=metadata.path
    )
    resolved["AIRFLOW__CELERY__RESULT_BACKEND"] = relocate(
        resolved["AIRFLOW__CELERY__RESULT_BACKEND"], netloc=metadata.netloc, path=metadata.path
    )
    broker = urlsplit(broker_url)
    resolved["AIRFLOW__CELERY__BROKER_URL"] = relocate(
        resolved["AIRFLOW__CELERY__BROKER_URL"], netloc=broker.netloc, path=broker.path
    )
    resolved["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = relocate(
        resolved["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"], netloc=f"127.0.0.1:{api_port}"
    )
    resolved["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] = relocate(
        resolved["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"], netloc=warehouse.netloc, path=warehouse.path
    )
    # Empty optional values stay unset, as an empty variable and an absent one differ for some readers.
    return {key: value for key, value in resolved.items() if value != ""}


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@dataclass
class AirflowCluster:
    """Airflow components as child processes sharing one AIRFLOW_HOME and one environment."""

    home: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    _log_files: list[IO[bytes]] = field(default_factory=list)

    def run(self, *args: str, timeout: float = 300, env: Mapping[str, str] | None = None) -> str:
        """An `airflow` CLI command to completion; raises with its output on failure."""
        result = subprocess.run(
            [AIRFLOW, *args],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ClusterError(f"airflow {' '.join(args)} failed:\n{(result.stdout + result.stderr)[-4000:]}")
        return result.stdout

    def start(self, name: str, command: list[str], *, env: Mapping[str, str] | None = None) -> None:
        log_path = self.home / "components" / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = log_path.open("ab")
        self._log_files.append(log)
        self.logs[name] = log_path
        # Own process group: stopping a component stops its children (gunicorn/uvicorn, celery pool, tasks).
        self.processes[name] = subprocess.Popen(
            command,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.home,
            start_new_session=True,
        )

    def start_airflow(self, name: str, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.start(name, [AIRFLOW, *args], env=env)

    def start_worker(self, name: str, *, queue: str, concurrency: int, log_server_port: int) -> None:
        """A Celery worker with its own hostname `name` (UTS namespace) and Celery node name."""
        self.start(
            name,
            [
                "unshare",
                "--uts",
                "sh",
                "-c",
                f'hostname "{name}" && exec "$0" "$@"',
                AIRFLOW,
                "celery",
                "worker",
                "--celery-hostname",
                f"{name}@{name}",
                "--queues",
                queue,
                "--concurrency",
                str(concurrency),
            ],
            env={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(log_server_port)},
        )

    def assert_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 4000) -> str:
        path = self.logs.get(name)
        if path is None or not path.exists():
            return "(no log)"
        return path.read_text(errors="replace")[-chars:]

    def wait_for(self, what: str, probe: Callable[[], Any], *, timeout: float, interval: float = 1.0) -> Any:
        """Poll `probe` until it returns something truthy, checking that every component is still alive."""
        deadline = time.monotonic() + timeout
        while True:
            self.assert_running()
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                logs = "\n".join(f"--- {n} ---\n{self.tail(n, 1500)}" for n in self.processes)
                raise ClusterError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
            time.sleep(interval)

    def task_log(self, dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> str:
        """The errors and the traceback of one task attempt, from its JSON-lines log file."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        if map_index >= 0:
            folder = folder / f"map_index={map_index}"
        path = folder / f"attempt={try_number}.log"
        if not path.exists():
            return f"(no log at {path})"
        lines = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                lines.append(line)
                continue
            if record.get("level") in {"error", "critical", "warning"} or "error_detail" in record:
                lines.append(f"{record.get('level')}: {record.get('event')}")
                if "error_detail" in record:
                    lines.append(json.dumps(record["error_detail"])[:6000])
        return "\n".join(lines)[-8000:] or path.read_text(errors="replace")[-4000:]

    def healthcheck(self, role: str, *extra: str, env: Mapping[str, str] | None = None) -> bool:
        """The image's scripts/healthcheck.py, run against these processes."""
        result = subprocess.run(
            [sys.executable, str(HEALTHCHECK), role, *extra],
            env={**self.env, **(env or {}), "PATH": f"{BIN}:{os.environ.get('PATH', '')}"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return result.returncode == 0

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM every component's process group, wait, then SIGKILL whatever is left of each group."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(10)
        for log in self._log_files:
            log.close()
