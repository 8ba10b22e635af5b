"""What dbt needs to log in as the translator does, for both ways dbt runs (`smart-office dbt` and Cosmos).

dbt-postgres requires host, port, user, password and dbname in its profile and passes each of them to libpq
explicitly — an empty password included, which stops libpq from reading `PGPASSWORD` or a service file's
password, and a profile cannot say `service=` at all. So before every dbt invocation the translator logs in
once itself (which is also the fail-fast check: a refused login is one line, not ten minutes of dbt
retries) and hands dbt what libpq resolved for that login: the server's host, port, user and database; the
password libpq used (from the URL, PGPASSWORD, a service file, .pgpass, or the Entra token of this
invocation), for an environment variable of the dbt process — never a file; and every other parameter
(sslmode, sslrootcert, sslcert, sslkey, target_session_attrs, …) as the libpq environment variable dbt's
libpq reads, since dbt passes those only when its profile sets them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from smart_office.redaction import Secret
from smart_office.warehouse.connection import (
    DEFAULT_CONNECT_TIMEOUT,
    WarehouseTarget,
    as_target,
    connect,
    libpq_env_vars,
)

log = logging.getLogger(__name__)

# Given to dbt through its profile, not the environment.
_PROFILE_KEYS = frozenset(
    {"host", "port", "user", "dbname", "password", "connect_timeout", "keepalives_idle"}
)
# Resolved already (the service file's values are in the profile), or dbt's own (application_name).
_NOT_FORWARDED = frozenset({"service", "application_name", "fallback_application_name"})
# libpq reports these even when they only echo the login (the address it connected to, the default
# password file): forwarded only when the configuration names them.
_ONLY_IF_CONFIGURED = frozenset({"hostaddr", "passfile"})


@dataclass(frozen=True)
class DbtLogin:
    """A dbt-postgres login: profile fields, the password (for an env var) and libpq variables for the rest."""

    host: str
    port: int
    user: str
    dbname: str
    password: Secret = field(repr=False)
    libpq_env: dict[str, str] = field(default_factory=dict)
    connect_timeout: int = 10
    keepalives_idle: int | None = None


def dbt_login(target: WarehouseTarget | str) -> DbtLogin:
    """Log in once (raises the translator's one-line errors) and return how dbt logs in the same way."""
    target = as_target(target)
    with connect(target, autocommit=True, application_name="smart-office-dbt-check") as conn:
        conn.execute("select 1")
        info = conn.info
        resolved = info.get_parameters()
        host, port, user, dbname = info.host, info.port, info.user, info.dbname
        password = info.password or ""
    env_vars = libpq_env_vars()
    libpq_env: dict[str, str] = {}
    dropped = []
    for key, value in resolved.items():
        if (
            key in _PROFILE_KEYS
            or key in _NOT_FORWARDED
            or (key in _ONLY_IF_CONFIGURED and key not in target.params)
        ):
            continue
        if key in env_vars:
            libpq_env[env_vars[key]] = value
        else:
            dropped.append(key)
    if dropped:
        # No profile field and no environment variable reaches dbt's libpq with these.
        log.warning("dbt-postgres cannot pass libpq parameter(s) %s; dbt connects without them", dropped)
    timeout = resolved.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)
    keepalives = resolved.get("keepalives_idle")
    return DbtLogin(
        host=host,
        port=int(port),
        user=user,
        dbname=dbname,
        password=Secret(password),
        libpq_env=libpq_env,
        connect_timeout=int(timeout) if timeout.isdigit() else int(DEFAULT_CONNECT_TIMEOUT),
        keepalives_idle=int(keepalives) if keepalives and keepalives.isdigit() else None,
    )
