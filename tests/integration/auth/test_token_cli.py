"""`smart-office token` prints a working access token for other tools, and only when asked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.emulator import EmulatorHandle
from tests.support.partner import seeded_partner_env

CLI = str(Path(sys.executable).parent / "smart-office")


def test_token_command(emulator: EmulatorHandle, warehouse_url: str, tmp_path: Path) -> None:
    env = {**os.environ, **seeded_partner_env(emulator, warehouse_url, tmp_path)}
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
