"""Container health check for every role of the Partner Smart Office image (stdlib only, runs in ~0.1 s
for HTTP roles).

    python /opt/airflow/scripts/healthcheck.py [ROLE] [--celery-hostname NAME]

ROLE is api-server, scheduler, dag-processor, triggerer, celery-worker, flower or dashboard. Without it the
role is read from the container's main process (PID 1: `dumb-init -- /entrypoint scheduler`, ...), so the
Dockerfile's single HEALTHCHECK fits every service; a one-off command (`airflow db migrate`) is healthy.
Exit status 0 = healthy, 1 = unhealthy (the reason goes to stderr, which Docker keeps in `inspect`).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROLES = ("api-server", "scheduler", "dag-processor", "triggerer", "celery-worker", "flower", "dashboard")
CELERY_APP = "airflow.providers.celery.executors.celery_executor.app"
# What stands before the real command in PID 1: the init process, the image entrypoint, `airflow`.
_LAUNCHERS = frozenset({"--", "dumb-init", "tini", "entrypoint", "airflow"})


def role_from_command(argv: Sequence[str]) -> str | None:
    """The role a container's main command plays, or None for a one-off command."""
    words = list(argv)
    while words and Path(words[0]).name in _LAUNCHERS:
        words.pop(0)
    if not words:
        return None
    head, rest = Path(words[0]).name, words[1:]
    if head in {"api-server", "scheduler", "dag-processor", "triggerer"}:
        return head
    if head == "celery" and rest:
        return {"worker": "celery-worker", "flower": "flower"}.get(rest[0])
    if head == "smart-office" and rest[:1] == ["dashboard"]:
        return "dashboard"
    return None


def celery_hostname_from_command(argv: Sequence[str]) -> str | None:
    """The value of `--celery-hostname` / `-H` in a worker command, if given."""
    for i, arg in enumerate(argv):
        if arg in {"--celery-hostname", "-H"} and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--celery-hostname="):
            return arg.split("=", 1)[1]
    return None


def main_process_command() -> list[str]:
    """PID 1's argv (the container's command); empty when it cannot be read."""
    try:
        raw = Path("/proc/1/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def http_ok(url: str, timeout: float = 10.0) -> tuple[bool, str]:
    """GET `url` on this host; healthy on a 2xx answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - fixed loopback http URLs
            return 200 <= response.status < 300, f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} answered {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, f"{url} unreachable: {reason}"


def command_ok(command: list[str], timeout: float = 25.0) -> tuple[bool, str]:
    """Run a check command; healthy on exit status 0."""
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{command[0]} failed: {exc}"
    output = (result.stdout + result.stderr).strip().splitlines()
    return result.returncode == 0, output[-1] if output else f"exit status {result.returncode}"


def check(role: str | None, env: dict[str, str], celery_hostname: str | None = None) -> tuple[bool, str]:
    """Health of `role` on this host, configured like the process it checks (same environment)."""
    if role is None:
        return True, "no long-running Airflow role: nothing to check"
    if role == "api-server":
        port = env.get("AIRFLOW__API__PORT", "8080")
        return http_ok(f"http://127.0.0.1:{port}/api/v2/version")
    if role == "scheduler":
        port = env.get("AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT", "8974")
        return http_ok(f"http://127.0.0.1:{port}/health")
    if role in {"dag-processor", "triggerer"}:
        job_type = "DagProcessorJob" if role == "dag-processor" else "TriggererJob"
        return command_ok(["airflow", "jobs", "check", "--job-type", job_type, "--local"])
    if role == "celery-worker":
        destination = celery_hostname or f"celery@{socket.gethostname()}"
        return command_ok(["celery", "--app", CELERY_APP, "inspect", "ping", "--destination", destination])
    if role == "flower":
        return http_ok(f"http://127.0.0.1:{env.get('AIRFLOW__CELERY__FLOWER_PORT', '5555')}/healthcheck")
    if role == "dashboard":
        return http_ok(f"http://127.0.0.1:{env.get('STREAMLIT_SERVER_PORT', '8501')}/_stcore/health")
    return False, f"unknown role {role!r}; expected one of {', '.join(ROLES)}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("role", nargs="?", choices=ROLES, help="default: the role of PID 1's command")
    parser.add_argument("--celery-hostname", help="the worker's Celery node name (default celery@HOSTNAME)")
    args = parser.parse_args(argv)
    command = main_process_command()
    role = args.role or role_from_command(command)
    celery_hostname = args.celery_hostname or celery_hostname_from_command(command)
    healthy, reason = check(role, dict(os.environ), celery_hostname)
    print(f"{role or 'one-off'}: {'healthy' if healthy else 'UNHEALTHY'} ({reason})", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
