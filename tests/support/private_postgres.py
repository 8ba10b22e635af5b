"""A PostgreSQL cluster of the test's own, so the test controls pg_hba.conf and TLS: one login method per role.

The cluster is initdb'd into a fresh directory on a free port with the first PostgreSQL binaries found: the
machine's (Debian's /usr/lib/postgresql/*/bin, or `pg_config --bindir`), else the `pgserver` wheel's. Only a
build with OpenSSL can serve `hostssl`/`cert` logins, so TLS needs the former. initdb refuses to run as
root: as root, the server runs as an unprivileged user (`postgres`, else `pgserver`) that owns the data
directory; the client side (the test and the product) keeps running as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql


def _bindirs() -> list[Path]:
    found = [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            found.append(Path(result.stdout.strip()))
    try:
        import pgserver._commands as commands

        found.append(Path(commands.POSTGRES_BIN_PATH))
    except ImportError:
        pass
    return [d for d in dict.fromkeys(found) if (d / "initdb").exists() and (d / "pg_ctl").exists()]


def _has_ssl(bindir: Path) -> bool:
    pg_config = bindir / "pg_config"
    if not pg_config.exists():
        return False
    configure = subprocess.run(
        [str(pg_config), "--configure"], capture_output=True, text=True, check=False
    ).stdout
    return "--with-openssl" in configure or "--with-ssl=openssl" in configure


def postgres_bindir(*, ssl: bool = False) -> Path | None:
    """The first usable bin directory (with OpenSSL when `ssl`), or None."""
    return next((d for d in _bindirs() if not ssl or _has_ssl(d)), None)


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "pgserver"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise RuntimeError("running as root, but there is no `postgres` or `pgserver` user to run PostgreSQL as")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServerTls:
    """The server's certificate chain and key, and the CA its clients' certificates must come from."""

    cert_chain: bytes
    private_key: bytes
    client_ca: bytes


@dataclass
class PrivateCluster:
    bindir: Path
    data_dir: Path
    port: int
    user: pwd.struct_passwd | None
    log_file: Path

    @property
    def socket_dir(self) -> str:
        return str(self.data_dir)

    def admin(self, dbname: str = "postgres") -> psycopg.Connection:
        """The superuser over the local socket (trusted)."""
        return psycopg.connect(
            host=self.socket_dir, port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def _run(self, *args: str) -> None:
        kwargs = (
            {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []} if self.user else {}
        )
        result = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            **kwargs,  # type: ignore[arg-type]
        )
        if result.returncode != 0:
            log = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {result.stdout}{result.stderr}\n{log}")

    def _write_server_file(self, name: str, data: bytes, mode: int = 0o600) -> None:
        path = self.data_dir / name
        path.write_bytes(data)
        path.chmod(mode)
        if self.user:
            os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def set_hba(self, lines: Sequence[str]) -> None:
        """Replace pg_hba.conf (the local socket stays trusted for the test's superuser) and reload."""
        self._write_server_file("pg_hba.conf", ("\n".join(["local all all trust", *lines]) + "\n").encode())
        with self.admin() as conn:
            conn.execute("select pg_reload_conf()")
            errors = conn.execute(
                "select line_number, error from pg_hba_file_rules where error is not null"
            ).fetchall()
        if errors:
            raise RuntimeError(f"pg_hba.conf: {errors}")

    def create_login(self, role: str, *, password: str | None = None, database: str | None = None) -> None:
        """A login role (with a SCRAM password if given) owning `database` (created empty)."""
        with self.admin() as conn:
            conn.execute(sql.SQL("create role {} login").format(sql.Identifier(role)))
            if password is not None:
                # The verifier is computed by the server from the password (scram-sha-256 by default).
                conn.execute(
                    sql.SQL("alter role {} password {}").format(sql.Identifier(role), sql.Literal(password))
                )
            if database:
                conn.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(database), sql.Identifier(role)
                    )
                )

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")


@contextlib.contextmanager
def private_cluster(*, tls: ServerTls | None = None, bindir: Path | None = None) -> Iterator[PrivateCluster]:
    """initdb + start a cluster (TLS on when `tls`), yield it, stop and delete it afterwards."""
    bindir = bindir or postgres_bindir(ssl=tls is not None)
    if bindir is None:
        raise RuntimeError("no PostgreSQL binaries" + (" with OpenSSL" if tls else "") + " on this machine")
    user = _server_user()
    # Under /tmp, not pytest's tmp_path: that one is private to root, and the server's user must reach it.
    base = Path(tempfile.mkdtemp(prefix="so-pg-"))
    data_dir = base / "data"
    data_dir.mkdir(mode=0o700)
    if user:
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    cluster = PrivateCluster(
        bindir=bindir, data_dir=data_dir, port=free_port(), user=user, log_file=base / "server.log"
    )
    try:
        cluster._run(
            "initdb", "-D", str(data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C",
        )  # fmt: skip
        settings = [
            f"port = {cluster.port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{data_dir}'",
            "password_encryption = 'scram-sha-256'",
            # A test cluster: durability buys nothing here.
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 200",
        ]
        if tls is not None:
            cluster._write_server_file("server.crt", tls.cert_chain)
            cluster._write_server_file("server.key", tls.private_key)
            cluster._write_server_file("client-ca.crt", tls.client_ca)
            settings += ["ssl = on", "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'",
                         "ssl_ca_file = 'client-ca.crt'"]  # fmt: skip
        with (data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        if user:
            os.chown(base, user.pw_uid, user.pw_gid)
        cluster._write_server_file("pg_hba.conf", b"local all all trust\n")
        cluster._run("pg_ctl", "-D", str(data_dir), "-l", str(cluster.log_file), "-w", "-t", "60", "start")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
