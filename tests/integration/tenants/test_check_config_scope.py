"""`smart-office check-config` ends a good configuration's report with the scope of the next run."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet

from smart_office.preflight import main
from smart_office.tenants.registry import TenantRegistry
from smart_office.warehouse.migrations import migrate


@pytest.fixture
def configured(warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    manifest = tmp_path / "manifest.json"
    manifest.write_text("{}")
    for key in list(os.environ):
        if key.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_SMART_OFFICE")):
            monkeypatch.delenv(key)
    for key, value in {
        "SMART_OFFICE_PARTNER_TENANT_ID": "00000000-0000-4000-8000-000000000001",
        "SMART_OFFICE_CLIENT_ID": "00000000-0000-4000-8000-000000000002",
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": Fernet.generate_key().decode(),
        "SMART_OFFICE_DBT_MANIFEST": str(manifest),
        "SMART_OFFICE_WAREHOUSE_URL": warehouse_url,
    }.items():
        monkeypatch.setenv(key, value)
    return warehouse_url


def test_scope_is_reported_once_the_configuration_is_good(
    configured: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(attempts=1) == 0
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "configuration: OK",
        "scope: unknown until the warehouse is migrated (`smart-office migrate`)",
    ]
    with psycopg.connect(configured, autocommit=True) as conn:
        migrate(conn)
        registry = TenantRegistry(conn)
        registry.include("11111111-2222-4333-8444-555555555555", by="ana")
        registry.add("6f1d7c3e-0b1a-4c55-9e0e-3a4b5c6d7e8f", credential="app_only", by="ana")
        registry.exclude("99999999-8888-4777-8666-555555555555", by="ana", reason="left")
    assert main(attempts=1) == 0
    assert (
        capsys.readouterr().err.splitlines()[-1]
        == "scope: no run yet; 1 direct tenant, pilot of 1, 1 excluded"
    )
