"""`smart-office token` prints a working access token for other tools, and only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
from cryptography.fernet import Fernet

from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import CLIENT_SECRET_NAME, PostgresSecretStore
from smart_office.warehouse.migrations import migrate
from tests.support.emulator import EmulatorHandle

CLI = str(Path(sys.executable).parent / "smart-office")


def test_token_command(emulator: EmulatorHandle, warehouse_url: str, tmp_path: Path) -> None:
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    creds = emulator.partner_credentials()
    key = Fernet.generate_key().decode()
    store = PostgresSecretStore(warehouse_url, [key])
    now = datetime.fromisoformat(emulator.admin_get("/clock")["now"])
    store.put(CLIENT_SECRET_NAME, creds["client_secret"], issued_at=now, expected_version=None)
    RefreshTokenKeeper(store).initialise(creds["refresh_token"], now)
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(json.dumps(emulator.endpoints))
    env = {
        **os.environ,
        "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints),
        "SMART_OFFICE_PARTNER_TENANT_ID": emulator.partner_tenant_id,
        "SMART_OFFICE_CLIENT_ID": creds["client_id"],
        "SMART_OFFICE_TOKEN_STORE_KEY": key,
        "SMART_OFFICE_WAREHOUSE_URL": warehouse_url,
    }
    customer = emulator.customer_where(can_read_security=True, baked_fault=None)
    result = subprocess.run(
        [
            CLI,
            "token",
            "--tenant",
            customer["tenant_id"],
            "--resource",
            "https://graph.microsoft.com",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed["tenant_id"] == customer["tenant_id"]
    assert printed["scope"] == "https://graph.microsoft.com/.default"
    response = emulator.http_session().get(
        f"{emulator.graph}/v1.0/security/secureScores?$top=1",
        headers={"Authorization": f"Bearer {printed['access_token']}"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["value"][0]["azureTenantId"] == customer["tenant_id"]
    # A customer-level failure is a clear message with the remediation, and no token.
    emulator.add_fault(kind="consent_revoked", service="identity", tenant=customer["tenant_id"])
    failed = subprocess.run(
        [CLI, "token", "--tenant", customer["tenant_id"], "--resource", "https://graph.microsoft.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert failed.returncode == 1
    assert "consent_required" in failed.stderr
    assert failed.stdout == ""
