"""
### Partner Smart Office — security posture of every customer

Daily: migrate the warehouse's schema → validate and rotate the partner's refresh token → discover customers (Partner Center + GDAP) →
extract Secure Score, control profiles, alerts and incidents for every customer with delegated access,
in shards of `SMART_OFFICE_SHARD_SIZE` tenants → check coverage (fails the run below
`SMART_OFFICE_COVERAGE_THRESHOLD`) → build the dbt marts → publish the `smart_office_marts` asset → (when
`SMART_OFFICE_POWERBI_DATASET_ID` is set) refresh the partner's Power BI semantic model and wait for it.
The dbt build is incremental and tests what it touched; on `SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY` (ISO,
default 7 = Sunday; empty: never) or when triggered with `full_refresh`, it rebuilds and tests everything.

Per-customer failures (consent revoked, Conditional Access, no licence, throttling) are recorded in
`ops.tenant_runs`, never fail a shard; a partner-level failure (expired refresh token, rejected app
credential) fails the first task with one clear message and is not retried (a human must act); transient
failures are. A shard that still fails after its retries costs its tenants, not the run: the coverage gate
runs once every shard is done, closes the run from `ops`, dbt builds what landed, and `enforce_coverage`
then fails the run — and notifies — if coverage is under the threshold. Likewise an invalid posture rules
file (`SMART_OFFICE_EVENT_RULES_FILE`) costs no mart: the rules in force are kept for the build, and
`check_posture_rules` fails the run with the file's one-line error afterwards. Every task has a time limit.
Every step is idempotent, so retries are safe. Configuration: see `smart_office.settings` and the README.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Asset, Param, TriggerRule

from smart_office.notifications import failure_notifiers, refresh_token_expiry_notifiers
from smart_office.operators import (
    CoverageCheckOperator,
    CoverageGateOperator,
    DiscoverCustomersOperator,
    ExtractShardOperator,
    MigrateWarehouseOperator,
    PartnerTokenCheckOperator,
)
from smart_office.operators.dbt import dbt_task_group, full_refresh_condition
from smart_office.operators.events import (
    CheckPostureRulesOperator,
    DeliverPostureEventsOperator,
    LoadPostureRulesOperator,
)
from smart_office.power_bi import power_bi_refresh_config

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
    # A run still going after this is stuck; ops.runs calls such a run `abandoned` (extract/runs.py).
    dagrun_timeout=timedelta(hours=12),
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
        "execution_timeout": timedelta(minutes=15),
    },
) as dag:
    # The first task to reach the warehouse: a login it refuses (a human must act) fails here, at once.
    migrations = MigrateWarehouseOperator(task_id="migrate_warehouse")
    # Transient identity failures are retried inside the task and then by Airflow; errors that need a
    # human (expired refresh token, rejected credential, a missing setting) fail at once (AirflowFailException).
    token = PartnerTokenCheckOperator(
        task_id="validate_partner_token", on_success_callback=refresh_token_expiry_notifiers()
    )
    discovery = DiscoverCustomersOperator(
        task_id="discover_customers", execution_timeout=timedelta(minutes=30)
    )
    # A shard's tenants each have a per-endpoint time limit (SMART_OFFICE_ENDPOINT_TIME_LIMIT_MINUTES); this
    # bounds the shard as a whole.
    extract = ExtractShardOperator.partial(
        task_id="extract_shard", max_active_tis_per_dagrun=8, execution_timeout=timedelta(hours=3)
    ).expand_kwargs(discovery.output)
    # Runs when every shard is done, failed ones included, as long as discovery succeeded.
    gate = CoverageGateOperator(
        task_id="check_coverage", outlets=[RAW_ASSET], trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
    )
    dbt_build = dbt_task_group(
        group_id="dbt_build",
        default_args={"retries": 1, "execution_timeout": timedelta(hours=1)},
        full_refresh_when=full_refresh_condition(
            os.environ.get("SMART_OFFICE_DBT_FULL_REFRESH_WEEKDAY", "7")
        ),
    )
    publish = EmptyOperator(task_id="publish_marts", outlets=[MARTS_ASSET])
    # After the marts (built or not), the run fails — and notifies — if coverage was under the threshold. It
    # needs a closed run: when the gate never ran (the first tasks failed), there is nothing to enforce.
    enforce = CoverageCheckOperator(
        task_id="enforce_coverage", retries=0, trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
    )

    # Posture alert rules (docs/events.md): the rules file is written to ops for dbt's fct_posture_events. An
    # invalid file keeps the rules in force and does not stop dbt; check_posture_rules then fails the run with
    # its one line (check-config says it first), after the marts, whatever became of them. Delivery runs once
    # the marts are published and is upstream of nothing: a channel that stays down fails only this task
    # (retried; the delivery log in ops makes a retry send only what was not delivered), never extraction, the
    # marts or coverage.
    rules = LoadPostureRulesOperator(task_id="load_posture_rules")
    # Retried when the warehouse is unreachable; a rejected file fails it for good (AirflowFailException).
    check_rules = CheckPostureRulesOperator(
        task_id="check_posture_rules", trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS
    )
    deliver = DeliverPostureEventsOperator(
        task_id="deliver_posture_events", trigger_rule=TriggerRule.ALL_SUCCESS, retries=3
    )

    migrations >> token >> discovery >> extract
    [discovery, extract] >> gate >> rules >> dbt_build >> publish
    [gate, publish] >> enforce
    [rules, publish] >> check_rules
    publish >> deliver

    # Optional (SMART_OFFICE_POWERBI_DATASET_ID, docs/bi.md): refresh the partner's Power BI semantic model once
    # the marts are published (all_success: never over a failed build). Nothing waits on it, so its failure
    # fails the run and notifies but costs neither the extraction nor the marts nor the coverage check.
    power_bi = power_bi_refresh_config(os.environ)
    if power_bi is not None:
        from smart_office.operators.power_bi import power_bi_refresh_task

        publish >> power_bi_refresh_task(power_bi)
