"""Start the emulator as a child process and read the endpoint set it prints (demo, tests, benchmarks)."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class EmulatorProcess:
    """A running emulator: its endpoint set (the printed JSON line) and the process."""

    endpoints: dict[str, Any]
    process: subprocess.Popen[bytes]

    def stop(self, timeout: float = 10.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def bypass_proxy_for_local_hosts(environ: MutableMapping[str, str] = os.environ) -> None:
    """Add the emulator's hosts to NO_PROXY (both spellings), keeping what is there.

    The product's clients honour HTTPS_PROXY, as a partner's machines need; the emulator listens on this
    machine, so on a machine whose environment names a proxy (a CI runner, a corporate laptop) the demo and
    the tests must still reach it directly.
    """
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [host.strip() for host in environ.get(name, "").split(",") if host.strip()]
        environ[name] = ",".join([*hosts, *(host for host in LOCAL_HOSTS if host not in hosts)])


def start_emulator(
    *,
    tenants: int,
    seed: int,
    now: str | None = None,
    state_dir: Path | None = None,
    port: int = 0,
    fault_profile: str | None = None,
    startup_timeout: float = 60.0,
    log_file: Path | None = None,
) -> EmulatorProcess:
    """Launch `python -m emulator serve` and wait for its JSON line."""
    args = [
        sys.executable,
        "-m",
        "emulator",
        "serve",
        "--port",
        str(port),
        "--tenants",
        str(tenants),
        "--seed",
        str(seed),
    ]
    if now:
        args += ["--now", now]
    if state_dir:
        args += ["--state-dir", str(state_dir)]
    if fault_profile:
        args += ["--fault-profile", fault_profile]
    stderr = log_file.open("ab") if log_file else subprocess.DEVNULL
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + startup_timeout
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or process.poll() is not None:
            process.kill()
            raise RuntimeError(
                f"emulator did not start (exit code {process.poll()}); see {log_file or 'its stderr'}"
            )
        if selector.select(remaining):
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                continue
            buffer += chunk
    line = buffer.split(b"\n", 1)[0]
    return EmulatorProcess(json.loads(line), process)
