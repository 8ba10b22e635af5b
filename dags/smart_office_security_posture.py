"""
### Partner Smart Office — security posture of every customer

Daily: validate and rotate the partner's refresh token → discover customers (Partner Center + GDAP) →
extract Secure Score, control profiles, alerts and incidents for every customer with delegated access,
in shards of `SMART_OFFICE_SHARD_SIZE` tenants → check coverage (fails the run below
`SMART_OFFICE_COVERAGE_THRESHOLD`) → build the dbt marts → publish the `smart_office_marts` asset.
The dbt build is incremental and tests what it touched; on `SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY` (ISO,
default 7 = Sunday; empty: never) or when triggered with `full_refresh`, it rebuilds and tests everything.

Per-customer failures (consent revoked, Conditional Access, no licence, throttling) are recorded in
`ops.tenant_runs`, never fail a shard; a partner-level failure (expired refresh token, rejected app
credential) fails the first task with one clear message. Every step is idempotent, so retries are safe.
Configuration: see `smart_office.settings` and the README.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param

from smart_office.notifications import failure_notifiers, refresh_token_expiry_notifiers
from smart_office.operators import (
    CoverageGateOperator,
    DiscoverCustomersOperator,
    ExtractShardOperator,
    PartnerTokenCheckOperator,
)
from smart_office.operators.dbt import dbt_task_group, full_refresh_condition

RAW_ASSET = Asset("smart_office_raw", uri="smart-office://warehouse/raw")
MARTS_ASSET = Asset("smart_office_marts", uri="smart-office://warehouse/marts")

with DAG(
    dag_id="smart_office_security_posture",
    description="Secure Score, control profiles, alerts and incidents of every CSP customer into the warehouse",
    doc_md=__doc__,
    schedule=os.environ.get("SMART_OFFICE_SCHEDULE", "@daily"),
    start_date=datetime(2026, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    tags=["smart-office", "security", "extract"],
    params={
        "full_refresh": Param(
            False,
            type="boolean",
            description="Rebuild every dbt model from raw and test every row (also done weekly, see README).",
        )
    },
    # SMART_OFFICE_ALERT_WEBHOOK_URL / SMART_OFFICE_ALERT_EMAILS: failed tasks and runs reach a human.
    on_failure_callback=failure_notifiers(event="run failed"),
    default_args={
        "on_failure_callback": failure_notifiers(),
        "owner": "data-engineering",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    },
) as dag:
    token = PartnerTokenCheckOperator(
        task_id="validate_partner_token", retries=0, on_success_callback=refresh_token_expiry_notifiers()
    )
    discovery = DiscoverCustomersOperator(task_id="discover_customers")
    extract = ExtractShardOperator.partial(
        task_id="extract_shard", max_active_tis_per_dagrun=8
    ).expand_kwargs(discovery.output)
    gate = CoverageGateOperator(task_id="check_coverage", outlets=[RAW_ASSET])
    dbt_build = dbt_task_group(
        group_id="dbt_build",
        default_args={"retries": 1},
        full_refresh_when=full_refresh_condition(
            os.environ.get("SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY", "7")
        ),
    )
    publish = EmptyOperator(task_id="publish_marts", outlets=[MARTS_ASSET])

    token >> discovery >> extract >> gate >> dbt_build >> publish
