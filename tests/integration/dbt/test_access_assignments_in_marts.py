"""dim_customers classifies GDAP access assignments as discovery did: on the emulator's portfolio, the customers
whose security roles reach no security group are `gdap_roles_unassigned` in the mart, not extractable, with
the remedy — the same function, on the landed assignments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from smart_office.pipeline import check_partner_token, discover_customers, prepare_warehouse
from smart_office.settings import Settings
from tests.integration.extract.test_access_assignments import NOW, SEED, TENANTS, _unassigned
from tests.support.emulator import EmulatorHandle
from tests.support.partner import seeded_partner_env
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.integration


def test_dim_customers_agrees_with_discovery_on_unassigned_roles(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> None:
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW, fault_profile="none")
    with fresh_database(postgres_server_url) as url:
        settings = Settings.from_env(seeded_partner_env(handle, url, tmp_path))
        now = datetime.fromisoformat(handle.admin_get("/clock")["now"])
        prepare_warehouse(settings)
        check_partner_token(settings, as_of=now)
        discover_customers(settings, run_id="run-1", as_of=now)
        built = run_dbt(
            ["build", "--select", "+dim_customers", "--indirect-selection", "cautious"],
            url,
            capture=True,
            target_path=tmp_path / "target",
        )
        assert built.returncode == 0, built.stdout[-3000:]
        with psycopg.connect(url) as conn:
            snapshot = set(
                conn.execute(
                    "select tenant_id::text, access_state from ops.customer_snapshots where run_id = 'run-1'"
                ).fetchall()
            )
            dimension = conn.execute(
                "select tenant_id::text, access_state, is_extractable, access_remedy from marts.dim_customers"
            ).fetchall()
    assert {(t, s) for t, s, _, _ in dimension} == snapshot
    unassigned = {t: (e, r) for t, s, e, r in dimension if s == "gdap_roles_unassigned"}
    assert set(unassigned) == set(_unassigned(now))
    for extractable, remedy in unassigned.values():
        assert extractable is False
        assert "Admin relationships → the relationship → Assign" in remedy
    assert all(r is None for _, s, _, r in dimension if s in {"gdap", "dap"})
