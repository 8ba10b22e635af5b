"""The demo tags the emulated customers deterministically, through `smart-office segments import`."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest

from smart_office.warehouse.migrations import migrate
from smart_office_demo import demo
from smart_office_demo.segments import emulated_customers, segments_csv
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration


def test_the_demo_imports_the_same_segments_for_every_emulated_customer(
    emulator: EmulatorHandle, warehouse_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = emulated_customers(emulator.endpoints)
    assert len(customers) == 25
    assert segments_csv(reversed(customers)) == segments_csv(customers)  # deterministic, whatever the order
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
    monkeypatch.delenv("SMART_OFFICE_WAREHOUSE_AUTH", raising=False)
    env = {**os.environ, "SMART_OFFICE_WAREHOUSE_URL": warehouse_url}

    path = demo.tag_segments(emulator.endpoints, env, tmp_path)

    assert path.read_text() == segments_csv(customers)
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute(
            "select attribute_key, count(distinct tenant_id), count(distinct attribute_value), min(set_by)"
            " from ops.customer_attributes group by attribute_key order by attribute_key"
        ).fetchall()
    assert [(key, tenants, by) for key, tenants, _, by in rows] == [
        ("contract_tier", 25, "smart-office-demo"),
        ("industry", 25, "smart-office-demo"),
        ("service_model", 25, "smart-office-demo"),
    ]
    assert all(values > 1 for _, _, values, _ in rows)  # the segments differ between customers
