"""docker-compose.yaml, checked without Docker: the Compose Specification's JSON schema (vendored by the
check-jsonschema package), then what a schema cannot say — shared anchors, healthchecks, names that match
the code's settings, real Airflow options, and no secret written in the file."""

from __future__ import annotations

import copy
import json
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from tests.deploy import compose
from tests.deploy.project import UNDECLARED_AIRFLOW_OPTIONS, settings_table, settings_variables

IMAGE_ANCHOR = "x-smart-office-image"
AIRFLOW_ANCHOR = "x-airflow-common"
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
    "airflow-cli",
    "flower",
}
ONE_OFF_SERVICES = {"airflow-init", "airflow-cli"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|_KEY$|_TOKEN$|FERNET")
# Settings that a Docker deployment does not set: the emulator's endpoint set and CA (tests, demo), and
# the warehouse URL (Airflow services read the `smart_office_warehouse` connection instead).
NOT_FOR_DEPLOYMENT = {
    "SMART_OFFICE_ENDPOINTS_FILE",
    "SMART_OFFICE_CA_BUNDLE",
    "SMART_OFFICE_WAREHOUSE_URL",
    # The image carries the dbt project and builds its manifest at build time (Dockerfile): nothing to set.
    "SMART_OFFICE_DBT_PROJECT_DIR",
    "SMART_OFFICE_DBT_MANIFEST",
}


def compose_schema() -> dict[str, Any]:
    vendored = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(vendored.read_text())


def validation_errors(document: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture(scope="module")
def example_env() -> dict[str, str]:
    return compose.read_env_file(compose.ENV_EXAMPLE)


@pytest.fixture(scope="module")
def stack(example_env: dict[str, str]) -> dict[str, Any]:
    """The compose file as Docker Compose sees it with .env.example as its .env."""
    return compose.load(example_env)


def test_the_file_and_its_interpolated_form_match_the_compose_specification(stack: dict[str, Any]) -> None:
    assert validation_errors(compose.load_raw()) == []
    assert validation_errors(stack) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d["services"]["redis"].update(
            healthcheck={"test": ["CMD", "redis-cli", "ping"], "intervall": "5s"}
        ),
        lambda d: d["services"]["airflow-worker"].update(depends_on=["redis", "redis"]),
        lambda d: d["services"]["dashboard"].update(ports=[{"target": "8501", "published": True}]),
        lambda d: d.update(volume={"x": {}}),
    ],
)
def test_the_schema_rejects_broken_files(stack: dict[str, Any], breakage: Any) -> None:
    broken = copy.deepcopy(stack)
    breakage(broken)
    assert validation_errors(broken) != []


def test_every_service_running_the_project_image_shares_the_anchors(stack: dict[str, Any]) -> None:
    project_image = stack[IMAGE_ANCHOR]["image"]
    merged = compose.merged_anchors()
    users_of_the_image = {
        name for name, service in stack["services"].items() if service.get("image") == project_image
    }
    assert users_of_the_image == AIRFLOW_SERVICES | {"dashboard"}
    for name in users_of_the_image:
        assert IMAGE_ANCHOR in merged[name], f"{name} does not merge *{IMAGE_ANCHOR}"
    for name in AIRFLOW_SERVICES:
        assert AIRFLOW_ANCHOR in merged[name], f"{name} does not merge *{AIRFLOW_ANCHOR}"
        environment = stack["services"][name]["environment"]
        assert stack["x-airflow-common-env"].items() <= environment.items(), f"{name} drops shared settings"
    assert AIRFLOW_ANCHOR not in merged["dashboard"], "the dashboard must not receive Airflow's secrets"


