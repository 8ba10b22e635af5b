"""The catalogue data files: shipped in the package and checked row by row.

A malformed row is refused at load with a CatalogueError that names the file, the row and the field.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from emulator.data.catalogue import CSV_2018, CSV_CURRENT, load_2018_controls
from emulator.data.catalogue.current import load_current_controls
from emulator.data.portfolio import PLANS
from emulator.data.rows import CatalogueError

LICENCE_FLAGS = frozenset().union(*(plan.services for plan in PLANS))


@pytest.mark.parametrize(
    "name",
    [
        "data/catalogue/secure-score-controls-catalogue-2018.csv",
        "data/catalogue/secure-score-controls-current.csv",
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
