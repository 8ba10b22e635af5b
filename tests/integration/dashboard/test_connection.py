"""The dashboard reads the marts as the BI reader role, read-only, and never shows the URL's password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from smart_office.dashboard.connection import MartsReader, MartsSource, MartsUnavailableError, open_connection
from smart_office.dashboard.queries.status import warehouse_status
from tests.support.marts_data import LandedPortfolio

pytestmark = pytest.mark.integration

READER = "smart_office_bi_reader"


@pytest.fixture
def reader_source(marts_warehouse: tuple[str, LandedPortfolio]) -> MartsSource:
    return MartsSource(marts_warehouse[0], READER)


@pytest.mark.parametrize(
    "statement",
    [
        "select count(*) from raw.alerts_v2",
        "select count(*) from ops.tenant_runs",
        "select count(*) from staging.stg_graph__alerts",
        "delete from marts.fct_alerts",
        "create temp table scratch (x int)",
    ],
)
def test_the_dashboard_session_cannot_leave_the_marts(reader_source: MartsSource, statement: str) -> None:
    with open_connection(reader_source) as conn:
        assert conn.execute("select current_user").fetchone() == (READER,)
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction)):
            conn.execute(statement)


def test_reader_reads_the_marts(
    reader_source: MartsSource, marts_warehouse: tuple[str, LandedPortfolio]
) -> None:
    reader = MartsReader(reader_source)
    try:
        status = warehouse_status(reader)
    finally:
        reader.close()
    assert status.has_marts
    assert status.customers == len(marts_warehouse[1].tenant_ids)


def test_a_missing_role_is_explained(marts_warehouse: tuple[str, LandedPortfolio]) -> None:
    with pytest.raises(MartsUnavailableError, match="role 'no_such_reader' does not exist yet"):
        open_connection(MartsSource(marts_warehouse[0], "no_such_reader"))


@pytest.fixture
def unreachable_url_with_password(marts_warehouse: tuple[str, LandedPortfolio]) -> str:
    parts = urlsplit(marts_warehouse[0])
    return urlunsplit(parts._replace(netloc="someone:fake-secret-pw@127.0.0.1:1", query=""))


def test_connection_errors_never_show_the_password(unreachable_url_with_password: str) -> None:
    source = MartsSource(unreachable_url_with_password, READER)
    with pytest.raises(MartsUnavailableError) as caught:
        open_connection(source)
    assert "fake-secret-pw" not in str(caught.value)
    assert "someone:***@127.0.0.1:1" in str(caught.value)
    assert "fake-secret-pw" not in repr(source) + str(source) + repr(MartsReader(source))