def test_the_airflow_settings_run_celery_on_redis_with_a_separate_warehouse(stack: dict[str, Any]) -> None:
    env = stack["x-airflow-common-env"]
    services = stack["services"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
    assert "@redis:6379/" in env["AIRFLOW__CELERY__BROKER_URL"]
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql")
    assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert "@airflow-db:5432/airflow" in env["AIRFLOW__CELERY__RESULT_BACKEND"]
    assert "@warehouse-db:5432/smart_office" in env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert services["airflow-db"]["volumes"] != services["warehouse-db"]["volumes"]
    assert services["airflow-db"]["image"].startswith("postgres:")
    assert services["warehouse-db"]["image"].startswith("postgres:")
    # Scalable workers: nothing that ties a worker to one container.
    worker = services["airflow-worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"] == "celery worker"
    assert worker["environment"]["DUMB_INIT_SETSID"] == "0"
    for name in AIRFLOW_SERVICES:
        assert "airflow-logs:/opt/airflow/logs" in services[name]["volumes"], name
    assert set(stack["volumes"]) == {"airflow-db", "warehouse-db", "airflow-logs"}


def test_every_long_running_service_has_a_healthcheck_that_others_wait_for(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name, service in services.items():
        healthcheck = service.get("healthcheck", {})
        if name in ONE_OFF_SERVICES:
            assert healthcheck == {"disable": True}, name
            assert service["restart"] == "no", name
            continue
        assert healthcheck.get("test"), f"{name} has no healthcheck"
        assert not healthcheck.get("disable"), name
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = "service_completed_successfully" if dependency == "airflow-init" else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dependency}"
    for name in AIRFLOW_SERVICES - {"airflow-init", "airflow-cli"}:
        assert "airflow-init" in services[name]["depends_on"], f"{name} starts before the configuration check"


def test_image_healthchecks_name_roles_the_script_knows(stack: dict[str, Any]) -> None:
    from tests.deploy.healthcheck_script import healthcheck

    for name, service in stack["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        if "/opt/airflow/scripts/healthcheck.py" in test:
            assert test[:2] == ["CMD", "python"], name
            assert test[-1] in healthcheck.ROLES, f"{name}: {test}"


def test_smart_office_variables_match_the_settings_the_code_reads(stack: dict[str, Any]) -> None:
    known = settings_variables()
    assert {
        "SMART_OFFICE_PARTNER_TENANT_ID",
        "SMART_OFFICE_SHARD_SIZE",
        "SMART_OFFICE_ALERT_WEBHOOK_URL",
    } <= known
    used = {
        key
        for service in [
            stack["x-airflow-common-env"],
            *(s.get("environment", {}) for s in stack["services"].values()),
        ]
        for key in service
        if key.startswith("SMART_OFFICE_")
    }
    assert used - known == set(), "compose sets variables nothing reads"
    deployable = settings_table() - NOT_FOR_DEPLOYMENT
    # The dashboard's own settings (its login, the reader role it switches to) are on its service only.
    dashboard = {"SMART_OFFICE_DASHBOARD_URL", "SMART_OFFICE_BI_READER_ROLE"}
    assert deployable - dashboard - set(stack["x-airflow-common-env"]) == set(), (
        "a setting cannot be configured"
    )
    assert deployable - used == set(), "a setting cannot be configured"


def test_airflow_options_exist_in_airflow_configuration(stack: dict[str, Any]) -> None:
    from airflow.configuration import conf

    description = conf.configuration_description
    options = {
        key
        for service in [
            stack["x-airflow-common-env"],
            *(s.get("environment", {}) for s in stack["services"].values()),
        ]
        for key in service
        if key.startswith("AIRFLOW__")
    }
    assert options
    for variable in options:
        section, option = (part.lower() for part in variable.removeprefix("AIRFLOW__").split("__", 1))
        declared = option in description.get(section, {}).get("options", {})
        assert declared or (section, option) in UNDECLARED_AIRFLOW_OPTIONS, (
            f"{variable} is not an Airflow option"
        )


def test_no_secret_is_written_in_the_file() -> None:
    raw = compose.load_raw()

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    isinstance(value, str | int)
                    and SECRET_NAME.search(str(key))
                    and not str(key).startswith("_AIRFLOW_WWW_USER_USERNAME")
                ):
                    assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", str(value)), (
                        f"{path}.{key} = {value!r}"
                    )
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, item in enumerate(node):
                if item == "--requirepass":
                    assert str(node[i + 1]).startswith("${"), f"{path}: a literal Redis password"
                walk(item, f"{path}[{i}]")
        elif isinstance(node, str):
            for match in re.finditer(r"://([^:/@\s]*):([^@\s]*)@", node):
                assert match.group(2).startswith("${"), f"{path}: a literal password in {node!r}"

    walk(raw, "compose")
    assert "--requirepass" in json.dumps(raw)  # the broker is not left open


