"""`dbt build` with every test on what the pipeline landed from the emulator — and the incremental build
after a new day equals a full rebuild of the same data."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from emulator.data.alerts import alerts_as_of
from emulator.data.incidents import incidents_as_of
from emulator.data.portfolio import Portfolio
from emulator.data.timestamps import from_us
from smart_office.dbt_runner import run_dbt
from smart_office.extract.shard import shard_tenants
from smart_office.pipeline import (
    check_partner_token,
    discover_customers,
    extract_shard,
    finalize_run,
    prepare_warehouse,
)
from smart_office.settings import Settings
from tests.support.emulator import EmulatorHandle
from tests.support.partner import seeded_partner_env
from tests.support.warehouse import fresh_database

pytestmark = pytest.mark.slow

MARTS = (
    "dim_customers",
    "dim_controls",
    "fct_secure_scores",
    "fct_control_scores",
    "fct_control_adoption",
    "fct_customer_control_adoption",
    "fct_alerts",
    "fct_alert_volume_daily",
    "fct_incidents",
    "rpt_customer_posture",
    "rpt_opportunities",
    "fct_ingestion_coverage",
    "fct_tenant_freshness",
)


def _run_pipeline(settings: Settings, run_id: str, as_of: datetime) -> None:
    prepare_warehouse(settings)
    check_partner_token(settings, as_of=as_of)
    plan = discover_customers(settings, run_id=run_id, as_of=as_of)
    for shard in range(plan["shards"]):
        extract_shard(settings, run_id=run_id, shard=shard, shards=plan["shards"], as_of=as_of)
    finalize_run(settings, run_id=run_id)


# What a mart's content must equal after an incremental build and after a full refresh: its key and the
# columns incremental logic computes. Doubles are rounded: a sum depends on the order rows are added in.
DIGESTS = {
    "fct_alerts": ("alert_key", ["status", "resolved_at"]),
    "fct_control_scores": ("control_score_id", ["score", "control_state"]),
    "fct_alert_volume_daily": ("alert_volume_id", ["alerts_created", "alerts_resolved", "open_backlog"]),
    "fct_incidents": ("incident_key", ["status", "alert_count", "open_alert_count", "last_updated_at"]),
    "fct_secure_scores": (
        "secure_score_id",
        [
            f"round({c}::numeric, 6)"
            for c in (
                "secure_score_pct",
                "identity_score_pct",
                "data_score_pct",
                "device_score_pct",
                "apps_score_pct",
            )
        ],
    ),
}


def _snapshot(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        snapshot: dict[str, Any] = {
            "counts": {m: conn.execute(f"select count(*) from marts.{m}").fetchone()[0] for m in MARTS}  # noqa: S608
        }
        for mart, (key, columns) in DIGESTS.items():
            row = ", ".join([key, *columns])
            snapshot[mart] = conn.execute(
                f"select md5(string_agg(concat_ws('/', {row}), ',' order by {key})) from marts.{mart}"  # noqa: S608
            ).fetchone()[0]
    return snapshot


def _build(url: str, target: Path, *args: str) -> None:
    """`dbt build` (with `args`) that must pass every model and test."""
    result = run_dbt(["build", *args], url, capture=True, target_path=target)
    assert result.returncode == 0, result.stdout[-6000:]


INCREMENTAL_KEYS = {
    "fct_alerts": "alert_key",
    "fct_control_scores": "control_score_id",
    "fct_secure_scores": "secure_score_id",
    "fct_incidents": "incident_key",
    "fct_alert_volume_daily": "alert_volume_id",
}


def _assert_incremental_marts_are_cheap_to_update(url: str, target: Path) -> None:
    """What keeps a daily build from scanning history: a unique index on each merge key, an index on the
    watermark, statistics (the analyze post-hook), and the watermark compiled in as a literal."""
    with psycopg.connect(url) as conn:
        for mart, key in INCREMENTAL_KEYS.items():
            indexed = {
                (row[0], row[1])
                for row in conn.execute(
                    """
                    select a.attname, i.indisunique
                    from pg_index i
                    join pg_class c on c.oid = i.indrelid
                    join pg_namespace n on n.oid = c.relnamespace
                    join pg_attribute a on a.attrelid = c.oid and a.attnum = i.indkey[0]
                    where n.nspname = 'marts' and c.relname = %s and i.indnatts = 1
                    """,
                    (mart,),
                )
            }
            assert (key, True) in indexed, mart
            assert ("extracted_at", False) in indexed, mart
            analysed = conn.execute(
                "select count(*) from pg_stats where schemaname = 'marts' and tablename = %s", (mart,)
            ).fetchone()[0]
            assert analysed > 0, f"{mart} has no statistics"
    compiled = (
        target / "compiled" / "smart_office" / "models" / "marts" / "alerts" / "fct_alerts.sql"
    ).read_text()
    assert re.search(r"extracted_at > '\d{4}-\d\d-\d\d [^']+'::timestamptz", compiled), compiled


def _assert_marts_hold_everything_graph_serves(url: str, now: datetime) -> None:
    """fct_alerts and fct_incidents hold exactly the alerts and incidents Graph lists for each loaded customer
    (all 180 days Defender keeps), by the emulator's data layer: an oracle none of the pipeline's code is in."""
    with psycopg.connect(url) as conn:
        loaded = {
            (tenant, endpoint)
            for tenant, endpoint in conn.execute(
                "select tenant_id::text, endpoint from ops.tenant_runs where run_id = 'run-1' and outcome = 'loaded'"
            )
        }
        marts = {
            name: set(conn.execute(f"select tenant_id::text, {key} from marts.{name}").fetchall())  # noqa: S608
            for name, key in (("fct_alerts", "alert_id"), ("fct_incidents", "incident_id"))
        }
    served: dict[str, set[tuple[str, str]]] = {"fct_alerts": set(), "fct_incidents": set()}
    for customer in Portfolio(SEED, TENANTS, NOW):
        tenant = customer.tenant_id
        if (tenant, "alerts_v2") in loaded:
            served["fct_alerts"] |= {(tenant, a.skeleton.id) for a in alerts_as_of(customer, now)}
        if (tenant, "incidents") in loaded:
            served["fct_incidents"] |= {(tenant, i.skeleton.id) for i in incidents_as_of(customer, now)}
    for name, expected in served.items():
        assert expected, name
        assert marts[name] == expected, name
    oldest = min(
        from_us(a.skeleton.created_us) for c in Portfolio(SEED, TENANTS, NOW) for a in alerts_as_of(c, now)
    )
    assert oldest < now - timedelta(days=150)  # the whole retention, not a first month


def _assert_planner_coverage_and_dimension_agree(url: str, run_id: str) -> None:
    """Which customers are extractable, for the run's snapshot: the shard planner's tenants, the customers its
    coverage attempted, and the extractable customers of dim_customers (built by dbt from the landed payloads)
    are one set — one rule (ops.is_extractable over ops.classify_customer_access), three readers. And dbt's
    classification of the landed relationships is the one discovery recorded for the snapshot."""
    with psycopg.connect(url) as conn:
        planned = {tenant for shard in range(3) for tenant in shard_tenants(conn, run_id, shard, 3)}
        attempted = {
            row[0]
            for row in conn.execute(
                "select tenant_id::text from ops.run_coverage where run_id = %s and outcome <> 'not_extractable'",
                (run_id,),
            )
        }
        dimension = {
            row[0]
            for row in conn.execute("select tenant_id::text from marts.dim_customers where is_extractable")
        }
        recorded = set(
            conn.execute(
                "select tenant_id::text, access_state from ops.customer_snapshots where run_id = %s and not is_departed",
                (run_id,),
            ).fetchall()
        )
        classified = set(
            conn.execute(
                "select tenant_id::text, access_state from marts.dim_customers where not is_departed"
            )
        )
    assert planned
    assert planned == attempted == dimension
    assert recorded == classified
    assert {state for _, state in classified} > {"gdap"}, "the portfolio exercises more than one access state"


SEED, TENANTS, NOW = 21, 12, datetime.fromisoformat("2026-11-02T09:00:00+00:00")


@pytest.fixture
def landed(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> Iterator[tuple[EmulatorHandle, Settings, str, datetime]]:
    handle = emulator_factory(tenants=TENANTS, seed=SEED, now=NOW.isoformat())
    with fresh_database(postgres_server_url) as url:
        settings = Settings.from_env(
            {**seeded_partner_env(handle, url, tmp_path), "SMART_OFFICE_COVERAGE_THRESHOLD": "0"}
        )
        now = datetime.fromisoformat(handle.admin_get("/clock")["now"])
        _run_pipeline(settings, "run-1", now)
        yield handle, settings, url, now


def _assert_seat_bands_follow_licences(url: str) -> None:
    """Every customer with a Secure Score gets the seat band of the licensedUserCount Graph last sent (read here
    from the raw payloads, the bands from the seed's CSV), since the partner set none (docs/segments.md)."""
    import csv

    from smart_office.dbt_runner import DBT_PROJECT_DIR

    with (DBT_PROJECT_DIR / "seeds" / "seat_bands.csv").open() as bands_file:
        bands = [
            (int(r["min_seats"]), int(r["max_seats"] or 10**9), r["seat_band"])
            for r in csv.DictReader(bands_file)
        ]
    with psycopg.connect(url) as conn:
        latest = conn.execute(
            """
            select distinct on (tenant_id) tenant_id::text, (payload ->> 'licensedUserCount')::integer
            from raw.secure_scores
            where payload ->> 'licensedUserCount' ~ '^[0-9]+$'
            order by tenant_id, payload ->> 'createdDateTime' desc, extracted_at desc
            """
        ).fetchall()
        shown = dict(
            conn.execute(
                "select tenant_id::text, seat_band || '/' || seat_band_source from marts.dim_customers"
                " where seat_band is not null"
            ).fetchall()
        )
    expected = {
        tenant: f"{band}/licences"
        for tenant, seats in latest
        for low, high, band in bands
        if low <= seats <= high
    }
    assert expected
    assert shown == expected


def test_dbt_build_passes_every_test_and_incremental_equals_full_refresh(
    landed: tuple[EmulatorHandle, Settings, str, datetime], tmp_path: Path
) -> None:
    handle, settings, url, now = landed
    target = tmp_path / "target"
    _build(url, target)
    with psycopg.connect(url) as conn:
        raw_days = conn.execute("select count(distinct entity_id) from raw.secure_scores").fetchone()[0]
        raw_alerts = conn.execute(
            "select count(distinct (tenant_id, entity_id)) from raw.alerts_v2"
        ).fetchone()[0]
        posture = conn.execute("select count(*) from marts.rpt_customer_posture").fetchone()[0]
        customers = conn.execute("select count(*) from ops.customers").fetchone()[0]
    snapshot = _snapshot(url)
    assert snapshot["counts"]["fct_secure_scores"] == raw_days > 0
    assert snapshot["counts"]["fct_alerts"] == raw_alerts > 0
    assert posture == customers
    _assert_marts_hold_everything_graph_serves(url, now)
    _assert_planner_coverage_and_dimension_agree(url, "run-1")
    _assert_seat_bands_follow_licences(url)

    # A new day: the pipeline lands it, the incremental build processes only it …
    handle.admin_post("/clock/advance", {"days": 1})
    _run_pipeline(settings, "run-2", now + timedelta(days=1))
    _build(url, target)
    _assert_incremental_marts_are_cheap_to_update(url, target)
    _assert_planner_coverage_and_dimension_agree(url, "run-2")
    after_incremental = _snapshot(url)
    assert after_incremental["counts"]["fct_secure_scores"] > snapshot["counts"]["fct_secure_scores"]
    # … and ends where a rebuild from scratch of the same raw data ends.
    _build(url, target, "--full-refresh")
    assert _snapshot(url) == after_incremental


def test_daily_tests_check_recent_rows_and_full_refresh_checks_all(
    landed: tuple[EmulatorHandle, Settings, str, datetime], tmp_path: Path
) -> None:
    _, _, url, _ = landed
    target = tmp_path / "target"
    _build(url, target)
    orphan = "select '00000000-0000-4000-8000-0000000000ff'::uuid"
    with psycopg.connect(url) as conn:
        # An alert of a customer the warehouse does not know, landed long before the latest run.
        conn.execute(
            f"update marts.fct_alerts set tenant_id = ({orphan}), extracted_at = '2026-01-01T00:00:00Z' "  # noqa: S608
            "where alert_key = (select min(alert_key) from marts.fct_alerts)"
        )
    select = ["--select", "relationships_fct_alerts_tenant_id__tenant_id__ref_dim_customers_"]
    daily = run_dbt(["test", *select], url, capture=True, target_path=target)
    assert daily.returncode == 0, daily.stdout[-3000:]
    everything = run_dbt(
        ["test", *select, "--vars", "{data_test_scope: all}"], url, capture=True, target_path=target
    )
    assert everything.returncode == 1
    assert "Got 1 result" in everything.stdout
    with psycopg.connect(url) as conn:
        # Landed by the latest run: a daily build's tests see it.
        conn.execute(
            "update marts.fct_alerts set extracted_at = now() where extracted_at = '2026-01-01T00:00:00Z'"
        )
    daily_again = run_dbt(["test", *select], url, capture=True, target_path=target)
    assert daily_again.returncode == 1
    bad_scope = run_dbt(
        ["test", *select, "--vars", "{data_test_scope: some}"], url, capture=True, target_path=target
    )
    assert bad_scope.returncode != 0
    assert "data_test_scope must be 'recent' or 'all'" in bad_scope.stdout
