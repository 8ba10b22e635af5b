"""bench/peer_dlt.py's own logic — the ratio table, the per-tenant request count, the dlt project directory — and
that the dlt pipeline script it runs is valid Python. dlt itself never runs here (it lives in the benchmark's
own virtualenv, not the project's)."""

from __future__ import annotations

import ast
import stat
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import peer_dlt  # noqa: E402


def _runs() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        "project": {
            "first": {"wall_s": 10.0, "rows": 100, "requests_per_tenant": 2.0, "max_process_rss_mb": 100.0},
            "daily": {"wall_s": 2.0, "rows": 10, "requests_per_tenant": 2.0, "max_process_rss_mb": 0},
        },
        "dlt": {
            "first": {"wall_s": 40.0, "rows": 100, "requests_per_tenant": 9.0, "max_process_rss_mb": 250.0},
            "daily": {"wall_s": 7.0, "rows": 5, "requests_per_tenant": 5.0, "max_process_rss_mb": 90.0},
        },
    }


def test_ratios_are_the_other_side_over_the_project() -> None:
    rows = {(r["run"], r["metric"]): r for r in peer_dlt.ratio_table(_runs())}
    assert rows[("first", "wall s")]["ratios"] == {"dlt": 4.0}
    assert rows[("daily", "wall s")]["ratios"] == {"dlt": 3.5}
    assert rows[("daily", "rows")]["ratios"] == {"dlt": 0.5}
    assert rows[("first", "requests/tenant")]["values"] == {"project": 2.0, "dlt": 9.0}
    # A zero or missing measurement gives no ratio rather than a division error.
    assert rows[("daily", "max process RSS MB")]["ratios"] == {"dlt": None}
    assert rows[("first", "emulator CPU s")]["ratios"] == {"dlt": None}


def test_a_run_the_project_did_not_make_is_left_out() -> None:
    runs = _runs()
    del runs["project"]["daily"]
    assert {r["run"] for r in peer_dlt.ratio_table(runs)} == {"first"}


def test_the_table_has_a_column_per_side_and_per_ratio() -> None:
    text = peer_dlt.format_table(peer_dlt.ratio_table(_runs()))
    header, *lines = text.splitlines()
    assert header.split() == ["run", "metric", "project", "dlt", "dlt/project"]
    wall = next(line for line in lines if line.startswith("first  wall s"))
    assert wall.split() == ["first", "wall", "s", "10.00", "40.00", "4.00"]
    assert peer_dlt.format_table([]) == ""


def test_round_trips_per_tenant_counts_customer_tenants_only() -> None:
    partner = "p"
    stats = {
        "endpoints": [
            {"service": "graph", "endpoint": "/v1.0/$batch", "tenant": "a", "requests": 1, "batched": 0},
            {
                "service": "graph",
                "endpoint": "/security/alerts_v2",
                "tenant": "a",
                "requests": 4,
                "batched": 3,
            },
            {
                "service": "identity",
                "endpoint": "/{tenant}/token",
                "tenant": "b",
                "requests": 2,
                "batched": 0,
            },
            {
                "service": "partner_center",
                "endpoint": "/v1/customers",
                "tenant": partner,
                "requests": 5,
                "batched": 0,
            },
            {"service": "identity", "endpoint": "/discovery", "tenant": None, "requests": 7, "batched": 0},
        ]
    }
    # a: the $batch and one page outside it; b: its token. $batch items and the partner's requests do not count.
    assert peer_dlt.round_trips_per_tenant(stats, partner, tenants=2) == 2.0


def test_the_dlt_secrets_file_is_private_and_carries_a_password(tmp_path: Path) -> None:
    endpoints = {"identity": "https://127.0.0.1:1", "graph": "https://127.0.0.1:2"}
    creds = {"client_id": "c", "client_secret": "s", "refresh_token": "r"}
    work = peer_dlt._dlt_workdir(
        tmp_path, "dlt", endpoints, creds, "postgresql://postgres@127.0.0.1:5432/x", True
    )
    secrets = work / ".dlt" / "secrets.toml"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    text = secrets.read_text()
    assert 'refresh_token = "r"' in text
    assert "postgresql://postgres:trust@127.0.0.1:5432/x" in text
    config = (work / ".dlt" / "config.toml").read_text()
    assert "[normalize]" in config
    assert 'graph = "https://127.0.0.1:2"' in config


def test_the_dlt_pipeline_script_is_valid_python() -> None:
    source = peer_dlt.DLT_SCRIPT.read_text()
    compile(source, str(peer_dlt.DLT_SCRIPT), "exec")
    # It must stand alone in the dlt virtualenv: nothing of the project's own is imported.
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name.split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not imported & {"smart_office", "smart_office_demo", "emulator", "extract_throughput"}
    assert {"dlt", "msal"} <= imported
