from __future__ import annotations

from tests.support.warehouse import postgres_server_url, warehouse_url  # noqa: F401 - fixtures
