"""A selective rebuild of a mart (`dbt build -s fct_secure_scores`, as an operator or one Cosmos task runs it) leaves
every relation the full build made in place.

dbt-postgres replaces a table by renaming it to a backup and dropping the backup with cascade, so a view that
reads a mart would be dropped with it — and stay dropped until the next full build. The intermediate models that
read marts are ephemeral for that reason; this rebuilds each mart they read and compares the warehouse's
relations before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from smart_office.dbt_runner import run_dbt
from tests.support.marts_data import MartsDataSpec, warehouse_with_rules

pytestmark = pytest.mark.slow

SPEC = MartsDataSpec(tenants=4, history_days=10, runs=2)
DBT_SCHEMAS = ("staging", "intermediate", "marts")


@pytest.fixture(scope="module")
def built_warehouse(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """(url, dbt target path) of a warehouse of generated customers and the default posture rules, fully built."""
    target = tmp_path_factory.mktemp("dbt-selective") / "target"
    with warehouse_with_rules(request.getfixturevalue("postgres_server_url"), target, SPEC) as url:
        yield url, target


def _relations(url: str) -> set[tuple[str, str, str]]:
    """(schema, name, kind) of every table and view in dbt's schemas."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select n.nspname, c.relname, c.relkind::text from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = any(%s) and c.relkind in ('r', 'v', 'm', 'p')",
            (list(DBT_SCHEMAS),),
        ).fetchall()
    return {(schema, name, kind) for schema, name, kind in rows}


def _marts_read_by_intermediate_models(target: Path) -> list[str]:
    """The marts any intermediate model reads, from the manifest the build wrote."""
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    marts = {
        parent.split(".")[-1]
        for node in nodes.values()
        if node["resource_type"] == "model" and node["original_file_path"].startswith("models/intermediate/")
        for parent in node["depends_on"]["nodes"]
        if parent in nodes and nodes[parent]["original_file_path"].startswith("models/marts/")
    }
    return sorted(marts)


def test_rebuilding_the_marts_intermediate_models_read_keeps_every_relation(
    built_warehouse: tuple[str, Path],
) -> None:
    url, target = built_warehouse
    marts = _marts_read_by_intermediate_models(target)
    # The models this guards: the posture rules' scope and conditions, segments, opportunities.
    assert {"fct_secure_scores", "dim_customers", "dim_customer_segments", "fct_alerts"} <= set(marts)
    before = _relations(url)
    assert ("marts", "fct_posture_events", "r") in before
    assert ("intermediate", "int_control_states_historized", "v") in before

    for mart in marts:  # one at a time, as an operator or a single Cosmos task rebuilds one
        result = run_dbt(["build", "--select", mart], url, capture=True, target_path=target)
        assert result.returncode == 0, result.stdout[-4000:]
        missing = sorted(before - _relations(url))
        assert not missing, f"`dbt build --select {mart}` dropped {missing}"

    # The marts downstream still build from what is left.
    result = run_dbt(
        ["build", "--select", "fct_posture_events", "rpt_customer_posture", "rpt_opportunities"],
        url,
        capture=True,
        target_path=target,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert _relations(url) == before


def _statements_by_connection(log: str) -> dict[str, list[str]]:
    """The SQL each dbt connection sent, in order, from dbt's debug log (a statement runs to the next entry)."""
    statements: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in log.splitlines():
        entry = re.match(r"\d\d:\d\d:\d\d\.\d+ \[\w+ *\] \[[^]]*\]: (.*)", line)
        if entry is None:
            if current is not None:
                current[-1] += "\n" + line
            continue
        sent = re.match(r"On ([\w.]+): (.*)", entry.group(1))
        current = statements.setdefault(sent.group(1), []) if sent else None
        if current is not None:
            current.append(sent.group(2))
    return statements


def test_every_model_runs_without_jit_in_its_own_transaction(
    built_warehouse: tuple[str, Path], tmp_path: Path
) -> None:
    """JIT compiled the build's jsonb-heavy queries for 100 times longer than they ran; dbt turns it off per model
    with `set local` (a pre-hook), which a transaction-pooling PgBouncer passes and PGOPTIONS might not. dbt's
    debug log shows each statement on its model's connection: the hook must come before the statement that
    builds the relation with no COMMIT between (psycopg2 opens the transaction implicitly), for a table and for
    an incremental model."""
    url, target = built_warehouse
    logs = tmp_path / "logs"
    models = ("fct_secure_scores", "fct_data_issues", "dim_customers")
    result = run_dbt(
        ["run", "--select", *models, "--log-path", str(logs), "--log-level-file", "debug"],
        url,
        capture=True,
        target_path=target,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    sent = _statements_by_connection((logs / "dbt.log").read_text())
    for model in models:
        statements = sent[f"model.smart_office.{model}"]
        hook = next(i for i, s in enumerate(statements) if re.search(r"^\s*set local jit = off\s*$", s, re.M))
        build = next(i for i, s in enumerate(statements) if i > hook and re.search(r"\bcreate\b", s, re.I))
        between = [s for s in statements[hook:build] if s.strip().upper() in ("COMMIT", "ROLLBACK")]
        assert not between, (model, statements[hook : build + 1])
