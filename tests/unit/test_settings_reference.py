"""docs/settings.md is the generator's output, and names every SMART_OFFICE_* variable the product, the demo
and the dbt project read; its types and defaults are those of the `Settings` class."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from smart_office.settings import ENVIRONMENT, Settings, Variable
from smart_office.settings_reference import (
    UndocumentableError,
    all_variables,
    default_of,
    kind_of,
    main,
    render,
)
from smart_office_demo import settings as demo_settings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "settings.md"
# A whole name: not the tail of AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE, not a prefix such as SMART_OFFICE_ALERT_*.
NAME = re.compile(r"(?<![A-Z0-9_])SMART_OFFICE_[A-Z0-9]+(?:_[A-Z0-9]+)*(?![A-Z0-9_*])")


def _names_in(paths: list[Path]) -> dict[str, str]:
    found: dict[str, str] = {}
    for path in paths:
        for name in NAME.findall(path.read_text()):
            found.setdefault(name, str(path.relative_to(REPO)))
    return found


def _documented() -> set[str]:
    return set(re.findall(r"^\| `(SMART_OFFICE_[A-Z0-9_]+)` \|", DOC.read_text(), flags=re.MULTILINE))


def test_docs_settings_md_is_what_the_generator_writes() -> None:
    assert DOC.read_text() == render(all_variables()), "docs/settings.md is out of date: run `make docs`"


def test_every_variable_read_in_plugins_dev_and_dbt_is_documented() -> None:
    sources = [
        *(REPO / "plugins").rglob("*.py"),
        *(REPO / "dev").rglob("*.py"),
        *(REPO / "dags").rglob("*.py"),
        *(REPO / "dbt").glob("*.yml"),
    ]
    read = _names_in(sources)
    # The scan itself works: names read only through os.environ / env_var, in each kind of place.
    assert {"SMART_OFFICE_ALERT_WEBHOOK_URL", "SMART_OFFICE_DEMO_TENANTS", "SMART_OFFICE_DBT_THREADS"} <= set(
        read
    )
    missing = {name: where for name, where in read.items() if name not in _documented()}
    assert missing == {}, "add these to smart_office.settings.ENVIRONMENT (or the demo's) and run `make docs`"


def test_the_demos_variables_come_through_its_entry_point() -> None:
    assert set(demo_settings.VARIABLES) <= set(all_variables())
    assert {"SMART_OFFICE_DEMO_TENANTS", "SMART_OFFICE_DEMO_SEED", "SMART_OFFICE_DEMO_NOW"} <= _documented()


def test_every_settings_field_is_filled_by_a_documented_variable() -> None:
    filled = {v.attribute for v in ENVIRONMENT if v.attribute}
    assert filled == {f.name for f in dataclasses.fields(Settings)}


@pytest.mark.parametrize("variable", [v for v in ENVIRONMENT if v.attribute and v.default is None], ids=str)
def test_a_documented_default_is_what_an_empty_environment_gives(variable: Variable) -> None:
    settings = Settings.from_env({}, require_partner=False)
    field = next(f for f in dataclasses.fields(Settings) if f.name == variable.attribute)
    assert getattr(settings, field.name) == field.default
    assert default_of(variable) in DOC.read_text()


def test_types_and_defaults_come_from_the_settings_class() -> None:
    shard = next(v for v in ENVIRONMENT if v.name == "SMART_OFFICE_SHARD_SIZE")
    assert (kind_of(shard), default_of(shard)) == (
        "integer",
        str(Settings.__dataclass_fields__["shard_size"].default),
    )
    hours = dataclasses.replace(shard, attribute="alerts_overlap_hours")
    assert (kind_of(hours), default_of(hours)) == ("number", "12")


@pytest.mark.parametrize(
    "variable",
    [
        Variable("SMART_OFFICE_X", "no field, no kind", "S", default="1"),
        Variable("SMART_OFFICE_X", "no field, no default", "S", kind="integer"),
        Variable("SMART_OFFICE_X", "a field whose type has no name", "S", attribute="discovery_cache_dir"),
        Variable("SMART_OFFICE_X", "a field with no default", "S", attribute="client_id", kind="GUID"),
    ],
    ids=lambda v: v.help,
)
def test_a_variable_that_cannot_be_documented_stops_the_generator(variable: Variable) -> None:
    with pytest.raises(UndocumentableError, match="SMART_OFFICE_X"):
        render([variable])


def test_a_variable_declared_twice_stops_the_generator() -> None:
    with pytest.raises(UndocumentableError, match="declared twice: SMART_OFFICE_SHARD_SIZE"):
        render([*ENVIRONMENT, next(v for v in ENVIRONMENT if v.name == "SMART_OFFICE_SHARD_SIZE")])


def test_outbound_hosts_come_from_the_clouds() -> None:
    text = render(all_variables())
    for host in (
        "login.microsoftonline.us",
        "microsoftgraph.chinacloudapi.cn",
        "api.partnercenter.microsoft.com",
    ):
        assert f"`{host}`" in text
    assert "`<vault>.vault.usgovcloudapi.net`" in text


def test_check_reports_a_stale_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "settings.md"
    assert main(["--out", str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    page.write_text(page.read_text().replace("SMART_OFFICE_SHARD_SIZE", "SMART_OFFICE_SHARDS"))
    assert main(["--check", str(page)]) == 1
    assert "run `make docs`" in capsys.readouterr().err


def test_the_demo_reads_its_declared_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMART_OFFICE_DEMO_SEED", raising=False)
    assert demo_settings.setting(demo_settings.SEED) == "42"
    monkeypatch.setenv("SMART_OFFICE_DEMO_SEED", " 7 ")
    assert demo_settings.setting(demo_settings.SEED) == "7"
