"""Every DAG imports cleanly, declares what operators need, and does no I/O at parse time."""

from __future__ import annotations

import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
# The work of our tasks; a DAG file must only declare them. (Cosmos itself imports msal via its Azure
# profile mappings, which is outside our control, so third-party clients are not listed.)
HEAVY_MODULES = (
    "smart_office.pipeline",
    "smart_office.auth.exchange",
    "smart_office.graph.client",
    "smart_office.extract.tenant",
    "smart_office.warehouse.loader",
    "pgserver",
    "dbt.cli.main",
)


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Parse the dags folder with the network switched off: a DAG file that connects anywhere fails here."""
    import os

    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow-home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__COSMOS__ENABLE_TELEMETRY"] = "False"
    # A manifest built from the project as it is now, not whatever an earlier build left in dbt/target.
    from smart_office.dbt_runner import build_manifest

    os.environ["SMART_OFFICE_DBT_MANIFEST"] = str(build_manifest(target_path=tmp_path_factory.mktemp("dbt")))
    from airflow.dag_processing.dagbag import DagBag

    real_connect = socket.socket.connect

    def no_network(self: socket.socket, address: object) -> None:
        raise AssertionError(f"DAG parsing tried to open a connection to {address!r}")

    socket.socket.connect = no_network  # type: ignore[method-assign]
    heavy_before = {m for m in HEAVY_MODULES if m in sys.modules}
    try:
        bag = DagBag(dag_folder=str(DAGS_DIR))
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
    bag.heavy_imported = {m for m in HEAVY_MODULES if m in sys.modules} - heavy_before  # type: ignore[attr-defined]
    return bag


def test_there_are_dags() -> None:
    assert DAG_FILES, "no DAG files found"


def test_no_import_errors(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.import_errors == {}


def test_one_dag_per_file(dagbag) -> None:  # type: ignore[no-untyped-def]
    files = [Path(d.fileloc).name for d in dagbag.dags.values()]
    assert sorted(files) == sorted(p.name for p in DAG_FILES)
    assert len(set(files)) == len(files)


def test_parsing_does_not_import_network_clients(dagbag) -> None:  # type: ignore[no-untyped-def]
    assert dagbag.heavy_imported == set(), "move these imports inside execute()"


@pytest.mark.parametrize("attribute", ["tags", "doc_md"])
def test_dags_are_documented_and_tagged(dagbag, attribute: str) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert getattr(dag, attribute), f"{dag_id} has no {attribute}"


def test_dags_do_not_catch_up_and_run_one_at_a_time(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        assert dag.catchup is False, dag_id
        assert dag.max_active_runs == 1, dag_id


def test_tasks_retry(dagbag) -> None:  # type: ignore[no-untyped-def]
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            if task.task_id == "enforce_coverage":
                # The coverage of a closed run does not change on a retry.
                assert task.retries == 0
            else:
                # validate_partner_token included: a 503 at the identity service is worth another try
                # (errors that need a human fail without retrying: tests/unit/operators).
                assert task.retries >= 1, f"{dag_id}.{task.task_id} has no retries"


def test_every_task_and_run_has_a_time_limit(dagbag) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    for dag_id, dag in dagbag.dags.items():
        assert dag.dagrun_timeout is not None, dag_id
        for task in dag.tasks:
            assert task.execution_timeout is not None, f"{dag_id}.{task.task_id} can hang for ever"
            assert task.execution_timeout <= dag.dagrun_timeout, f"{dag_id}.{task.task_id}"
    # ops.runs calls a run abandoned after the same time the DAG gives up on it.
    from smart_office.extract.runs import RUN_TIMEOUT_HOURS

    assert dagbag.dags["smart_office_security_posture"].dagrun_timeout == timedelta(hours=RUN_TIMEOUT_HOURS)


def test_a_failed_shard_does_not_block_the_marts(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["smart_office_security_posture"]
    gate = dag.get_task("check_coverage")
    # The gate waits for every shard, failed ones included, but only runs after a successful discovery.
    assert gate.trigger_rule == "all_done_min_one_success"
    assert gate.upstream_task_ids == {"discover_customers", "extract_shard"}
    # Low coverage fails the run after the marts, whatever became of them (once the gate closed the run).
    enforce = dag.get_task("enforce_coverage")
    assert enforce.trigger_rule == "all_done_min_one_success"
    assert enforce.upstream_task_ids == {"check_coverage", "publish_marts"}


def test_posture_rules_precede_dbt_and_delivery_follows_the_published_marts(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["smart_office_security_posture"]
    rules = dag.get_task("load_posture_rules")
    assert rules.upstream_task_ids == {"check_coverage"}
    dbt_roots = {
        t.task_id
        for t in dag.tasks
        if t.task_id.startswith("dbt_build.")
        and not any(u.startswith("dbt_build.") for u in t.upstream_task_ids)
    }
    assert dbt_roots
    assert all(dag.get_task(t).upstream_task_ids == {"load_posture_rules"} for t in dbt_roots)
    # Delivery waits for the published marts and nothing waits for it: it cannot fail extraction or the marts.
    deliver = dag.get_task("deliver_posture_events")
    assert deliver.upstream_task_ids == {"publish_marts"}
    assert deliver.downstream_task_ids == set()
    assert deliver.trigger_rule == "all_success"
    assert deliver.retries >= 1
    # A rejected rules file does not stop dbt (the task records it); this check fails the run with its line
    # after the marts, whatever became of them (tests/unit/operators: for good, without retrying).
    check = dag.get_task("check_posture_rules")
    assert check.upstream_task_ids == {"load_posture_rules", "publish_marts"}
    assert check.trigger_rule == "all_done_min_one_success"
    assert check.downstream_task_ids == set()


def test_no_cycles_and_expected_order(dagbag) -> None:  # type: ignore[no-untyped-def]
    dag = dagbag.dags["smart_office_security_posture"]
    order = [t.task_id for t in dag.topological_sort()]
    assert (
        order.index("migrate_warehouse")
        < order.index("validate_partner_token")
        < order.index("discover_customers")
        < order.index("extract_shard")
    )
    assert (
        order.index("extract_shard")
        < order.index("check_coverage")
        < order.index("publish_marts")
        < order.index("enforce_coverage")
    )
    dbt_tasks = [t for t in order if t.startswith("dbt_build.")]
    # `dbt build` per model: the model and its tests in one task, so a failing test fails that task.
    assert "dbt_build.fct_alerts_model_build" in dbt_tasks
    assert order.index("check_coverage") < min(order.index(t) for t in dbt_tasks)
    assert max(order.index(t) for t in dbt_tasks) < order.index("publish_marts")
    publish = dag.get_task("publish_marts")
    assert [a.name for a in publish.outlets] == ["smart_office_marts"]


def test_dbt_runs_a_full_refresh_weekly_or_on_request(dagbag) -> None:  # type: ignore[no-untyped-def]
    import jinja2

    dag = dagbag.dags["smart_office_security_posture"]
    assert dag.params["full_refresh"] is False
    dbt_tasks = [t for t in dag.tasks if t.task_id.startswith("dbt_build.")]
    builds = [t for t in dbt_tasks if t.task_id.endswith("_model_build")]
    assert "dbt_build.fct_alerts_model_build" in {t.task_id for t in builds}
    assert {t.full_refresh for t in builds} == {builds[0].full_refresh}
    # Every dbt task, the tests that run alone after several models included, widens its tests with it.
    assert {t.vars["data_test_scope"] for t in dbt_tasks} == {dbt_tasks[0].vars["data_test_scope"]}
    # Strict, as Airflow renders: a name missing from the context is an error, not an empty string.
    strict = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
    refresh = strict.from_string(builds[0].full_refresh)
    scope = strict.from_string(dbt_tasks[0].vars["data_test_scope"])
    saturday, sunday = datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC)
    scheduled = [(False, saturday, False), (False, sunday, True), (True, saturday, True)]
    for requested, end, full in scheduled:
        context = {"params": {"full_refresh": requested}, "data_interval_end": end}
        assert refresh.render(context) == str(full)
        assert scope.render(context) == ("all" if full else "recent")
    # A run triggered without a logical date: Airflow 3 leaves data_interval_end out (or None); it was due
    # at dag_run.run_after.
    for interval, due, full in [(None, saturday, False), (None, sunday, True), (..., sunday, True)]:
        context = {"params": {"full_refresh": False}, "dag_run": SimpleNamespace(run_after=due)}
        if interval is not ...:
            context["data_interval_end"] = interval
        assert refresh.render(context) == str(full)
        assert scope.render(context) == ("all" if full else "recent")


def test_ephemeral_models_build_their_tests(dagbag) -> None:  # type: ignore[no-untyped-def]
    """An intermediate model that reads a mart is ephemeral; its task is still `dbt build`, which runs its tests."""
    from cosmos.operators.local import DbtBuildLocalOperator

    dag = dagbag.dags["smart_office_security_posture"]
    task = dag.get_task("dbt_build.int_posture_rules_scoped_model_build")
    assert isinstance(task, DbtBuildLocalOperator)
    assert "dbt_build.dim_customers_model_build" in task.upstream_task_ids
    assert "dbt_build.int_posture_conditions_evaluated_model_build" in task.downstream_task_ids


@pytest.mark.parametrize(("weekday", "sunday_is_full"), [("", False), ("7", True), (" 1 ", False)])
def test_full_refresh_weekday_is_configurable(weekday: str, sunday_is_full: bool) -> None:
    import jinja2

    from smart_office.operators.dbt import full_refresh_condition

    rendered = (
        jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=True)
        .from_string("{{ " + full_refresh_condition(weekday) + " }}")
        .render(params={"full_refresh": False}, data_interval_end=datetime(2026, 11, 29, tzinfo=UTC))
    )
    assert rendered == str(sunday_is_full)


def test_full_refresh_weekday_rejects_nonsense() -> None:
    from smart_office.operators.dbt import full_refresh_condition

    with pytest.raises(ValueError, match="1 \\(Monday\\) to 7"):
        full_refresh_condition("sunday")


def test_customer_reports_run_monthly_after_the_last_day_landed(dagbag) -> None:  # type: ignore[no-untyped-def]
    from smart_office.reports.operator import CustomerReportsOperator

    dag = dagbag.dags["smart_office_customer_reports"]
    # Monthly on the 2nd (the month's last Secure Score day lands with the 1st's extraction), paused until the
    # partner sets SMART_OFFICE_REPORTS_DIR (docs/reports.md).
    assert dag.schedule == "0 6 2 * *"
    assert dag.is_paused_upon_creation is True
    assert [type(t) for t in dag.tasks] == [CustomerReportsOperator]
    assert dag.tasks[0].smtp_conn_id == "smtp_default"
