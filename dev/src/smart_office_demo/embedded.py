"""An embedded PostgreSQL (the `pgserver` wheel) for the demo when no warehouse URL is given.

pgserver starts the server on a Unix socket only. A BI tool (Power BI, Superset) needs TCP, so with a
`listen_port` the server is restarted listening on 127.0.0.1 as well — and since pgserver's cluster trusts
every login, the TCP lines of pg_hba.conf are switched to SCRAM passwords first: the socket stays the demo's
own trusted door, the TCP port admits only logins with a password (`smart-office bi-login create`).
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from types import ModuleType
from urllib.parse import quote

log = logging.getLogger(__name__)

LISTEN_HOST = "127.0.0.1"
# pg_hba.conf lines for TCP clients (`host`, `hostssl`, `hostnossl`) whose method is trust.
_TRUSTED_TCP_LINE = re.compile(r"^(\s*host(?:ssl|nossl)?\s.*\s)trust(\s*(?:#.*)?)$", re.MULTILINE)


def _pgserver() -> ModuleType:
    """Import pgserver without its `XDG_RUNTIME_DIR is not set` warning.

    pgserver asks platformdirs for a runtime directory when it is imported (for an inter-process lock);
    without XDG_RUNTIME_DIR (root shells, containers, CI) platformdirs falls back to /tmp/runtime-<uid>,
    which serves the lock as well, and warns about it on every demo start.
    """
    from platformdirs.api import RuntimeDirWarning  # type: ignore[attr-defined]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeDirWarning)
        import pgserver  # heavy: the PostgreSQL binaries' wrapper; only when really embedding
    return pgserver


def start_embedded_postgres(
    data_dir: Path, *, keep_running: bool = True, listen_port: int | None = None
) -> str:
    """Start (or reuse) a PostgreSQL cluster in `data_dir` and return its (socket) URL.

    With keep_running the server outlives this process, so the demo's dashboard and a later `make demo`
    find their data again; the same data_dir always maps to the same server. With `listen_port` it also
    listens on 127.0.0.1:listen_port, where logins need a password.
    """
    pgserver = _pgserver()
    data_dir = data_dir.expanduser().resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode=None if keep_running else "stop")
    # From postmaster.pid, not pgserver's handle: that remembers how this process first found the server.
    info = pgserver.utils.PostmasterInfo.read_from_pgdata(data_dir)
    wanted_host, wanted_port = (LISTEN_HOST, listen_port) if listen_port else (None, info.port)
    if info.hostname != wanted_host or info.port != wanted_port:
        # Running otherwise than asked now (another port, or on TCP no longer wanted): restart it as asked.
        if listen_port:
            _check_port_free(listen_port)
            _require_passwords_over_tcp(data_dir)
        host = LISTEN_HOST if listen_port else '""'
        _pg_ctl(
            server,
            [
                "-w",
                "-o",
                f"-h {host} -p {wanted_port} -k {info.socket_dir}",
                "-l",
                str(server.log),
                "restart",
            ],
        )
        info = pgserver.utils.PostmasterInfo.read_from_pgdata(data_dir)
        if listen_port:
            log.info("embedded PostgreSQL listening on %s:%d", LISTEN_HOST, listen_port)
    log.info("embedded PostgreSQL running from %s", data_dir)
    return socket_url(info.socket_dir, info.port)


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be run as asked; the message says why and which setting to change."""


def _check_port_free(port: int) -> None:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind((LISTEN_HOST, port))
        except OSError:
            raise EmbeddedPostgresError(
                f"{LISTEN_HOST}:{port} is in use: choose another SMART_OFFICE_DEMO_PORT"
            ) from None


def socket_url(socket_dir: Path, port: int | None) -> str:
    """The superuser's URL over the socket; the port names the socket file (.s.PGSQL.<port>)."""
    url = f"postgresql://postgres@/postgres?host={quote(str(socket_dir), safe='/')}"
    return f"{url}&port={port}" if port and port != 5432 else url


def _require_passwords_over_tcp(data_dir: Path) -> None:
    hba = data_dir / "pg_hba.conf"
    text = hba.read_text()
    changed = _TRUSTED_TCP_LINE.sub(r"\1scram-sha-256\2", text)
    if changed != text:
        hba.write_text(changed)  # keeps the file's owner (pgserver's own user when run as root)


def _pg_ctl(server: object, args: list[str]) -> None:
    from pgserver import _commands  # type: ignore[import-untyped]

    # As the system user pgserver runs the cluster as (its own `pgserver` user when we are root).
    _commands.pg_ctl(args, pgdata=server.pgdata, user=server.system_user, timeout=30)  # type: ignore[attr-defined]


def stop_embedded_postgres(data_dir: Path) -> bool:
    """Stop the server of `data_dir` if one runs; True if it did. Never starts one, so it is safe to repeat."""
    data_dir = data_dir.expanduser().resolve()
    if not (data_dir / "PG_VERSION").exists():
        return False
    pgserver = _pgserver()
    info = pgserver.utils.PostmasterInfo.read_from_pgdata(data_dir)
    if info is None or not info.is_running() or info.process.name() != "postgres":
        return False  # none, or a stale postmaster.pid whose number another process has now
    import signal

    # SIGINT is PostgreSQL's fast shutdown (what `pg_ctl stop -m fast` sends); signalling the postmaster
    # directly needs no access to the data directory's path, which pg_ctl as pgserver's user may lack.
    info.process.send_signal(signal.SIGINT)
    info.process.wait(timeout=60)
    return True
