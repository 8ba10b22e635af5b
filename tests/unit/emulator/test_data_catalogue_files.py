"""The catalogue data files: shipped in the package, checked row by row, agreeing with Graph's own vocabularies.

A malformed row is refused at load with a CatalogueError that names the file, the row and the field.
"""

from __future__ import annotations

import csv
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from emulator.data.alert_catalogue import (
    EVIDENCE_KINDS,
    JSON_ALERTS,
    SOURCES,
    TEMPLATES,
    TRUE_POSITIVE_DETERMINATIONS,
    load_alert_catalogue,
)
from emulator.data.catalogue import CSV_2018, CSV_CURRENT, load_2018_controls
from emulator.data.catalogue.current import load_current_controls
from emulator.data.evidence import BUILDERS
from emulator.data.portfolio import PLANS
from emulator.data.rows import CatalogueError
from emulator.fidelity import SchemaRegistry

LICENCE_FLAGS = frozenset().union(*(plan.services for plan in PLANS))
MODEL = SchemaRegistry.load().model


def _members(enum: str) -> tuple[str, ...]:
    found = MODEL.get(f"microsoft.graph.security.{enum}")
    return found.members  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "name",
    [
        "data/catalogue/secure-score-controls-catalogue-2018.csv",
        "data/catalogue/secure-score-controls-current.csv",
        "data/alert-catalogue.json",
    ],
)
def test_the_data_files_are_package_resources(name):
    resource = resources.files("emulator").joinpath(name)
    assert resource.is_file()
    assert len(resource.read_bytes()) > 10_000


# -- controls ------------------------------------------------------------------------------------------------
def _rewrite_csv(source: Path, target_dir: Path, edit) -> Path:
    with source.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        columns, rows = list(reader.fieldnames or []), list(reader)
    columns, rows = edit(columns, rows) or (columns, rows)
    target = target_dir / source.name
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def _set(row_number: int, field: str, value: str):
    def edit(columns, rows):
        rows[row_number - 1][field] = value

    return edit


def test_the_current_file_loads_as_it_is():
    controls = load_current_controls(CSV_CURRENT, LICENCE_FLAGS)
    assert len(controls) == 79
    assert controls[0].id == "AdminMFAV2"
    assert controls[0].status == (
        "You have {missing} out of {total} users with administrative roles that aren\u2019t registered and "
        "protected with MFA.",
    )


def test_a_malformed_row_is_refused_naming_file_row_and_field(tmp_path):
    path = _rewrite_csv(CSV_CURRENT, tmp_path, _set(2, "max_score", "ten"))
    with pytest.raises(CatalogueError) as caught:
        load_current_controls(path, LICENCE_FLAGS)
    assert str(caught.value) == (
        "secure-score-controls-current.csv, line 3 (row 2), id 'MFARegistrationV2', field 'max_score': "
        "expected a number, found 'ten'"
    )
    assert (caught.value.file, caught.value.field) == ("secure-score-controls-current.csv", "max_score")


@pytest.mark.parametrize(
    ("row", "field", "value", "problem"),
    [
        (1, "category", "Identityy", "'Identityy' is not one of ['Apps', 'Data', 'Device', 'Identity', 'Infrastructure']"),
        (1, "measure", "people", "'people' is not one of"),
        (1, "service", "Entra", "'Entra' is not one of"),
        (1, "user_impact", "Severe", "'Severe' is not one of"),
        (1, "rank", "1.5", "expected a whole number, found '1.5'"),
        (1, "rank", "0", "0 is below 1"),
        (1, "baseline", "1.5", "1.5 is outside 0.0 to 1.0"),
        (1, "max_score", "0", "must be above 0"),
        (1, "title", " ", "must not be blank"),
        (1, "requires", "HasAADP1,HasUnicorn", "'HasUnicorn' is not a licence flag of any plan"),
        (1, "threats", "Account Breach,,Spoofing", "an empty item"),
        (1, "action_url", "http://entra.microsoft.com", "is not an https URL"),
        (1, "action_url", "https://security.microsoft.com/?tid=%tenant%", "unknown placeholder %tenant%"),
        (1, "status", "You have {mising} of {total}.", "unknown placeholder {mising}"),
        (1, "status", "You have {missing of {total}.", "not a valid template"),
        (1, "status_not_in_place", "Not in place.", "a admins control has one status template, not two"),
        (7, "status_not_in_place", "", "a binary control needs the text for 'not in place'"),
        (7, "status", "{count} users are fine.", "a binary control's status has no placeholders"),
        (1, "id", "Admin MFA", "'Admin MFA' is not an identifier"),
    ],
)  # fmt: skip
def test_each_kind_of_bad_cell_is_refused(tmp_path, row, field, value, problem):
    with CSV_CURRENT.open(newline="", encoding="utf-8") as handle:
        measure = list(csv.DictReader(handle))[row - 1]["measure"]
    assert measure == ("binary" if row == 7 else "admins")
    path = _rewrite_csv(CSV_CURRENT, tmp_path, _set(row, field, value))
    with pytest.raises(CatalogueError, match=f"line {row + 1} \\(row {row}\\)") as caught:
        load_current_controls(path, LICENCE_FLAGS)
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_a_duplicate_id_is_refused(tmp_path):
    path = _rewrite_csv(CSV_CURRENT, tmp_path, _set(5, "id", "AdminMFAV2"))
    with pytest.raises(
        CatalogueError, match=r"line 6 \(row 5\), id 'AdminMFAV2', field 'id': 'AdminMFAV2' is listed twice"
    ):
        load_current_controls(path, LICENCE_FLAGS)


