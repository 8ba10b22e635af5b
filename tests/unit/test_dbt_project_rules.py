"""The dbt project as the dbt project evaluator (dbt-labs/dbt-project-evaluator) checks it, over manifest.json.

The evaluator is a dbt package we cannot install here, so its rules are restated over the manifest that
`make install` (`smart-office dbt-parse`) builds; a manifest older than the project is rebuilt first. Each test
fails with the list of offenders, one per line.

- structure: models named by layer and folder (`staging/<source>/stg_<source>__*`, `intermediate/**/int_*`,
  `marts/<area>/{fct,dim,rpt}_*`), one `_<folder>__models.yml` per folder, sources in
  `staging/<source>/_<source>__sources.yml`;
- modeling: staging reads only sources and only staging reads sources; no rejoin of upstream concepts; no view
  reads a mart (a selective rebuild of the mart would drop it);
- testing: a primary-key test on every model, at least one data test on every model, freshness on every source;
- documentation: every model described, every column of the marts described;
- exposures: the dashboard's pages and its static export are exposures, each depends on the marts it reads,
  and nothing exposed reads a source.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from smart_office.dbt_runner import DBT_PROJECT_DIR, build_manifest

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
PROJECT = "smart_office"
MART_PREFIXES = ("fct_", "dim_", "rpt_")
# Exposures the dashboard must declare: its four pages and the static export.
DASHBOARD_EXPOSURES = (
    "dashboard_portfolio",
    "dashboard_customer",
    "dashboard_alerts",
    "dashboard_opportunities",
)
EXPORT_EXPOSURE = "dashboard_static_export"
PLAIN_COLUMN = re.compile(r"^[a-z_][a-z0-9_]*$")
DASHBOARD_PAGES = ("portfolio", "customer", "alerts", "opportunities")
DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "plugins" / "smart_office" / "dashboard"
QUERIES_PACKAGE = "smart_office.dashboard.queries"


def _project_files_newer_than(path: Any) -> bool:
    if not path.exists():
        return True
    built = path.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml"]
    for folder in ("models", "macros", "tests", "seeds"):
        sources += [p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file()]
    return any(p.stat().st_mtime > built for p in sources)


@dataclass(frozen=True)
class Project:
    """The manifest's models, sources, data tests and exposures, and the DAG between models and sources."""

    manifest: dict[str, Any]

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return {
            node["unique_id"]: node
            for node in self.manifest["nodes"].values()
            if node["resource_type"] == "model" and node["package_name"] == PROJECT
        }

    @property
    def sources(self) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.manifest["sources"].items() if v["package_name"] == PROJECT}

    @property
    def exposures(self) -> dict[str, dict[str, Any]]:
        return {v["name"]: v for v in self.manifest["exposures"].values() if v["package_name"] == PROJECT}

    def data_tests_of(self, unique_id: str) -> list[dict[str, Any]]:
        return [
            node
            for node in self.manifest["nodes"].values()
            if node["resource_type"] == "test"
            and (node.get("attached_node") == unique_id or unique_id in node["depends_on"]["nodes"])
        ]

    def parents(self, unique_id: str) -> set[str]:
        """Direct parents among models and sources (the evaluator's DAG leaves tests and exposures out)."""
        node = self.models.get(unique_id) or self.exposures_by_id().get(unique_id)
        return {p for p in node["depends_on"]["nodes"] if p.startswith(("model.", "source."))}

    def children(self) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for model in self.models:
            for parent in self.parents(model):
                found[parent].add(model)
        return found

    def exposures_by_id(self) -> dict[str, dict[str, Any]]:
        return {v["unique_id"]: v for v in self.exposures.values()}

    def name(self, unique_id: str) -> str:
        if unique_id.startswith("source."):
            source = self.sources[unique_id]
            return f"source({source['source_name']}.{source['name']})"
        return unique_id.split(".")[-1]


@pytest.fixture(scope="module")
def project() -> Project:
    path = build_manifest() if _project_files_newer_than(MANIFEST) else MANIFEST
    return Project(json.loads(path.read_text()))


