"""A partner already set up against the emulator, without the interactive steps: the emulator's admin API
hands out a registered app and a fresh refresh token, stored exactly where `register-app` and `consent`
would put them. For tests of what happens after setup (setup itself is tested with the real flows)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import CLIENT_SECRET_NAME, PostgresSecretStore
from smart_office.warehouse.migrations import migrate
from tests.support.emulator import EmulatorHandle


def seeded_partner_env(handle: EmulatorHandle, warehouse_url: str, folder: Path) -> dict[str, str]:
    """Migrate the warehouse, store the partner app's secret and refresh token, return the SMART_OFFICE_* env."""
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    creds = handle.partner_credentials()
    key = Fernet.generate_key().decode()
    store = PostgresSecretStore(warehouse_url, [key])
    now = datetime.fromisoformat(handle.admin_get("/clock")["now"])
    store.put(CLIENT_SECRET_NAME, creds["client_secret"], issued_at=now, expected_version=None)
    RefreshTokenKeeper(store).initialise(creds["refresh_token"], now)
    endpoints = folder / "endpoints.json"
    endpoints.write_text(json.dumps(handle.endpoints))
    return {
        "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints),
        "SMART_OFFICE_PARTNER_TENANT_ID": handle.partner_tenant_id,
        "SMART_OFFICE_CLIENT_ID": creds["client_id"],
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": key,
        "SMART_OFFICE_WAREHOUSE_URL": warehouse_url,
        # The test's own discovery cache: shared by its runs and processes, never by other tests.
        "SMART_OFFICE_DISCOVERY_CACHE_DIR": str(folder / "discovery-cache"),
    }