def test_a_missing_column_is_refused(tmp_path):
    def drop_notes(columns, rows):
        return [c for c in columns if c != "notes"], [
            {k: v for k, v in r.items() if k != "notes"} for r in rows
        ]

    path = _rewrite_csv(CSV_CURRENT, tmp_path, drop_notes)
    with pytest.raises(
        CatalogueError, match=r"line 1 \(header\): columns differ: missing \['notes'\], unexpected \[\]"
    ):
        load_current_controls(path, LICENCE_FLAGS)


def test_a_malformed_2018_row_is_refused(tmp_path):
    path = _rewrite_csv(CSV_2018, tmp_path, _set(2, "Stack Rank", "second"))
    with pytest.raises(CatalogueError) as caught:
        load_2018_controls(path)
    message = str(caught.value)
    assert message.startswith("secure-score-controls-catalogue-2018.csv, line ")
    assert message.endswith(
        "(row 2), id 'UserMFA', field 'Stack Rank': expected a whole number, found 'second'"
    )


# -- alerts --------------------------------------------------------------------------------------------------
def _rewrite_json(tmp_path: Path, edit) -> Path:
    document = json.loads(JSON_ALERTS.read_text(encoding="utf-8"))
    edit(document)
    target = tmp_path / JSON_ALERTS.name
    target.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return target


def _template(index: int, field: str, value: Any):
    def edit(document):
        if value is _DELETE:
            del document["templates"][index][field]
        else:
            document["templates"][index][field] = value

    return edit


_DELETE = object()


def test_the_alert_file_loads_as_it_is():
    catalogue = load_alert_catalogue(JSON_ALERTS)
    assert catalogue.templates == TEMPLATES
    assert len(TEMPLATES) == 44


def test_a_malformed_template_is_refused_naming_file_record_and_field(tmp_path):
    path = _rewrite_json(tmp_path, _template(0, "mitre", ["T59"]))
    with pytest.raises(CatalogueError) as caught:
        load_alert_catalogue(path)
    assert str(caught.value) == (
        "alert-catalogue.json, templates[0], id 'Suspicious PowerShell command line', field 'mitre': "
        "'T59' is not a MITRE ATT&CK technique id (T1234 or T1234.001)"
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("source", "microsoftDefenderForToasters", "'microsoftDefenderForToasters' is not one of"),
        ("category", "Sneaking", "'Sneaking' is not one of"),
        ("recommended_actions", "call_someone", "'call_someone' is not one of"),
        ("evidence", ["device", "toaster"], "'toaster' is not one of"),
        ("evidence", "device", "expected a list of non-blank texts"),
        ("tp_determination", "notMalicious", "'notMalicious' is not one of"),
        ("severity_weights", {"informational": 0.0, "low": 0.2, "medium": 0.6, "high": 0.15}, "the odds sum to 0.95"),
        ("severity_weights", {"low": 0.2, "informational": 0.0, "medium": 0.65, "high": 0.15}, "expected exactly ['informational', 'low', 'medium', 'high'] in that order"),
        ("detection_sources", {"microsoftDefenderForEndpoint": 1.5}, "expected a probability from 0 to 1"),
        ("detection_sources", {"Microsoft Defender": 1.0}, "is not an enum member name"),
        ("weight", "heavy", "expected a number, found 'heavy'"),
        ("weight", 0, "must be above 0"),
        ("auto_resolve", 2, "2.0 is outside 0.0 to 1.0"),
        ("scope", "planet", "'planet' is not one of"),
        ("policy", "yes", "expected true or false"),
        ("threats", [["Trojan:Win32/Wacatac.B!ml"]], "expected a list of [threatDisplayName, threatFamilyName] pairs"),
        ("description", _DELETE, "missing"),
        ("severity", "high", "not a field of this catalogue"),
    ],
)  # fmt: skip
def test_each_kind_of_bad_template_is_refused(tmp_path, field, value, problem):
    path = _rewrite_json(tmp_path, _template(0, field, value))
    with pytest.raises(CatalogueError, match=r"^alert-catalogue\.json, templates\[0\]") as caught:
        load_alert_catalogue(path)
    assert caught.value.field == field
    assert problem in caught.value.problem


