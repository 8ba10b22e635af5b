"""`dbt docs generate --static` gives one HTML file that works opened from disk: the manifest and the catalog
are inside it, so the browser has nothing to fetch (index.html fetches manifest.json, which file:// blocks)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from smart_office.warehouse.migrations import migrate
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow


def test_static_docs_embed_the_manifest_and_the_catalog(postgres_server_url: str, tmp_path: Path) -> None:
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        result = run_dbt(["docs", "generate", "--static"], url, capture=True, target_path=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    page = (tmp_path / "static_index.html").read_text()
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # dbt fills these placeholders of index.html with the JSON; left in place, the page would fetch the files.
    assert "MANIFEST.JSON INLINE DATA" not in page
    assert "CATALOG.JSON INLINE DATA" not in page
    mart = next(
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["name"] == "dim_customers"
    )
    assert mart["unique_id"] in page
    assert json.dumps(mart["description"])[1:-1] in page
    assert manifest["metadata"]["invocation_id"] in page
