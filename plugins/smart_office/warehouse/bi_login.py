"""Logins for BI tools (Power BI, Superset, psql): a LOGIN role in the marts reader role, with a password.

The reader role (`smart_office_bi_reader`, or SMART_OFFICE_BI_READER_ROLE) reads schema `marts` and nothing
else; dbt grants it SELECT on every mart it builds. A BI login is a member of it, read-only by default (as
the compose deployment makes the dashboard's login), and has a generated password that leaves this module
only to its caller — never to a log. The server never sees it either: libpq hashes it to a SCRAM-SHA-256
verifier on this side (PQencryptPasswordConn, what psql's \\password does), so even a server logging every
statement records only the verifier.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from smart_office.redaction import Secret

log = logging.getLogger(__name__)


class BiLoginError(ValueError):
    """A login that cannot be created, rotated or dropped as asked; the message says why (never a password)."""


@dataclass(frozen=True)
class BiLogin:
    """A BI login just created or rotated; the password is shown once, by the caller."""

    name: str
    reader_role: str
    password: Secret
    rotated: bool


def reader_role_from_env() -> str:
    """The marts reader role's name, as dbt's grants and the dashboard name it (SMART_OFFICE_BI_READER_ROLE)."""
    from smart_office.dashboard.connection import BI_READER_ROLE_ENV, DEFAULT_BI_READER_ROLE

    return os.environ.get(BI_READER_ROLE_ENV, "").strip() or DEFAULT_BI_READER_ROLE


def new_password() -> Secret:
    """32 URL-safe characters: no quoting trouble in a connection string, a BI form or a shell."""
    return Secret(secrets.token_urlsafe(24))


def _role(conn: psycopg.Connection, name: str) -> tuple[bool, bool] | None:
    """(can log in, is a superuser or may create roles) of role `name`, or None if there is none."""
    row = conn.execute(
        "select rolcanlogin, rolsuper or rolcreaterole or rolreplication or rolbypassrls from pg_roles where rolname = %s",
        (name,),
    ).fetchone()
    return None if row is None else (bool(row[0]), bool(row[1]))


def _is_bi_login(conn: psycopg.Connection, name: str, reader_role: str) -> bool:
    """A login, not privileged, whose only role is the reader role: what `create_bi_login` makes. A login
    that is also the loader (Airflow's) is not one, so a rotate or drop can never break the pipeline."""
    role = _role(conn, name)
    if role is None or not role[0] or role[1]:
        return False
    (granted,) = conn.execute(
        """
        select array_agg(granted.rolname::text order by granted.rolname)
        from pg_auth_members as members
        join pg_roles as granted on granted.oid = members.roleid
        join pg_roles as member on member.oid = members.member
        where member.rolname = %s
        """,
        (name,),
    ).fetchone()
    return granted == [reader_role]


def create_bi_login(
    conn: psycopg.Connection, name: str, *, reader_role: str, rotate: bool = False
) -> BiLogin:
    """Create LOGIN role `name` in `reader_role` with a new password (or, with `rotate`, give an existing BI
    login a new one). Refuses a name that exists unless `rotate`, and never rotates a role that is not a BI
    login (a superuser, a login with roles beyond the reader role such as Airflow's, a role outside it)."""
    if not name.strip():
        raise BiLoginError("a login needs a name")
    password = new_password()
    exists = _role(conn, name) is not None
    if exists and not rotate:
        raise BiLoginError(f"role {name!r} exists already; --rotate gives a BI login a new password")
    if exists and not _is_bi_login(conn, name, reader_role):
        raise BiLoginError(
            f"role {name!r} is not a BI login (a login in {reader_role} and nothing more); it is left alone"
        )
    # libpq hashes on this side with the server's password_encryption: only the verifier travels.
    verifier = conn.pgconn.encrypt_password(password.reveal().encode(), name.encode()).decode()
    login, reader = sql.Identifier(name), sql.Identifier(reader_role)
    database = sql.Identifier(conn.info.dbname)
    with conn.transaction():
        if _role(conn, reader_role) is None:
            # dbt's create_warehouse_roles() makes it too; a login may come first.
            conn.execute(sql.SQL("create role {} nologin").format(reader))
        if not exists:
            conn.execute(sql.SQL("create role {} login").format(login))
        conn.execute(
            sql.SQL("alter role {} with login nosuperuser nocreatedb nocreaterole password {}").format(
                login, sql.Literal(verifier)
            )
        )
        conn.execute(sql.SQL("grant {} to {}").format(reader, login))
        conn.execute(sql.SQL("grant connect on database {} to {}").format(database, reader))
        # Read-only even if a grant is ever too wide.
        conn.execute(sql.SQL("alter role {} set default_transaction_read_only = on").format(login))
    log.info("BI login %s %s in role %s", name, "rotated" if exists else "created", reader_role)
    return BiLogin(name=name, reader_role=reader_role, password=password, rotated=exists)


def drop_bi_login(conn: psycopg.Connection, name: str, *, reader_role: str) -> bool:
    """Drop BI login `name`; False if there is no such role. Refuses a role that is not a BI login."""
    if _role(conn, name) is None:
        return False
    if not _is_bi_login(conn, name, reader_role):
        raise BiLoginError(
            f"role {name!r} is not a BI login (a login in {reader_role} and nothing more); it is left alone"
        )
    conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))
    log.info("BI login %s dropped", name)
    return True


def write_password_file(path: Path, password: Secret) -> None:
    """Write the password alone to `path`, readable by its owner only (created 0600, never wider in between)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode through O_CREAT
        os.write(descriptor, (password.reveal() + "\n").encode())
    finally:
        os.close(descriptor)
