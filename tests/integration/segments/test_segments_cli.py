"""`smart-office segments` on a real warehouse: tag/untag/list with who and when, export → edit → import, and an
import with a bad row that changes nothing and says which row in one line."""

from __future__ import annotations

from pathlib import Path

import click
import psycopg
import pytest
from typer.testing import CliRunner

from smart_office.cli import app
from smart_office.warehouse.migrations import migrate

pytestmark = pytest.mark.integration

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
UNKNOWN = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def warehouse(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    with psycopg.connect(warehouse_url) as conn:
        migrate(conn)
        conn.execute(
            """
            insert into ops.customers (tenant_id, company_name, access_state, first_seen_at, last_seen_at, last_run_id)
            values (%s, 'Contoso', 'gdap', now(), now(), 'r'), (%s, 'Fabrikam', 'gdap', now(), now(), 'r')
            """,
            (A, B),
        )
    monkeypatch.setenv("SMART_OFFICE_WAREHOUSE_URL", warehouse_url)
    return warehouse_url


def invoke(*args: str) -> click.testing.Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def attributes(url: str) -> set[tuple[str, str, str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select tenant_id::text, attribute_key, attribute_value, set_by from ops.customer_attributes"
        )
        return set(rows.fetchall())


def test_tag_untag_and_list_record_who(warehouse: str) -> None:
    result = invoke(
        "segments", "tag", A.upper(), "service_model=managed", "Industry=Health care", "--by", "ana"
    )
    assert result.exit_code == 0, result.output
    assert attributes(warehouse) == {
        (A, "service_model", "managed", "ana"),
        (A, "industry", "Health care", "ana"),
    }

    # The same value again keeps who set it first; a new value records the new author.
    assert (
        invoke("segments", "tag", A, "service_model=managed", "industry=retail", "--by", "bo").exit_code == 0
    )
    assert attributes(warehouse) == {(A, "service_model", "managed", "ana"), (A, "industry", "retail", "bo")}

    listed = invoke("segments", "list", "--key", "industry")
    assert listed.exit_code == 0
    header, *rows = listed.stdout.splitlines()
    assert header.split("\t") == ["tenant", "company", "key", "value", "set by", "set at"]
    assert [row.split("\t")[:5] for row in rows] == [[A, "Contoso", "industry", "retail", "bo"]]
    assert listed.stderr.splitlines()[-1] == "1 attribute"

    assert invoke("segments", "untag", A, "industry").exit_code == 0
    assert attributes(warehouse) == {(A, "service_model", "managed", "ana")}


def test_tagging_a_tenant_discovery_has_not_listed_warns_and_keeps_it(warehouse: str) -> None:
    result = invoke("segments", "tag", UNKNOWN, "contract_tier=gold", "--by", "ana")
    assert result.exit_code == 0
    assert f"not (yet) listed by discovery: {UNKNOWN}" in result.stderr
    assert attributes(warehouse) == {(UNKNOWN, "contract_tier", "gold", "ana")}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["tag", "contoso", "industry=x"], "error: 'contoso' is not a tenant id (a GUID)"),
        (["tag", A, "industry"], "error: 'industry' is not key=value (e.g. industry=healthcare)"),
        (["untag", A, "Bad Key"], "error: attribute name 'Bad Key' is not lowercase"),
    ],
)
def test_bad_arguments_are_one_line_and_change_nothing(warehouse: str, args: list[str], line: str) -> None:
    result = invoke("segments", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith(line)
    assert len(result.stderr.strip().splitlines()) == 1
    assert attributes(warehouse) == set()


def test_export_edit_import_round_trip(warehouse: str, tmp_path: Path) -> None:
    invoke("segments", "tag", A, "service_model=managed", "region=emea", "--by", "ana")
    path = tmp_path / "segments.csv"
    assert invoke("segments", "export", str(path)).exit_code == 0
    lines = path.read_text().splitlines()
    assert lines == [
        "tenant_id,company_name,service_model,industry,contract_tier,seat_band,region",
        f"{A},Contoso,managed,,,,emea",
        f"{B},Fabrikam,,,,,",
    ]
    # The partner fills in Fabrikam and clears Contoso's region.
    path.write_text(f"{lines[0]}\n{A},Contoso,managed,,,,\n{B},Fabrikam,break-fix,retail,silver,,\n")
    result = invoke("segments", "import", str(path), "--by", "bo")
    assert result.exit_code == 0, result.output
    assert "2 customers; 3 attributes set, 1 removed" in result.stderr
    assert attributes(warehouse) == {
        (A, "service_model", "managed", "ana"),  # unchanged: still ana's
        (B, "service_model", "break-fix", "bo"),
        (B, "industry", "retail", "bo"),
        (B, "contract_tier", "silver", "bo"),
    }


def test_an_import_with_a_bad_row_changes_nothing(warehouse: str, tmp_path: Path) -> None:
    invoke("segments", "tag", A, "service_model=managed", "--by", "ana")
    path = tmp_path / "segments.csv"
    path.write_text(f"tenant_id,service_model,industry\n{A},,retail\n{B},managed,{'x' * 101}\n")
    result = invoke("segments", "import", str(path))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {path} row 3: industry: value longer than 100 characters"
    assert attributes(warehouse) == {(A, "service_model", "managed", "ana")}


def test_a_failure_while_writing_rolls_the_whole_import_back(warehouse: str, tmp_path: Path) -> None:
    """All-or-nothing holds in the warehouse too: a row the table refuses undoes the rows written before it."""
    from smart_office.segments.attributes import Attribute
    from smart_office.segments.store import apply

    with psycopg.connect(warehouse) as conn, pytest.raises(psycopg.errors.CheckViolation):
        apply(conn, write=[Attribute(A, "industry", "retail"), Attribute(B, "Bad-Key", "x")], set_by="ana")
    assert attributes(warehouse) == set()
