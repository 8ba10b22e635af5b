"""`smart-office tenants purge`: no row of the tenant anywhere afterwards (checked over every column of every
table of every schema, not a list), a record with no customer data, and no silent return through discovery."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from emulator.data.directory_objects import contracts, delegated_admin_relationships, partner_center_customers
from emulator.data.portfolio import Portfolio
from smart_office.auth.stores import tenant_secret_name
from smart_office.cli import app
from smart_office.extract.discovery import DiscoveryResult, record_discovery
from smart_office.redaction import Secret
from smart_office.retention.maintenance import run_maintenance
from smart_office.retention.purge import (
    NOT_TENANT_SCOPED,
    TENANT_COLUMN,
    PurgeError,
    PurgeRecord,
    purge_tenant,
    readmit,
    tenant_scoped_tables,
)
from smart_office.retention.settings import RetentionSettings
from smart_office.settings import SettingsError
from smart_office.warehouse.migrations import migrate
from tests.integration.retention.conftest import PURGE_KEY
from tests.support.marts_data import LandedPortfolio, MartsDataSpec, build_marts
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

SPEC = MartsDataSpec(tenants=8, history_days=10, runs=2, seed=5, last_run_failures=(), late_history_days=None)
SEARCHED_TYPES = (
    "text",
    "character varying",
    "character",
    "uuid",
    "json",
    "jsonb",
    "bytea",
    "ARRAY",
    "USER-DEFINED",
)


@pytest.fixture(scope="module")
def built(
    postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, LandedPortfolio]]:
    with fresh_database(postgres_server_url) as url:
        landed = build_marts(url, tmp_path_factory.mktemp("dbt-purge") / "target", SPEC)
        yield url, landed


def tables_mentioning(conn: psycopg.Connection, needle: str) -> dict[str, int]:
    """Every base table of every schema, every column that can hold text (bytea as escaped text): rows holding
    `needle`, case-insensitively. Not a list of known tables: whatever exists is searched."""
    columns = conn.execute(
        """
        select c.table_schema, c.table_name, c.column_name, c.data_type
        from information_schema.columns as c
        inner join information_schema.tables as t using (table_schema, table_name)
        where t.table_type = 'BASE TABLE' and c.table_schema not in ('pg_catalog', 'information_schema')
        """
    ).fetchall()
    found: dict[str, int] = {}
    for schema, table, column, data_type in columns:
        if data_type not in SEARCHED_TYPES:
            continue
        value = (
            sql.SQL("encode({}, 'escape')").format(sql.Identifier(column))
            if data_type == "bytea"
            else sql.SQL("{}::text").format(sql.Identifier(column))
        )
        count = conn.execute(
            sql.SQL("select count(*) from {} where strpos(lower({}), %s) > 0").format(
                sql.Identifier(schema, table), value
            ),
            (needle.lower(),),
        ).fetchone()[0]
        if count:
            name = f"{schema}.{table}"
            found[name] = found.get(name, 0) + count
    return found


def _company_name(conn: psycopg.Connection, tenant: str) -> str:
    return conn.execute("select company_name from ops.customers where tenant_id = %s", (tenant,)).fetchone()[
        0
    ]


def test_tables_without_a_tenant_column_are_exactly_the_declared_ones(
    built: tuple[str, LandedPortfolio],
) -> None:
    url, _ = built
    with psycopg.connect(url) as conn:
        scoped = {t.name for t in tenant_scoped_tables(conn)}
        for (schema, table), why in NOT_TENANT_SCOPED.items():
            columns = [
                r[0]
                for r in conn.execute(
                    "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
                    (schema, table),
                ).fetchall()
            ]
            assert columns, f"{schema}.{table} is declared ({why}) but does not exist"
            assert not any(TENANT_COLUMN.match(c) for c in columns), f"{schema}.{table} has a tenant column"
    assert {
        "raw.alerts_v2",
        "ops.customers",
        "ops.watermarks",
        "marts.fct_alerts",
        "marts.dim_customers",
    } <= scoped
    assert "intermediate.int_control_profiles_deduplicated" in scoped


def test_a_new_table_without_a_tenant_column_stops_the_purge(warehouse_url: str) -> None:
    tenant = "22222222-2222-2222-2222-222222222222"
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        migrate(conn)
        conn.execute(
            "insert into ops.watermarks (tenant_id, endpoint, watermark, run_id) values (%s, 'alerts_v2', now(), 'r')",
            (tenant,),
        )
        conn.execute("create schema marts")
        conn.execute("create table marts.rpt_new_rollup (customers integer)")
        with pytest.raises(PurgeError, match=r"marts\.rpt_new_rollup"):
            purge_tenant(conn, tenant, key=PURGE_KEY, purged_by="test", purged_at=datetime.now(UTC))
        assert conn.execute("select count(*) from ops.watermarks").fetchone()[0] == 1
        assert conn.execute("select count(*) from ops.purges").fetchone()[0] == 0


def test_purge_leaves_no_row_of_the_tenant_anywhere(built: tuple[str, LandedPortfolio]) -> None:
    url, landed = built
    tenant, other = landed.extractable[0], landed.extractable[1]
    with psycopg.connect(url, autocommit=True) as conn:
        name = _company_name(conn, tenant)
        # A table dbt (or a later version) adds is covered by its tenant column, whatever it is called.
        conn.execute("create table marts.fct_added_later (customer_tenant_id text, note text)")
        conn.execute("insert into marts.fct_added_later values (%s, 'x'), (%s, 'y')", (tenant, other))
        # Per-tenant entries of the token store (the tenants' own refresh tokens) go; others stay.
        for owner in (tenant, other):
            conn.execute(
                "insert into ops.token_store (name, ciphertext, key_id, version, issued_at)"
                " values (%s, 'x', 'k', 1, now())",
                (tenant_secret_name(owner, "refresh-token"),),
            )
        conn.execute(
            "insert into ops.token_store (name, ciphertext, key_id, version, issued_at)"
            " values ('smart-office-refresh-token', 'x', 'k', 1, now())"
        )
        # What people did with the tenant's posture events, and their delivery log, go with the events.
        conn.execute(
            "insert into marts.fct_posture_events (event_id, tenant_id) values ('event-of-the-purged', %s),"
            " ('event-of-another', %s)",
            (tenant, other),
        )
        for event in ("event-of-the-purged", "event-of-another"):
            conn.execute(
                "insert into ops.posture_event_actions (event_id, action_type, actor, acted_at)"
                " values (%s, 'ack', 'alice', now())",
                (event,),
            )
            conn.execute(
                "insert into ops.posture_event_deliveries (event_id, transition, channel, attempt, attempted_at,"
                " delivered) values (%s, 'raised', 'webhook', 1, now(), true)",
                (event,),
            )
        before = tables_mentioning(conn, tenant)
        assert {
            "raw.alerts_v2",
            "raw.secure_scores",
            "ops.customers",
            "ops.tenant_runs",
            "marts.fct_alerts",
        } <= set(before), before
        assert len(before) >= 15, before

        record = purge_tenant(
            conn, tenant, key=PURGE_KEY, purged_by="dpo@partner", purged_at=datetime.now(UTC)
        )

        assert tables_mentioning(conn, tenant) == {}
        assert tables_mentioning(conn, name) == {}, "nor its name (the record holds neither)"
        assert record.tables["ops.token_store"] == 1
        assert record.tables["marts.fct_added_later"] == 1
        assert record.tables["ops.posture_event_actions"] == 1
        assert record.tables["ops.posture_event_deliveries"] == 1
        assert conn.execute(
            "select array_agg(a.event_id order by a.event_id) from ops.posture_event_actions as a"
            " join ops.posture_event_deliveries as d using (event_id)"
        ).fetchone()[0] == ["event-of-another"]
        assert tables_mentioning(conn, other), "another customer's rows stay"
        assert (
            conn.execute(
                "select count(*) from ops.token_store where name in (%s, 'smart-office-refresh-token')",
                (tenant_secret_name(other, "refresh-token"),),
            ).fetchone()[0]
            == 2
        )
        stored = conn.execute(
            "select p::text, row_counts, rows_deleted, reason, blocks_return, purged_by from ops.purges as p"
            " where purge_id = %s",
            (record.purge_id,),
        ).fetchone()
    text, tables, rows_deleted, reason, blocks, by = stored
    assert tenant not in text.lower()
    assert tenant.replace("-", "") not in text.lower()
    assert name.lower() not in text.lower()
    assert tables == record.tables
    assert rows_deleted == record.rows_deleted > 0
    assert (reason, blocks, by) == ("request", True, "dpo@partner")
    assert tables["raw.alerts_v2"] > 0
    assert tables["marts.fct_alerts"] > 0


def _discover(url: str, run_id: str, at: datetime) -> DiscoveryResult:
    portfolio = Portfolio(SPEC.seed, SPEC.tenants, SPEC.as_of)

    async def run() -> DiscoveryResult:
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        try:
            return await record_discovery(
                conn,
                run_id=run_id,
                customers=partner_center_customers(portfolio, at),
                relationships=delegated_admin_relationships(portfolio, at),
                dap_tenants={str(c["customerId"]).lower() for c in contracts(portfolio, at)},
                excluded=frozenset(),
                seen_at=at,
            )
        finally:
            await conn.close()

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into ops.runs (run_id, logical_date, started_at) values (%s, %s, %s)", (run_id, at, at)
        )
    return asyncio.run(run())


def test_a_purged_tenant_partner_center_still_lists_stays_out_until_readmitted(
    built: tuple[str, LandedPortfolio], purge_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, landed = built
    tenant = landed.extractable[2]
    at = SPEC.as_of + timedelta(days=1)
    with psycopg.connect(url, autocommit=True) as conn:
        purge_tenant(conn, tenant, key=purge_key, purged_by="test", purged_at=at)
        blocked = conn.execute(
            "select count(distinct tenant_hash) from ops.purges where blocks_return and readmitted_at is null"
        ).fetchone()[0]

    found = _discover(url, "test/after-purge", at)

    assert found.purged == blocked >= 1
    with psycopg.connect(url) as conn:
        assert tables_mentioning(conn, tenant) == {}, "nothing of it landed again"

    monkeypatch.delenv("SMART_OFFICE_PURGE_KEY")
    with pytest.raises(SettingsError, match="SMART_OFFICE_PURGE_KEY"):
        _discover(url, "test/no-key", at)
    monkeypatch.setenv("SMART_OFFICE_PURGE_KEY", purge_key)

    with psycopg.connect(url, autocommit=True) as conn:
        assert readmit(conn, tenant, key=purge_key, readmitted_by="test", at=at) == 1
    again = _discover(url, "test/readmitted", at + timedelta(hours=1))
    assert again.purged == blocked - 1
    with psycopg.connect(url) as conn:
        assert (
            conn.execute("select count(*) from ops.customers where tenant_id = %s", (tenant,)).fetchone()[0]
            == 1
        )


def test_departed_customers_are_purged_n_days_after_departure_by_logical_time(
    built: tuple[str, LandedPortfolio], purge_key: str
) -> None:
    url, landed = built
    tenant = landed.extractable[3]
    departed_at = SPEC.as_of - timedelta(days=40)
    settings = RetentionSettings(purge_departed_after_days=30, purge_key=Secret(purge_key))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update ops.customers set departed_at = null")
        conn.execute("update ops.customers set departed_at = %s where tenant_id = %s", (departed_at, tenant))

    early = run_maintenance(
        url, settings, as_of=departed_at + timedelta(days=30, seconds=-1), run_label="m/1"
    )
    with psycopg.connect(url) as conn:
        assert early["departed_purged"] == 0
        assert tables_mentioning(conn, tenant), "29 days and a bit after: still there"

    due = departed_at + timedelta(days=30)
    done = run_maintenance(url, settings, as_of=due, run_label="maintenance:m/2")
    with psycopg.connect(url) as conn:
        assert done["departed_purged"] == 1
        assert done["departed_rows_deleted"] > 0
        assert tables_mentioning(conn, tenant) == {}
        row = conn.execute(
            "select reason, blocks_return, purged_at, purged_by from ops.purges order by purge_id desc limit 1"
        ).fetchone()
    assert row == ("departed", False, due, "maintenance:m/2")


def test_cli_asks_before_purging(built: tuple[str, LandedPortfolio], purge_key: str) -> None:
    url, landed = built
    tenant = landed.extractable[4]
    env = {"SMART_OFFICE_WAREHOUSE_URL": url, "SMART_OFFICE_PURGE_KEY": purge_key}
    runner = CliRunner()

    declined = runner.invoke(app, ["tenants", "purge", tenant], input="n\n", env=env)
    assert declined.exit_code == 1
    with psycopg.connect(url) as conn:
        assert tables_mentioning(conn, tenant)

    no_key = runner.invoke(
        app, ["tenants", "purge", tenant, "--yes"], env={**env, "SMART_OFFICE_PURGE_KEY": ""}
    )
    assert no_key.exit_code == 2
    assert "SMART_OFFICE_PURGE_KEY" in no_key.output

    done = runner.invoke(app, ["tenants", "purge", tenant.upper(), "--yes", "--by", "dpo"], env=env)
    assert done.exit_code == 0, done.output
    assert re.search(r"purge \d+: [\d,]+ rows? in [\d,]+ tables?, \d+ secrets? deleted", done.output)
    assert tenant not in done.output
    with psycopg.connect(url) as conn:
        assert tables_mentioning(conn, tenant) == {}


def test_a_dbt_rebuild_racing_the_purge_does_not_bring_the_rows_back(
    built: tuple[str, LandedPortfolio], purge_key: str
) -> None:
    """dbt rebuilds a table as `create … as select`, then renames it over the old one: a rebuild that read the
    tenant's rows before the purge must not put them back after it."""
    url, landed = built
    with psycopg.connect(url) as conn:
        with_alerts = {r[0] for r in conn.execute("select distinct tenant_id::text from marts.fct_alerts")}
    tenant = next(t for t in landed.extractable[5:] if t in with_alerts)

    def purge() -> PurgeRecord:
        with psycopg.connect(url, autocommit=True) as conn:
            return purge_tenant(conn, tenant, key=purge_key, purged_by="test", purged_at=datetime.now(UTC))

    with psycopg.connect(url) as rebuild, ThreadPoolExecutor(1) as pool:
        rebuild.execute("create table marts.fct_alerts__dbt_tmp as select * from marts.fct_alerts")
        assert rebuild.execute(
            "select count(*) from marts.fct_alerts__dbt_tmp where tenant_id = %s", (tenant,)
        ).fetchone()[0]
        running = pool.submit(purge)
        time.sleep(1.5)
        assert not running.done(), "the purge waits for the build that read the table"
        rebuild.execute("alter table marts.fct_alerts rename to fct_alerts__dbt_backup")
        rebuild.execute("alter table marts.fct_alerts__dbt_tmp rename to fct_alerts")
        rebuild.execute("drop table marts.fct_alerts__dbt_backup cascade")  # as dbt-postgres drops
        rebuild.commit()
        record = running.result(timeout=300)

    assert record.tables["marts.fct_alerts"] > 0
    with psycopg.connect(url) as conn:
        assert tables_mentioning(conn, tenant) == {}