def test_a_repeated_title_is_refused(tmp_path):
    path = _rewrite_json(tmp_path, _template(5, "title", TEMPLATES[0].title))
    with pytest.raises(
        CatalogueError,
        match=r"templates\[5\], id 'Suspicious PowerShell command line', field 'title': .* listed twice",
    ):
        load_alert_catalogue(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["sources"]["microsoftAppGovernance"].update(chains_with=["microsoftSentinel"]), r"sources\.microsoftAppGovernance, field 'chains_with': 'microsoftSentinel' is not another source"),
        (lambda d: d["sources"]["microsoftAppGovernance"].update(id_prefix="fa"), r"sources\.microsoftAppGovernance, field 'id_prefix': 'fa' is also microsoftDefenderForOffice365's"),
        (lambda d: d["sources"]["microsoftAppGovernance"].pop("share"), r"sources\.microsoftAppGovernance, field 'share': missing"),
        (lambda d: d["sources"].update(microsoftSentinel={"product_name": "Sentinel", "id_prefix": "se", "share": 0.01, "chains_with": []}), r"document, field 'sources': 'microsoftSentinel' has no template"),
        (lambda d: d["recommended_actions"].update(oauth_app="Revoke it."), r"field 'recommended_actions': 'oauth_app': expected a list of lines"),
        (lambda d: d.pop("tactics"), r"document, field 'tactics': missing"),
    ],
)  # fmt: skip
def test_bad_sources_and_sections_are_refused(tmp_path, edit, message):
    path = _rewrite_json(tmp_path, edit)
    with pytest.raises(CatalogueError, match=message):
        load_alert_catalogue(path)


def test_duplicate_keys_and_broken_json_are_refused(tmp_path):
    text = JSON_ALERTS.read_text(encoding="utf-8")
    doubled = tmp_path / "doubled" / JSON_ALERTS.name
    doubled.parent.mkdir()
    doubled.write_text(text.replace('"weight": 1.4,', '"weight": 1.4, "weight": 2.0,', 1), encoding="utf-8")
    with pytest.raises(
        CatalogueError, match=r"alert-catalogue\.json, document, field 'weight': duplicate key"
    ):
        load_alert_catalogue(doubled)
    broken = tmp_path / JSON_ALERTS.name
    broken.write_text(text.replace('"weight": 1.4,', '"weight": 1.4', 1), encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"alert-catalogue\.json, line \d+: not valid JSON"):
        load_alert_catalogue(broken)


# -- the catalogue against Graph's model and the generator -----------------------------------------------------
def test_templates_use_graphs_enum_members():
    assert set(SOURCES) <= set(_members("serviceSource"))
    detection = set(_members("detectionSource"))
    assert {name for t in TEMPLATES for name, _ in t.detection_sources} <= detection
    assert set(TRUE_POSITIVE_DETERMINATIONS) <= set(_members("alertDetermination"))


def test_every_evidence_kind_has_a_builder_and_a_graph_type():
    assert set(EVIDENCE_KINDS) == set(BUILDERS)
    for kind in EVIDENCE_KINDS:
        assert f"microsoft.graph.security.{kind}Evidence" in MODEL
