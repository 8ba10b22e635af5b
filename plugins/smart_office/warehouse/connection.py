"""Connections to the warehouse, from a PostgreSQL URL that is never logged with its password."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg

WAREHOUSE_URL_ENV = "SMART_OFFICE_WAREHOUSE_URL"


class WarehouseConfigError(ValueError):
    """The warehouse URL is missing or malformed; the message names the setting."""


def warehouse_url_from_env() -> str | None:
    url = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
    if not url:
        return None
    if urlsplit(url).scheme not in {"postgresql", "postgres"}:
        raise WarehouseConfigError(f"{WAREHOUSE_URL_ENV} must be a postgresql:// URL, got {safe_url(url)!r}")
    return url


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def connect(
    url: str, *, autocommit: bool = False, application_name: str = "smart-office"
) -> psycopg.Connection:
    """Open a connection; errors name the URL without its password."""
    try:
        return psycopg.connect(url, autocommit=autocommit, application_name=application_name)
    except psycopg.OperationalError as exc:
        raise psycopg.OperationalError(f"cannot connect to warehouse {safe_url(url)}: {exc}") from None