def _fail_on(offenders: Iterable[str], rule: str) -> None:
    listed = sorted(set(offenders))
    assert not listed, f"{rule} — {len(listed)} offender(s):\n  " + "\n  ".join(listed)


def _layer(node: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    """(layer folder, folders below it) of a model's file, e.g. ('marts', ('posture',))."""
    parts = PurePosixPath(node["original_file_path"]).parts
    assert parts[0] == "models", node["original_file_path"]
    return parts[1], tuple(parts[2:-1])


def _staging_source(node: dict[str, Any]) -> str | None:
    match = re.match(r"^stg_([a-z0-9_]+?)__[a-z0-9_]+$", node["name"])
    return match.group(1) if match else None


def test_models_are_named_by_layer_and_folder(project: Project) -> None:
    offenders = []
    for node in project.models.values():
        name, path = node["name"], node["original_file_path"]
        layer, folders = _layer(node)
        if layer == "staging":
            source = _staging_source(node)
            if source is None:
                offenders.append(f"{path}: a staging model is named stg_<source>__<entity>")
            elif folders != (source,):
                offenders.append(f"{path}: lives in staging/{source}/, the folder of its source")
        elif layer == "intermediate":
            if not name.startswith("int_"):
                offenders.append(f"{path}: an intermediate model is named int_<entity>s_<verb>s")
        elif layer == "marts":
            if not name.startswith(MART_PREFIXES):
                offenders.append(f"{path}: a mart is named fct_, dim_ or rpt_")
            if len(folders) != 1:
                offenders.append(f"{path}: a mart lives in a folder of its area, marts/<area>/")
        else:
            offenders.append(f"{path}: not under staging/, intermediate/ or marts/")
    _fail_on(offenders, "models named by layer and folder")


def test_each_folder_has_one_models_yml_named_after_it(project: Project) -> None:
    offenders = []
    for node in project.models.values():
        folder = PurePosixPath(node["original_file_path"]).parent
        expected = f"{PROJECT}://{folder}/_{folder.name}__models.yml"
        if node.get("patch_path") != expected:
            offenders.append(f"{node['name']}: described in {node.get('patch_path')}, not {expected}")
    for source in project.sources.values():
        expected = f"models/staging/{source['source_name']}/_{source['source_name']}__sources.yml"
        if source["original_file_path"] != expected:
            offenders.append(
                f"{project.name(source['unique_id'])}: declared in {source['original_file_path']}"
            )
    _fail_on(offenders, "one _<folder>__models.yml per folder, sources beside their staging models")


def test_staging_reads_only_sources_and_only_staging_reads_sources(project: Project) -> None:
    offenders = []
    for unique_id, node in project.models.items():
        parents = project.parents(unique_id)
        models = sorted(project.name(p) for p in parents if p.startswith("model."))
        sources = sorted(project.name(p) for p in parents if p.startswith("source."))
        if node["name"].startswith("stg_"):
            if models:
                offenders.append(f"{node['name']} reads models {models}")
            if not sources:
                offenders.append(f"{node['name']} reads no source")
            elif any(s != f"source({_staging_source(node)}." + s.split(".", 1)[1] for s in sources):
                offenders.append(f"{node['name']} reads another source's tables {sources}")
        elif sources:
            offenders.append(f"{node['name']} ({_layer(node)[0]}) reads sources {sources}")
    _fail_on(offenders, "staging reads only sources; only staging reads sources")


def test_no_view_reads_a_mart(project: Project) -> None:
    """dbt-postgres replaces a table by dropping its backup with cascade: a view over a mart would be dropped by a
    selective rebuild of that mart (`dbt build -s fct_secure_scores`) and stay dropped until the next full build.
    A model that reads a mart is ephemeral (inlined) or a mart itself."""
    offenders = [
        f"{node['name']} ({node['config']['materialized']}) reads {project.name(parent)}"
        for unique_id, node in project.models.items()
        if node["config"]["materialized"] == "view"
        for parent in project.parents(unique_id)
        if parent in project.models and _layer(project.models[parent])[0] == "marts"
    ]
    _fail_on(offenders, "a view over a mart is dropped when the mart alone is rebuilt")


def test_no_rejoin_of_upstream_concepts(project: Project) -> None:
    """fct_rejoining_of_upstream_concepts: a parent P with direct children B and C, where C is also a direct
    child of B and B has no child but C — B's concept is joined back to where it came from."""
    children = project.children()
    offenders = []
    for child in project.models:
        parents = project.parents(child)
        for between in parents:
            if between.startswith("source.") or children[between] != {child}:
                continue
            for parent in project.parents(between) & parents:
                offenders.append(
                    f"{project.name(parent)} → {project.name(between)} → {project.name(child)}, "
                    f"and {project.name(parent)} → {project.name(child)}"
                )
    _fail_on(offenders, "rejoining of upstream concepts")


def _primary_key_tested(project: Project, unique_id: str) -> bool:
    unique, not_null = set(), set()
    for test in project.data_tests_of(unique_id):
        meta = test.get("test_metadata") or {}
        column = test.get("column_name") or meta.get("kwargs", {}).get("column_name")
        if meta.get("name") == "unique_combination_of_columns":
            columns = meta["kwargs"].get("combination_of_columns") or []
            if columns and all(PLAIN_COLUMN.match(c) for c in columns):
                return True
        elif meta.get("name") == "unique" and column and PLAIN_COLUMN.match(column):
            unique.add(column)
        elif meta.get("name") == "not_null" and column and PLAIN_COLUMN.match(column):
            not_null.add(column)
    return bool(unique & not_null)


def test_every_model_has_a_primary_key_test(project: Project) -> None:
    offenders = [
        f"{node['name']}: no unique + not_null on one column, nor unique_combination_of_columns"
        for unique_id, node in project.models.items()
        if not _primary_key_tested(project, unique_id)
    ]
    for unique_id, node in project.models.items():
        for test in project.data_tests_of(unique_id):
            meta = test.get("test_metadata") or {}
            column = meta.get("kwargs", {}).get("column_name")
            if meta.get("name") == "unique" and column and not PLAIN_COLUMN.match(column):
                offenders.append(f"{node['name']}: a key tested as the expression `{column}`, not as columns")
    _fail_on(offenders, "a primary-key test on every model")


def test_every_model_has_a_data_test(project: Project) -> None:
    offenders = [
        node["name"] for unique_id, node in project.models.items() if not project.data_tests_of(unique_id)
    ]
    _fail_on(offenders, "test coverage: every model has at least one data test")


def test_every_source_has_freshness(project: Project) -> None:
    offenders = []
    for unique_id, source in project.sources.items():
        config = source.get("config") or {}
        freshness = config.get("freshness") or source.get("freshness") or {}
        thresholds = [freshness.get(k) or {} for k in ("warn_after", "error_after")]
        if not all(t.get("count") and t.get("period") for t in thresholds):
            offenders.append(f"{project.name(unique_id)}: no warn_after and error_after")
        if not (config.get("loaded_at_field") or config.get("loaded_at_query")):
            offenders.append(f"{project.name(unique_id)}: no loaded_at_field (or loaded_at_query)")
    _fail_on(offenders, "every source has freshness")


def test_models_and_every_mart_column_are_documented(project: Project) -> None:
    offenders = []
    for node in project.models.values():
        if not (node.get("description") or "").strip():
            offenders.append(f"{node['name']}: no description")
        if _layer(node)[0] != "marts":
            continue
        if not node["columns"]:
            offenders.append(f"{node['name']}: no column documented")
        offenders += [
            f"{node['name']}.{column}: no description"
            for column, spec in node["columns"].items()
            if not (spec.get("description") or "").strip()
        ]
    for source in project.sources.values():
        if not (source.get("description") or "").strip():
            offenders.append(f"{project.name(source['unique_id'])}: no description")
    _fail_on(offenders, "every model and every column of the marts documented")


def test_marts_and_exposures_read_no_source(project: Project) -> None:
    offenders = [
        f"{node['name']} reads {project.name(parent)}"
        for unique_id, node in project.models.items()
        if _layer(node)[0] == "marts"
        for parent in project.parents(unique_id)
        if parent.startswith("source.")
    ]
    for exposure in project.exposures.values():
        for parent in exposure["depends_on"]["nodes"]:
            node = project.models.get(parent)
            if node is None or _layer(node)[0] != "marts":
                offenders.append(f"exposure {exposure['name']} depends on {parent}, not a mart")
    _fail_on(offenders, "public marts (and what is exposed) have no direct source dependencies")


def _query_functions_called_by(path: Path) -> set[Callable[..., Any]]:
    """The dashboard query functions a module refers to (`load(queries.coverage, …)`, `portfolio_queries.x(…)`,
    a name imported from a query module): read from its source, without running it (a view renders on import)."""
    tree = ast.parse(path.read_text())
    bindings: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(QUERIES_PACKAGE):
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:  # `from ...queries import portfolio`: a submodule
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                bindings[alias.asname or alias.name] = value
    found: set[Callable[..., Any]] = set()
    for node in ast.walk(tree):
        value: Any = None
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            module = bindings.get(node.value.id)
            if inspect.ismodule(module):
                value = getattr(module, node.attr, None)
        elif isinstance(node, ast.Name):
            value = bindings.get(node.id)
        if inspect.isfunction(value) and value.__module__.startswith(QUERIES_PACKAGE):
            found.add(value)
    return found


def _marts_read_by(functions: Iterable[Callable[..., Any]]) -> set[str]:
    """The marts the query functions name, following the helpers they call (`complete_on`, …)."""
    from smart_office.dashboard.queries.marts import mart_name

    marts: set[str] = set()
    seen: set[Callable[..., Any]] = set()
    pending = list(functions)
    while pending:
        function = pending.pop()
        if function in seen:
            continue
        seen.add(function)
        codes, names = [function.__code__], set()
        while codes:
            code = codes.pop()
            names.update(code.co_names)
            codes += [c for c in code.co_consts if inspect.iscode(c)]
        for name in names:
            value = function.__globals__.get(name)
            if (mart := mart_name(value)) is not None:
                marts.add(mart)
            elif inspect.isfunction(value) and value.__module__.startswith(QUERIES_PACKAGE):
                pending.append(value)
    return marts


def test_exposures_name_every_mart_the_dashboard_reads(project: Project) -> None:
    """Each page's exposure names what the page's queries read (and the status every page shows); the export's
    what the export's. Read from the code, so a query reading a new mart fails here until the exposure says so."""
    from smart_office.dashboard.queries.status import marts_the_dashboard_reads, warehouse_status

    exposures = project.exposures
    offenders = [
        f"no exposure {name}" for name in (*DASHBOARD_EXPOSURES, EXPORT_EXPOSURE) if name not in exposures
    ]
    status_marts = _marts_read_by([warehouse_status])
    readers = {
        **{f"dashboard_{page}": DASHBOARD_DIR / "views" / f"{page}.py" for page in DASHBOARD_PAGES},
        EXPORT_EXPOSURE: DASHBOARD_DIR / "export.py",
    }
    everything: set[str] = set()
    for exposure, path in readers.items():
        functions = _query_functions_called_by(path)
        assert functions, f"{path} calls no query: the reading of its imports broke"
        reads = _marts_read_by(functions) | status_marts
        everything |= reads
        named = {project.name(n) for n in exposures.get(exposure, {}).get("depends_on", {}).get("nodes", [])}
        offenders += [
            f"{exposure} does not name {mart}, which {path.name} reads" for mart in sorted(reads - named)
        ]
        offenders += [
            f"{exposure} names {mart}, which {path.name} does not read" for mart in sorted(named - reads)
        ]
    # What the dashboard checks is built before showing anything is what its queries read.
    assert marts_the_dashboard_reads() == everything
    for name, exposure in exposures.items():
        if not (exposure.get("description") or "").strip() or not exposure.get("owner", {}).get("name"):
            offenders.append(f"{name}: no description or owner")
    _fail_on(offenders, "exposures name every mart the dashboard reads")
