"""Test PostgreSQL: an embedded server by default (the README path), or SMART_OFFICE_WAREHOUSE_URL when set.

Each test that asks for `warehouse_url` gets its own freshly created database, so tests never see each
other's rows and can run in any order.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a server the tests may create databases on."""
    configured = os.environ.get("SMART_OFFICE_WAREHOUSE_URL")
    if configured:
        yield configured
        return
    import pgserver

    data_dir = Path(tempfile.mkdtemp(prefix="smart-office-test-pg-"))
    server = pgserver.get_server(data_dir, cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextlib.contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server, yield its URL, drop it afterwards."""
    name = f"so_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        yield _with_database(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def warehouse_url(postgres_server_url: str) -> Iterator[str]:
    """A brand-new empty database for one test."""
    with fresh_database(postgres_server_url) as url:
        yield url