def test_env_example_defines_every_variable_with_placeholders_for_secrets(
    example_env: dict[str, str],
) -> None:
    assert compose.variables_used() - set(example_env) == set(), "compose uses variables .env.example lacks"
    assert compose.required_variables() <= set(example_env)
    for key, value in example_env.items():
        if SECRET_NAME.search(key) and value:
            assert re.fullmatch(r"<[a-z0-9-]+>", value), (
                f".env.example gives {key} a value, not a placeholder"
            )
    gitignore = (compose.REPO / ".gitignore").read_text().splitlines()
    assert ".env" in gitignore


def test_a_missing_secret_stops_compose_with_its_name(example_env: dict[str, str]) -> None:
    env = {k: v for k, v in example_env.items() if k != "WAREHOUSE_DB_PASSWORD"}
    with pytest.raises(
        compose.InterpolationError,
        match=re.escape("WAREHOUSE_DB_PASSWORD: set WAREHOUSE_DB_PASSWORD in .env"),
    ):
        compose.load(env)


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("${A:-d}", {}, "d"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("$$A and $A", {"A": "x"}, "$A and x"),
        ("${A:+alt}", {"A": "1"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("${A:-x${B}y}", {"B": "2"}, "x2y"),
        ("${A:-${B:?never asked}}", {"A": "set"}, "set"),
        ("${A:-${B:-${C}}}", {"C": "3"}, "3"),
    ],
)
def test_interpolation_follows_the_compose_rules(text: str, env: dict[str, str], expected: str) -> None:
    assert compose.interpolate(text, env) == expected


def _documented_warehouse_urls() -> list[str]:
    """The `postgresql://` examples in .env.example's comments, placeholders made into host names."""
    lines = [line for line in compose.ENV_EXAMPLE.read_text().splitlines() if line.lstrip().startswith("#")]
    urls = re.findall(r"postgresql://[^\s']+", "\n".join(lines))
    return [url.replace("<server>", "smart-office-wh") for url in urls]


def test_the_documented_warehouse_logins_are_libpq_urls_the_translator_accepts() -> None:
    from smart_office.warehouse.connection import target_from_url

    urls = _documented_warehouse_urls()
    assert len(urls) >= 7
    for url in urls:
        assert target_from_url(url).params, url


def test_a_warehouse_of_your_own_replaces_the_bundled_one(example_env: dict[str, str]) -> None:
    from smart_office.warehouse.connection import resolve_warehouse

    entra = next(url for url in _documented_warehouse_urls() if "smart-office-airflow@" in url)
    dashboard = next(url for url in _documented_warehouse_urls() if "smart-office-dashboard@" in url)
    stack = compose.load(
        {
            **example_env,
            "WAREHOUSE_CONNECTION": entra,
            "SMART_OFFICE_WAREHOUSE_AUTH": "entra",
            "DASHBOARD_WAREHOUSE_URL": dashboard,
        }
    )
    env = {k: str(v) for k, v in stack["x-airflow-common-env"].items()}
    assert env["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"] == entra
    target = resolve_warehouse(env)
    assert (target.auth, target.params["user"], target.password) == ("entra", "smart-office-airflow", None)
    dashboard_env = stack["services"]["dashboard"]["environment"]
    assert dashboard_env["SMART_OFFICE_DASHBOARD_URL"] == dashboard
    assert dashboard_env["SMART_OFFICE_WAREHOUSE_AUTH"] == "entra"
    # Every Airflow service and the dashboard see the login's client files.
    for name in ("airflow-worker", "airflow-init", "dashboard"):
        assert any(
            v.endswith(":/run/smart-office/warehouse:ro") for v in stack["services"][name]["volumes"]
        ), name
    # Unset, the bundled warehouse with its password, as before.
    bundled = compose.load(example_env)["x-airflow-common-env"]
    assert bundled["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"].endswith("@warehouse-db:5432/smart_office")
    assert bundled["SMART_OFFICE_WAREHOUSE_AUTH"] == "libpq"
