"""`make docs` (`smart-office-demo docs`) from a fresh clone: no warehouse configured, none running — the demo's
embedded PostgreSQL is started and migrated, and dbt's docs come out as one file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smart_office.warehouse.connection import WAREHOUSE_URL_ENV
from smart_office_demo.embedded import stop_embedded_postgres

pytestmark = pytest.mark.integration

DEMO = str(Path(sys.executable).parent / "smart-office-demo")


@pytest.fixture
def state() -> Iterator[Path]:
    # Under /tmp itself, as tests/support/warehouse.py's server: run as root, pgserver hands the cluster to an
    # unprivileged user, who cannot enter pytest's tmp_path (mode 0700).
    folder = Path(tempfile.mkdtemp(prefix="smart-office-test-docs-"))
    yield folder
    stop_embedded_postgres(folder / "warehouse")
    shutil.rmtree(folder, ignore_errors=True)


def test_docs_are_generated_without_a_warehouse_or_migrations(state: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != WAREHOUSE_URL_ENV}
    target = tmp_path / "target"
    result = subprocess.run(
        [DEMO, "docs", "--target-path", str(target)],
        env={**env, "SMART_OFFICE_STATE_DIR": str(state), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    page = (target / "static_index.html").read_text()
    assert "MANIFEST.JSON INLINE DATA" not in page
    assert "CATALOG.JSON INLINE DATA" not in page
    # The catalog read the migrated warehouse: a source table's columns are in it.
    assert '"source.smart_office.' in page
    assert '"model.smart_office.dim_customers"' in page
