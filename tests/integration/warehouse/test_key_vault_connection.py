"""The warehouse connection from Key Vault through Airflow's own AzureKeyVaultBackend (the provider this project
pins), configured as the deployment files configure it, against the emulator's vault: the translator (what
the operators, the CLI and check-config use) resolves it like any other Airflow connection.

How the backend's credential reaches the emulator, and why through workload identity:
tests/support/secrets_backend.py. The DAG with its connection from the vault: tests/dags/test_dag_login_methods.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator import EmulatorHandle
from tests.support.secrets_backend import key_vault_backend_env, store_airflow_connection

pytestmark = pytest.mark.integration

RESOLVE = (
    "from smart_office.warehouse.connection import check_warehouse, resolve_warehouse\n"
    "target = resolve_warehouse()\n"
    "check_warehouse(target)\n"
    "print(target.origin)\n"
    "print(target.display)\n"
)


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SMART_OFFICE_", "AIRFLOW_CONN_", "AIRFLOW__", "AZURE_"))
    }
    return {**env, "AIRFLOW_HOME": str(tmp_path / "airflow"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def test_the_warehouse_connection_comes_from_key_vault(
    emulator: EmulatorHandle,
    postgres_server_url: str,
    tmp_path: Path,
) -> None:
    from smart_office.warehouse.connection import target_from_url

    target = target_from_url(postgres_server_url)
    name = store_airflow_connection(emulator, "smart_office_warehouse", target.airflow_connection())
    assert name == "airflow-connections-smart-office-warehouse"
    env = {**_clean_env(tmp_path), **key_vault_backend_env(emulator, tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", RESOLVE], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    origin, display = result.stdout.strip().splitlines()[-2:]
    assert origin == "Airflow connection 'smart_office_warehouse'"
    assert display == target.display


def test_a_missing_secret_is_reported_as_an_unconfigured_warehouse(
    emulator: EmulatorHandle, tmp_path: Path
) -> None:
    env = {**_clean_env(tmp_path), **key_vault_backend_env(emulator, tmp_path)}
    script = RESOLVE.replace("smart_office_warehouse", "x").replace(
        "resolve_warehouse()", "resolve_warehouse(conn_id='not_in_the_vault')"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "AIRFLOW_CONN_NOT_IN_THE_VAULT: no warehouse configured" in result.stderr
    assert "Traceback" not in result.stderr.split("WarehouseConfigError")[-1]
