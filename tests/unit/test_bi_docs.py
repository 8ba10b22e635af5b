"""docs/bi.md's table of the marts says what dbt declares: every mart, its key test, its relationship tests."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MARTS = REPO / "dbt" / "models" / "marts"
DOC = REPO / "docs" / "bi.md"


def _test_name(test: object) -> str:
    return test if isinstance(test, str) else next(iter(test))  # type: ignore[arg-type]


def _arguments(test: object) -> dict[str, object]:
    if isinstance(test, str):
        return {}
    body = next(iter(test.values())) or {}  # type: ignore[union-attr]
    return body.get("arguments", body)


def declared() -> dict[str, tuple[str, tuple[str, ...], frozenset[tuple[str, str]]]]:
    """mart -> (area, key columns, {(column, referenced model)}) from the marts' _<area>__models.yml files."""
    found = {}
    for path in sorted(MARTS.glob("**/_*__models.yml")):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            keys: list[str] = []
            joins: set[tuple[str, str]] = set()
            for test in model.get("data_tests") or []:
                if "combination_of_columns" in _test_name(test):
                    keys.extend(_arguments(test)["combination_of_columns"])  # type: ignore[arg-type]
            for column in model.get("columns") or []:
                for test in column.get("data_tests") or []:
                    if _test_name(test) == "unique":
                        keys.append(column["name"])
                    elif _test_name(test) == "relationships":
                        target = re.fullmatch(r"ref\('(\w+)'\)", str(_arguments(test)["to"]))
                        assert target, (model["name"], column["name"])
                        joins.add((column["name"], target.group(1)))
            found[model["name"]] = (path.parent.name, tuple(keys), frozenset(joins))
    return found


def documented() -> dict[str, tuple[str, tuple[str, ...], frozenset[tuple[str, str]]]]:
    """The same, read from the table between the marts markers of docs/bi.md."""
    text = DOC.read_text()
    table = text.split("<!-- marts:start -->", 1)[1].split("<!-- marts:end -->", 1)[0]
    rows = [line for line in table.strip().splitlines()[2:] if line.startswith("|")]
    found = {}
    for row in rows:
        mart, area, _grain, key, joins = (cell.strip() for cell in row.strip().strip("|").split("|"))
        found[mart.strip("`")] = (
            area,
            tuple(re.findall(r"`(\w+)`", key)),
            frozenset(re.findall(r"`(\w+)` → `(\w+)`", joins)),
        )
    return found


def test_every_mart_is_in_the_table_and_no_other() -> None:
    assert sorted(documented()) == sorted(declared())


def test_each_marts_area_key_and_joins_are_what_dbt_tests() -> None:
    docs, dbt = documented(), declared()
    wrong = {mart: (docs[mart], dbt[mart]) for mart in dbt if mart in docs and docs[mart] != dbt[mart]}
    assert wrong == {}, "docs/bi.md (first) differs from the models' tests (second)"


def test_every_mart_has_a_key() -> None:
    assert all(keys for _area, keys, _joins in declared().values())
