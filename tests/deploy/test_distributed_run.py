"""The distributed path without Docker: the compose file's Airflow settings (CeleryExecutor, Redis broker,
PostgreSQL metadata database and result backend, the warehouse as an Airflow connection) run as separate
processes on this machine — api-server, scheduler, dag-processor and two Celery workers, each worker with
its own hostname — against the local Redis (127.0.0.1:6379) and PostgreSQL (127.0.0.1:5432) services.

The real DAG extracts a small emulated portfolio in several shards. The test checks that shards ran on
both workers, that every customer was extracted by exactly one shard, and that the warehouse holds the
same rows, once each, as a single-process run of the same pipeline against the same emulator.

    .venv/bin/pytest tests/deploy/test_distributed_run.py -v     (about 2-3 minutes on 2 cores)

Needs: root or unprivileged user namespaces (`unshare --uts`, for the workers' hostnames), Redis and
PostgreSQL (trust auth for `postgres`) on localhost; SMART_OFFICE_TEST_PG_URL / SMART_OFFICE_TEST_REDIS_URL
point elsewhere.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.deploy.cluster import (
    AirflowCluster,
    can_unshare_uts,
    compose_settings_for_local_services,
    free_port,
    scratch_database,
)
from tests.deploy.compose import REPO
from tests.support.services import missing_services

DAG_ID = "smart_office_security_posture"

_SERVICES_MISSING = missing_services(postgres=True, redis=True)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.integration,
    pytest.mark.timeout(420),
    pytest.mark.skipif(_SERVICES_MISSING is not None, reason=str(_SERVICES_MISSING)),
]

PG_URL = os.environ.get("SMART_OFFICE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SMART_OFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
TENANTS = 24
SHARD_SIZE = 4
WORKERS = ("worker-a", "worker-b")
RAW_TABLES = (
    "partner_center_customers",
    "gdap_relationships",
    "secure_scores",
    "secure_score_control_profiles",
    "alerts_v2",
    "incidents",
)


_STARTED = time.monotonic()


def _phase(what: str) -> None:
    """Progress with elapsed seconds (shown with -s, and with the output of a failure)."""
    print(f"[{time.monotonic() - _STARTED:6.1f}s] {what}", flush=True)


@pytest.fixture
def databases() -> Iterator[dict[str, str]]:
    """Fresh Airflow metadata, warehouse and single-process reference databases on the local server."""
    with (
        scratch_database(PG_URL, "so_airflow") as metadata,
        scratch_database(PG_URL, "so_warehouse") as warehouse,
        scratch_database(PG_URL, "so_reference") as reference,
    ):
        yield {"metadata": metadata, "warehouse": warehouse, "reference": reference}


@pytest.fixture
def celery_queue() -> Iterator[str]:
    """A queue of this test alone on the shared Redis; its keys are deleted afterwards."""
    import redis

    queue = f"smart_office_test_{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL)
    client.ping()
    yield queue
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)
    # Messages of tasks still running when the workers were stopped wait in kombu's shared `unacked` hash.
    for tag, message in client.hgetall("unacked").items():
        if json.loads(message)[-1] == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)
    client.close()


def _metadata_rows(metadata_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(metadata_url) as conn:
        return conn.execute(query, params).fetchall()


def _raw_keys(warehouse_url: str) -> dict[str, list[tuple[str, str, bytes]]]:
    keys = {}
    with psycopg.connect(warehouse_url) as conn:
        for table in RAW_TABLES:
            keys[table] = conn.execute(
                f"select tenant_id::text, entity_id, payload_hash from raw.{table} order by 1, 2, 3"  # noqa: S608 - fixed names
            ).fetchall()
    return keys


def _setup_emulated_partner(tmp_path: Path, warehouse_url: str) -> tuple[Any, dict[str, str]]:
    """The emulator, and register-app + consent against it exactly as the demo does."""
    from cryptography.fernet import Fernet

    from emulator.launcher import start_emulator
    from smart_office_demo.demo import setup_partner

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
    emulator = start_emulator(
        tenants=TENANTS,
        seed=7,
        now=now,
        state_dir=tmp_path / "emulator",
        fault_profile="none",
        log_file=tmp_path / "emulator.log",
    )
    endpoints_file = tmp_path / "endpoints.json"
    endpoints_file.write_text(json.dumps(emulator.endpoints))
    env = {
        **os.environ,
        "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints_file),
        "SMART_OFFICE_PARTNER_TENANT_ID": emulator.endpoints["partner_tenant_id"],
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": Fernet.generate_key().decode(),
        "SMART_OFFICE_WAREHOUSE_URL": warehouse_url,
    }
    setup_partner(
        emulator.endpoints, env, tmp_path
    )  # migrate, register-app, consent; sets SMART_OFFICE_CLIENT_ID
    return emulator, env


def _single_process_run(env: dict[str, str], source_url: str, reference_url: str, as_of: datetime) -> None:
    """The same pipeline in this process, one shard, into the reference warehouse."""
    from smart_office.pipeline import discover_customers, extract_shard, finalize_run, prepare_warehouse
    from smart_office.settings import Settings

    settings = Settings.from_env({**env, "SMART_OFFICE_WAREHOUSE_URL": reference_url})
    prepare_warehouse(settings)
    # The partner's (already rotated) refresh token and app credential, as ciphertext under the same key.
    with psycopg.connect(source_url) as source, psycopg.connect(reference_url) as target:
        rows = source.execute(
            "select name, ciphertext, key_id, version, issued_at from ops.token_store"
        ).fetchall()
        with target.cursor() as cur:
            cur.executemany(
                "insert into ops.token_store (name, ciphertext, key_id, version, issued_at) "
                "values (%s, %s, %s, %s, %s)",
                rows,
            )
    plan = discover_customers(settings, run_id="reference", as_of=as_of)
    extract_shard(settings, run_id="reference", shard=0, shards=1, as_of=as_of)
    assert plan["shards"] >= 1
    finalize_run(settings, run_id="reference")


def test_shards_spread_over_two_celery_workers_and_every_row_lands_once(
    tmp_path: Path, databases: dict[str, str], celery_queue: str
) -> None:
    assert can_unshare_uts(), "`unshare --uts` is refused: run as root (the workers need their own hostnames)"
    from smart_office.dbt_runner import build_manifest

    home = Path(tempfile.mkdtemp(prefix="airflow-", dir=tmp_path))
    api_port = free_port()
    env = compose_settings_for_local_services(
        metadata_url=databases["metadata"].replace("postgresql://", "postgresql+psycopg2://", 1),
        broker_url=REDIS_URL,
        warehouse_url=databases["warehouse"],
        api_port=api_port,
        overrides={
            # The partner's ids and key come from the emulator setup below; compose requires a value now.
            "SMART_OFFICE_PARTNER_TENANT_ID": "set-after-the-emulator-starts",
            "SMART_OFFICE_SHARD_SIZE": str(SHARD_SIZE),
            "SMART_OFFICE_TENANT_CONCURRENCY": "4",
        },
    )
    # The compose file runs the image, whose code and settings live in the image; here they live in this
    # checkout: same DAG, package and plugins folder, and the emulator's endpoint
    # set instead of Microsoft's (the only difference the architecture allows).
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": celery_queue,
            "AIRFLOW__API__PORT": str(api_port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            # The only run is the one the test triggers: unpausing would otherwise queue the latest
            # scheduled interval, which may start first (max_active_runs=1) and extract as well.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
    )
    cluster = AirflowCluster(home, env)
    global _STARTED
    _STARTED = time.monotonic()
    # Airflow's migration and the dbt manifest (the DAG's Cosmos group renders from it) run while the
    # emulator starts and the partner is set up.
    with ThreadPoolExecutor(max_workers=2) as pool:
        migrated = pool.submit(cluster.run, "db", "migrate")
        manifest = pool.submit(build_manifest, target_path=tmp_path / "dbt-target")
        emulator, partner_env = _setup_emulated_partner(tmp_path, databases["warehouse"])
        _phase("emulator up, app registered, partner consented")
        try:
            migrated.result()
            _phase("Airflow metadata database migrated, dbt manifest built")
            cluster.env.update(
                {
                    "SMART_OFFICE_PARTNER_TENANT_ID": partner_env["SMART_OFFICE_PARTNER_TENANT_ID"],
                    "SMART_OFFICE_CLIENT_ID": partner_env["SMART_OFFICE_CLIENT_ID"],
                    "SMART_OFFICE_TOKEN_STORE_KEY": partner_env["SMART_OFFICE_TOKEN_STORE_KEY"],
                    "SMART_OFFICE_ENDPOINTS_FILE": partner_env["SMART_OFFICE_ENDPOINTS_FILE"],
                    "SMART_OFFICE_DBT_MANIFEST": str(manifest.result()),
                }
            )
            # What docker-compose's airflow-init runs before anything else starts.
            preflight = subprocess.run(
                [sys.executable, "-m", "smart_office.preflight"],
                env=cluster.env,
                capture_output=True,
                text=True,
                check=False,
            )
            verdict = preflight.stderr.strip().splitlines()[:1]  # then the scope it reports
            assert (preflight.returncode, verdict) == (0, ["configuration: OK"]), preflight.stderr
            reported: dict[str, int] = {}
            try:
                _run_distributed(cluster, databases, celery_queue, api_port, reported)
            finally:
                cluster.stop()
            _check_warehouse(databases, partner_env, reported["shard_tenants"])
            _phase("warehouse matches the single-process run")
        finally:
            emulator.stop()


def _run_distributed(
    cluster: AirflowCluster,
    databases: dict[str, str],
    queue: str,
    api_port: int,
    return_values: dict[str, int],
) -> None:
    metadata = databases["metadata"]
    cluster.start_airflow("api-server", "api-server", "--port", str(api_port))
    cluster.start_airflow("scheduler", "scheduler")
    cluster.start_airflow("dag-processor", "dag-processor")
    for name in WORKERS:
        cluster.start_worker(name, queue=queue, concurrency=2, log_server_port=free_port())

    # The image's health check script, pointed at the same processes, decides when each one is up.
    cluster.wait_for("the api-server", lambda: cluster.healthcheck("api-server"), timeout=150, interval=2)
    cluster.wait_for("the scheduler", lambda: cluster.healthcheck("scheduler"), timeout=60, interval=2)
    for name in WORKERS:
        cluster.wait_for(
            f"Celery worker {name}",
            lambda name=name: cluster.healthcheck("celery-worker", "--celery-hostname", f"{name}@{name}"),
            timeout=90,
            interval=2,
        )
    cluster.wait_for(
        "the DAG to be parsed",
        lambda: _metadata_rows(metadata, "select 1 from dag where dag_id = %s", DAG_ID),
        timeout=120,
        interval=2,
    )
    assert cluster.healthcheck("dag-processor")
    _phase("api-server, scheduler, dag-processor and both workers healthy; DAG parsed")

    run_id = "distributed_test"
    cluster.run("dags", "trigger", DAG_ID, "--run-id", run_id)
    cluster.run("dags", "unpause", DAG_ID)

    def coverage_gate_done() -> str | None:
        rows = _metadata_rows(
            metadata,
            "select task_id, map_index, state, try_number from task_instance where dag_id = %s and run_id = %s",
            DAG_ID,
            run_id,
        )
        # Any failure fails the test at once (a retry would wait minutes), with the task's own error.
        failed = [r for r in rows if r[2] in {"failed", "upstream_failed", "up_for_retry"}]
        if failed:
            errors = "\n".join(
                f"--- {task_id}[{map_index}] {state} ---\n"
                + cluster.task_log(DAG_ID, run_id, task_id, map_index, max(1, try_number))
                for task_id, map_index, state, try_number in failed
            )
            raise AssertionError(f"tasks failed: {failed}\n{errors}")
        return next((r[2] for r in rows if r[0] == "check_coverage" and r[2] == "success"), None)

    _phase("DAG run triggered")
    cluster.wait_for("the run to pass its coverage gate", coverage_gate_done, timeout=240, interval=2)
    _phase("coverage gate passed")

    shards = _metadata_rows(
        metadata,
        "select map_index, hostname, state from task_instance "
        "where dag_id = %s and run_id = %s and task_id = 'extract_shard' order by map_index",
        DAG_ID,
        run_id,
    )
    assert len(shards) >= 4, f"expected several shards of {SHARD_SIZE} tenants, got {shards}"
    assert all(state == "success" for _, _, state in shards), shards
    assert {hostname for _, hostname, _ in shards} == set(WORKERS), shards
    by_worker = {w: [m for m, hostname, _ in shards if hostname == w] for w in WORKERS}
    _phase(f"{len(shards)} shards ran: " + ", ".join(f"{w} {m}" for w, m in by_worker.items()))
    runs = _metadata_rows(metadata, "select run_id, run_type from dag_run where dag_id = %s", DAG_ID)
    assert runs == [(run_id, "manual")]
    # What each shard reported (its XCom): together they extracted each customer once.
    returned = _metadata_rows(
        metadata,
        "select value from xcom where dag_id = %s and run_id = %s and task_id = 'extract_shard' "
        "and key = 'return_value'",
        DAG_ID,
        run_id,
    )
    per_shard = [json.loads(v) if isinstance(v, str) else v for (v,) in returned]
    assert len(per_shard) == len(shards)
    discovery = _metadata_rows(
        metadata,
        "select value from xcom where dag_id = %s and run_id = %s and task_id = 'discover_customers' "
        "and key = 'return_value'",
        DAG_ID,
        run_id,
    )
    assert discovery, "discovery returned no shard plan"
    return_values["shard_tenants"] = sum(int(s["tenants"]) for s in per_shard)


def _check_warehouse(databases: dict[str, str], partner_env: dict[str, str], shard_tenants: int) -> None:
    warehouse, reference = databases["warehouse"], databases["reference"]
    with psycopg.connect(warehouse) as conn:
        ((logical_date, summary),) = conn.execute("select logical_date, summary from ops.runs").fetchall()
        tenant_rows = conn.execute(
            "select tenant_id::text, count(distinct endpoint) from ops.tenant_runs group by 1"
        ).fetchall()
    extractable = summary["discovery"]["extractable"]
    assert summary["discovery"]["shards"] == math.ceil(extractable / SHARD_SIZE)
    # Every extractable customer was extracted, by exactly one shard: the shards' own counts add up to the
    # customers discovered, and the warehouse has outcomes for exactly that many customers.
    assert shard_tenants == extractable == len(tenant_rows) == summary["coverage"]["attempted"]
    assert extractable > SHARD_SIZE

    distributed = _raw_keys(warehouse)
    for table, keys in distributed.items():
        assert len(keys) == len(set(keys)), f"raw.{table} holds a row twice"
    assert sum(len(keys) for keys in distributed.values()) > extractable, "the run landed (almost) nothing"
    _phase(f"{extractable} customers; rows: " + ", ".join(f"{t} {len(k)}" for t, k in distributed.items()))

    _phase("cluster stopped; single-process reference run")
    _single_process_run(partner_env, warehouse, reference, logical_date)
    single = _raw_keys(reference)
    for table in RAW_TABLES:
        assert distributed[table] == single[table], (
            f"raw.{table}: {len(distributed[table])} rows distributed vs {len(single[table])} in one process"
        )
