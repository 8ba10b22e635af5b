"""The segments CSV: what a file asks for, and a one-line error naming the first bad row for anything else."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from smart_office.segments.attributes import (
    Attribute,
    InvalidAttributeError,
    parse_assignment,
    parse_tenant,
)
from smart_office.segments.csv_file import SegmentsFileError, parse, read, render
from smart_office.segments.store import StoredAttribute

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


def test_filled_cells_set_empty_cells_remove_and_company_name_is_ignored() -> None:
    text = (
        "\ufefftenant_id,company_name,service_model,Industry,region\n"
        f"{A.upper()},Contoso,managed, healthcare ,\n"
        "\n"
        f"{B},Fabrikam,break-fix\n"
    )
    changes = parse(text, "s.csv")
    assert changes.tenants == 2
    assert changes.write == [
        Attribute(A, "service_model", "managed"),
        Attribute(A, "industry", "healthcare"),
        Attribute(B, "service_model", "break-fix"),
    ]
    assert changes.remove == [(A, "region"), (B, "industry"), (B, "region")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "s.csv: empty file (expected a header row starting with tenant_id)"),
        ("company_name,industry\nx,y\n", "s.csv row 1: no tenant_id column"),
        (
            f"tenant_id,Industry!\n{A},x\n",
            "s.csv row 1, column 2: attribute name 'Industry!' is not lowercase",
        ),
        (f"tenant_id,industry,industry\n{A},x,y\n", "s.csv row 1: column industry appears twice"),
        (
            f"tenant_id,industry\n{A},x\nnot-a-guid,y\n",
            "s.csv row 3: tenant_id 'not-a-guid' is not a tenant id",
        ),
        (f"tenant_id,industry\n{A},x\n{A.upper()},y\n", f"s.csv row 3: tenant {A} is also on row 2"),
        (f"tenant_id,industry\n{A},x,extra\n", "s.csv row 2: 3 cells, the header has 2"),
        (f"tenant_id,industry\n{A},{'x' * 101}\n", "s.csv row 2: industry: value longer than 100 characters"),
        (f'tenant_id,industry\n{A},"a\tb"\n', "s.csv row 2: industry: value holds a control character"),
    ],
)
def test_bad_input_is_one_line_naming_the_row(text: str, message: str) -> None:
    with pytest.raises(SegmentsFileError) as raised:
        parse(text, "s.csv")
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_several_problems_name_the_first_and_count_the_rest() -> None:
    with pytest.raises(SegmentsFileError) as raised:
        parse(f"tenant_id,industry\nbad,x\n{A},{'y' * 101}\nworse,z\n", "s.csv")
    assert (
        str(raised.value) == "s.csv row 2: tenant_id 'bad' is not a tenant id (a GUID) (and 2 more problems)"
    )


def test_export_lists_every_customer_and_reads_back_as_the_same_attributes(tmp_path: Path) -> None:
    at = datetime(2026, 11, 1, tzinfo=UTC)
    stored = [
        StoredAttribute(A, "Contoso", "industry", "health, care", "ana", at),
        StoredAttribute(A, "Contoso", "region", "emea", "ana", at),
        StoredAttribute(B, None, "contract_tier", "gold", "ana", at),
    ]
    text = render(stored, {A: "Contoso", "33333333-3333-4333-8333-333333333333": "Adatum"})
    lines = text.splitlines()
    assert lines[0] == "tenant_id,company_name,service_model,industry,contract_tier,seat_band,region"
    assert lines[1] == "33333333-3333-4333-8333-333333333333,Adatum,,,,,"
    assert lines[2] == f'{A},Contoso,,"health, care",,,emea'
    assert lines[3] == f"{B},,,,gold,,"
    path = tmp_path / "s.csv"
    path.write_text(text)
    assert sorted(read(path).write) == sorted(Attribute(s.tenant_id, s.key, s.value) for s in stored)


def test_an_unreadable_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SegmentsFileError, match="no such file"):
        read(tmp_path / "missing.csv")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"tenant_id,industry\n" + A.encode() + b",caf\xe9\n")
    with pytest.raises(SegmentsFileError, match="not UTF-8 text"):
        read(latin)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("industry=healthcare", ("industry", "healthcare")), ("Tier = gold plus", ("tier", "gold plus"))],
)
def test_assignments(text: str, expected: tuple[str, str]) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("industry", "'industry' is not key=value"),
        ("industry=", "industry: empty value"),
        ("tenant_id=x", "tenant_id is not an attribute name"),
        ("9lives=x", "attribute name '9lives' is not lowercase"),
    ],
)
def test_bad_assignments(text: str, message: str) -> None:
    with pytest.raises(InvalidAttributeError, match=message):
        parse_assignment(text)


def test_tenant_ids_are_canonical() -> None:
    assert parse_tenant(f" {A.upper()} ") == A
    with pytest.raises(InvalidAttributeError, match="'contoso' is not a tenant id"):
        parse_tenant("contoso")


def test_a_row_the_csv_module_cannot_read_names_its_line() -> None:
    with pytest.raises(SegmentsFileError) as raised:
        parse(f"tenant_id,industry\n{A},x\n{B},{'y' * 200_000}\n", "s.csv")
    assert str(raised.value).startswith("s.csv row 3: not readable as CSV (field larger than field limit")
