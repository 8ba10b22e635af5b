"""scripts/healthcheck.py: which role a container plays, and the probes against real local servers.
(The distributed-run test also uses it to decide when the api-server, scheduler and workers are up.)"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.deploy.cluster import free_port
from tests.deploy.healthcheck_script import healthcheck


@contextmanager
def http_server(path: str, status: int) -> Iterator[int]:
    """A loopback HTTP server answering `status` on `path` and 404 elsewhere; yields its port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status if self.path == path else 404)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("argv", "role"),
    [
        (["/usr/bin/dumb-init", "--", "/entrypoint", "api-server"], "api-server"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "scheduler"], "scheduler"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "airflow", "dag-processor"], "dag-processor"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "triggerer"], "triggerer"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "celery", "worker"], "celery-worker"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "celery", "flower"], "flower"),
        (["/usr/bin/dumb-init", "--", "smart-office", "dashboard"], "dashboard"),
        (["/usr/bin/dumb-init", "--", "/home/airflow/.local/bin/smart-office", "dashboard"], "dashboard"),
        (["/usr/bin/dumb-init", "--", "/entrypoint", "bash", "-c", "airflow db migrate"], None),
        (["/usr/bin/dumb-init", "--", "smart-office", "consent"], None),
        ([], None),
    ],
)
def test_the_role_is_read_from_the_containers_command(argv: list[str], role: str | None) -> None:
    assert healthcheck.role_from_command(argv) == role


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["celery", "worker", "--celery-hostname", "worker-a@host"], "worker-a@host"),
        (["celery", "worker", "--celery-hostname=worker-b@host"], "worker-b@host"),
        (["celery", "worker", "-H", "w@h"], "w@h"),
        (["celery", "worker"], None),
    ],
)
def test_the_celery_node_name_is_read_from_the_worker_command(argv: list[str], name: str | None) -> None:
    assert healthcheck.celery_hostname_from_command(argv) == name


@pytest.mark.parametrize(
    ("role", "path", "port_variable"),
    [
        ("api-server", "/api/v2/version", "AIRFLOW__API__PORT"),
        ("scheduler", "/health", "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT"),
        ("dashboard", "/_stcore/health", "STREAMLIT_SERVER_PORT"),
        ("flower", "/healthcheck", "AIRFLOW__CELERY__FLOWER_PORT"),
    ],
)
@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_http_roles_are_healthy_only_on_a_2xx(
    role: str, path: str, port_variable: str, status: int, healthy: bool
) -> None:
    with http_server(path, status) as port:
        ok, reason = healthcheck.check(role, {port_variable: str(port)})
    assert ok is healthy
    assert reason == f"http://127.0.0.1:{port}{path} answered {status}"


def test_a_role_whose_port_is_closed_is_unhealthy() -> None:
    port = free_port()
    ok, reason = healthcheck.check("api-server", {"AIRFLOW__API__PORT": str(port)})
    assert not ok
    assert reason.startswith(f"http://127.0.0.1:{port}/api/v2/version unreachable")


def test_command_roles_follow_the_exit_status() -> None:
    assert healthcheck.command_ok(["true"]) == (True, "exit status 0")
    assert healthcheck.command_ok(["sh", "-c", "echo no scheduler job; exit 1"]) == (
        False,
        "no scheduler job",
    )
    assert healthcheck.command_ok(["/nonexistent/airflow"])[0] is False


def test_main_exits_nonzero_for_an_unhealthy_role(monkeypatch: pytest.MonkeyPatch) -> None:
    with http_server("/_stcore/health", 200) as port:
        monkeypatch.setenv("STREAMLIT_SERVER_PORT", str(port))
        assert healthcheck.main(["dashboard"]) == 0
    monkeypatch.setenv("STREAMLIT_SERVER_PORT", str(free_port()))
    assert healthcheck.main(["dashboard"]) == 1
    with pytest.raises(SystemExit):
        healthcheck.main(["webserver"])  # not a role of this image
