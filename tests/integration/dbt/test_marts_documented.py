"""Every column a mart has in the warehouse is described in its YAML, and every column the YAML describes exists
(tests/unit/test_dbt_project_rules.py checks the descriptions; only a build knows the columns)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.migrations import migrate
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow


def test_every_mart_column_is_documented_and_every_documented_column_exists(
    postgres_server_url: str, tmp_path: Path
) -> None:
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        result = run_dbt(["build"], url, capture=True, target_path=tmp_path)
        assert result.returncode == 0, result.stdout[-4000:]
        with psycopg.connect(url) as conn:
            built: dict[str, set[str]] = {}
            for table, column in conn.execute(
                "select table_name, column_name from information_schema.columns where table_schema = 'marts'"
            ):
                built.setdefault(table, set()).add(column)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    documented = {
        node["name"]: {
            name for name, spec in node["columns"].items() if (spec.get("description") or "").strip()
        }
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    }
    assert set(built) == set(documented)
    offenders = [
        f"{mart}.{column}: {why}"
        for mart in sorted(built)
        for column, why in [(c, "not documented") for c in sorted(built[mart] - documented[mart])]
        + [(c, "documented, but the mart has no such column") for c in sorted(documented[mart] - built[mart])]
    ]
    assert not offenders, "\n".join(offenders)
