"""deploy/helm/values.yaml, checked without a cluster or the chart: its contract schema (the chart keys it
relies on), the image and Airflow version against the Dockerfile and the lock, real Airflow options, the
same Airflow choices as docker-compose.yaml, and every secret referenced by name, none written."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.deploy import compose
from tests.deploy.project import (
    UNDECLARED_AIRFLOW_OPTIONS,
    dockerfile_instructions,
    locked_version,
    settings_variables,
)

HELM = compose.REPO / "deploy" / "helm"
VALUES = HELM / "values.yaml"
SECRETS_EXAMPLE = HELM / "secrets.example.yaml"
CONTRACT = HELM / "values.contract.schema.json"
SETTINGS_SECRET = "smart-office-settings"
# (values key path, secret key the chart reads) — the chart's documented conventions.
SECRET_REFERENCES = {
    ("data", "metadataSecretName"): "connection",
    ("data", "resultBackendSecretName"): "connection",
    ("data", "brokerUrlSecretName"): "connection",
    ("fernetKeySecretName",): "fernet-key",
    ("apiSecretKeySecretName",): "api-secret-key",
    ("jwtSecretName",): "jwt-secret",
    ("redis", "passwordSecretName"): "password",
}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def contract_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(CONTRACT.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{e.json_path}: {e.message}" for e in validator.iter_errors(document)]


def dig(document: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        document = document[key]
    return document


def example_secrets() -> dict[str, dict[str, str]]:
    return {
        doc["metadata"]["name"]: doc["stringData"] for doc in yaml.safe_load_all(SECRETS_EXAMPLE.read_text())
    }


def test_the_values_meet_the_contract_schema(values: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(CONTRACT.read_text()))
    assert contract_errors(values) == []


@pytest.mark.parametrize(
    "breakage",
    [
        lambda v: v.update(fernetKey="a-literal-key"),
        lambda v: v["data"].update(metadataConnection={"user": "airflow", "pass": "literal"}),
        lambda v: v["redis"].update(password="literal"),
        lambda v: v["images"]["airflow"].update(tag="latest"),
        lambda v: v["workers"].update(replicas=0),
        lambda v: v["env"].append({"name": "lower-case", "value": "x"}),
        lambda v: v.update(gid=1000),
        lambda v: v["dagProcessor"].update(enabled=False),
        lambda v: v["env"].append({"name": "SMART_OFFICE_POWERBI_DATASET_ID", "value": "sales model"}),
        lambda v: v["env"].append({"name": "SMART_OFFICE_POWERBI_TIMEOUT_MINUTES", "value": "2h"}),
        lambda v: v["env"].append({"name": "SMART_OFFICE_REPORTS_PERIOD", "value": "week"}),
        lambda v: v["env"].append({"name": "SMART_OFFICE_EVENTS_DIGEST", "value": "daily"}),
        lambda v: v["env"].append({"name": "SMART_OFFICE_EVENTS_WEBHOOK_URL", "value": "https://hook"}),
        lambda v: v["env"].append({"name": "AIRFLOW_CONN_POWERBI_DEFAULT", "value": "{}"}),
    ],
)
def test_the_contract_rejects_what_it_should(values: dict[str, Any], breakage: Any) -> None:
    broken = copy.deepcopy(values)
    breakage(broken)
    assert contract_errors(broken) != []


def test_the_image_is_the_project_image_with_the_locked_airflow(values: dict[str, Any]) -> None:
    image = values["images"]["airflow"]
    assert values["airflowVersion"] == locked_version("apache-airflow")
    assert (values["defaultAirflowRepository"], values["defaultAirflowTag"]) == (
        image["repository"],
        image["tag"],
    )
    (preflight,) = values["scheduler"]["extraInitContainers"]
    assert preflight["image"] == f"{image['repository']}:{image['tag']}"
    assert preflight["command"] == ["python", "-m", "smart_office.preflight"]
    user = [value for keyword, value in dockerfile_instructions() if keyword == "USER"][-1]
    assert f"{values['uid']}:{values['gid']}" == user
    assert values["securityContexts"]["pod"]["runAsUser"] == values["uid"]


def test_airflow_choices_match_the_compose_file(values: dict[str, Any]) -> None:
    env = compose.airflow_environment()
    config = values["config"]
    assert values["executor"] == env["AIRFLOW__CORE__EXECUTOR"]
    for section, options in config.items():
        for option, value in options.items():
            variable = f"AIRFLOW__{section.upper()}__{option.upper()}"
            if variable in env and not str(env[variable]).startswith("${"):
                assert str(value).lower() == str(env[variable]).lower(), variable
    assert config["core"]["auth_manager"] == env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert values["postgresql"]["enabled"] is False  # metadata in its own, external PostgreSQL
    assert values["dags"]["persistence"]["enabled"] is False  # DAGs come with the image
    assert values["dags"]["gitSync"]["enabled"] is False


def test_config_options_exist_in_airflow(values: dict[str, Any]) -> None:
    from airflow.configuration import conf

    description = conf.configuration_description
    for section, options in values["config"].items():
        for option in options:
            declared = option in description.get(section, {}).get("options", {})
            assert declared or (section, option) in UNDECLARED_AIRFLOW_OPTIONS, f"[{section}] {option}"


def test_settings_names_are_the_codes(values: dict[str, Any]) -> None:
    known = settings_variables()
    plain = {item["name"] for item in values["env"] if item["name"].startswith("SMART_OFFICE_")}
    from_secret = {k for k in example_secrets()[SETTINGS_SECRET] if k.startswith("SMART_OFFICE_")}
    assert plain | from_secret <= known
    assert {
        "SMART_OFFICE_PARTNER_TENANT_ID",
        "SMART_OFFICE_CLIENT_ID",
        "SMART_OFFICE_TOKEN_STORE_KEY",
    } <= from_secret
    assert not plain & from_secret
    for item in values["env"]:
        assert not re.search(r"PASSWORD|SECRET|_KEY$|_TOKEN$", item["name"]), (
            f"{item['name']} belongs in a Secret"
        )


def test_power_bi_reports_and_posture_event_settings_are_all_configured(values: dict[str, Any]) -> None:
    from smart_office.settings import ENVIRONMENT, NOTIFICATIONS, POWER_BI, REPORTS

    wanted = {
        v.name: v.default
        for v in ENVIRONMENT
        if v.section in {POWER_BI, REPORTS}
        or (v.section == NOTIFICATIONS and v.name.startswith("SMART_OFFICE_EVENT"))
    }
    assert len(wanted) == 18
    plain = {item["name"]: item["value"] for item in values["env"]}
    from_secret = example_secrets()[SETTINGS_SECRET]
    assert set(wanted) <= plain.keys() | from_secret.keys(), "set in neither values.yaml nor the Secret"
    # Webhook URLs carry their credential; recipients are personal data: the Secret, as the failure alerts'.
    for name in wanted:
        if name.endswith(("WEBHOOK_URL", "_EMAILS")):
            assert name in from_secret, name
    assert "AIRFLOW_CONN_POWERBI_DEFAULT" in from_secret
    # Plain values are the code's defaults, except the image's own Chromium.
    assert plain["SMART_OFFICE_CHROMIUM_PATH"] == "/usr/bin/chromium"
    for name, default in wanted.items():
        if name in plain and name != "SMART_OFFICE_CHROMIUM_PATH":
            assert plain[name] == default, name


def test_every_secret_is_referenced_by_name_and_described(values: dict[str, Any]) -> None:
    secrets = example_secrets()
    for path, key in SECRET_REFERENCES.items():
        name = dig(values, path)
        assert name in secrets, f"{'.'.join(path)} names {name!r}, which secrets.example.yaml lacks"
        assert key in secrets[name], f"{name} needs the key {key!r}"
    assert f"name: {SETTINGS_SECRET}" in values["extraEnvFrom"]
    preflight = values["scheduler"]["extraInitContainers"][0]
    assert preflight["envFrom"] == [{"secretRef": {"name": SETTINGS_SECRET}}]
    settings = secrets[SETTINGS_SECRET]
    assert settings["AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE"].startswith("postgresql://smart_office:<")
    for name, data in secrets.items():
        for key, value in data.items():
            assert "<" in value, f"{name}.{key} holds a value instead of a placeholder"


def test_the_readme_documents_the_install(values: dict[str, Any]) -> None:
    readme = (HELM / "README.md").read_text()
    assert "helm upgrade --install" in readme
    assert "secrets.example.yaml" in readme
    for name in {dig(values, path) for path in SECRET_REFERENCES} | {SETTINGS_SECRET}:
        assert name in readme, f"README does not mention the Secret {name}"


def test_yaml_files_under_deploy_parse() -> None:
    for path in sorted((compose.REPO / "deploy").rglob("*.y*ml")):
        documents = list(yaml.safe_load_all(Path(path).read_text()))
        assert documents, path


AZURE_VALUES = HELM / "values-azure.yaml"


def _layered(base: Any, overlay: Any) -> Any:
    """`helm -f base -f overlay`: maps merge key by key, everything else (lists included) is replaced."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        return {**base, **{key: _layered(base.get(key), value) for key, value in overlay.items()}}
    return overlay


def test_the_azure_overlay_keeps_everything_else_and_meets_the_contract(values: dict[str, Any]) -> None:
    overlay = yaml.safe_load(AZURE_VALUES.read_text())
    layered = _layered(values, overlay)
    assert contract_errors(layered) == []
    # Lists are replaced, so the overlay repeats them: nothing of the base may go missing.
    base_env = {item["name"]: item["value"] for item in values["env"]}
    azure_env = {item["name"]: item["value"] for item in layered["env"]}
    assert azure_env == {**base_env, "SMART_OFFICE_WAREHOUSE_AUTH": "entra"}
    (base_check,) = values["scheduler"]["extraInitContainers"]
    (azure_check,) = layered["scheduler"]["extraInitContainers"]
    assert {k: v for k, v in azure_check.items() if k != "env"} == base_check
    # The configuration check sees what the tasks see: the same secrets backend and login method.
    check_env = {item["name"]: item["value"] for item in azure_check["env"]}
    secrets = layered["config"]["secrets"]
    assert check_env == {
        "AIRFLOW__SECRETS__BACKEND": secrets["backend"],
        "AIRFLOW__SECRETS__BACKEND_KWARGS": secrets["backend_kwargs"],
        "SMART_OFFICE_WAREHOUSE_AUTH": "entra",
    }


def test_the_azure_overlay_configures_airflows_key_vault_backend_for_workload_identity() -> None:
    import importlib

    from airflow.providers.microsoft.azure.secrets.key_vault import AzureKeyVaultBackend

    overlay = yaml.safe_load(AZURE_VALUES.read_text())
    secrets = overlay["config"]["secrets"]
    module, _, name = secrets["backend"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is AzureKeyVaultBackend
    kwargs = json.loads(secrets["backend_kwargs"])
    backend = AzureKeyVaultBackend(**kwargs)  # the kwargs the chart writes into airflow.cfg are its own
    assert backend.connections_prefix == "airflow-connections"
    assert backend.build_path(backend.connections_prefix, "smart_office_warehouse") == (
        "airflow-connections-smart-office-warehouse"
    )
    assert kwargs["vault_url"].startswith("https://<")
    assert kwargs["vault_url"].endswith(".vault.azure.net/")
    assert not {"tenant_id", "client_id", "client_secret"} & set(kwargs)  # workload identity, no secret
    assert overlay["labels"] == {"azure.workload.identity/use": "true"}
    for component in ("workers", "scheduler", "apiServer", "dagProcessor", "triggerer"):
        annotations = overlay[component]["serviceAccount"]["annotations"]
        assert annotations == {"azure.workload.identity/client-id": "<managed-identity-client-id>"}, component


CERTIFICATE_VALUES = HELM / "values-client-certificate.yaml"


def test_the_client_certificate_overlay_mounts_the_files_its_connection_names(values: dict[str, Any]) -> None:
    from smart_office.warehouse.connection import target_from_url

    overlay = yaml.safe_load(CERTIFICATE_VALUES.read_text())
    assert contract_errors(_layered(values, overlay)) == []
    (volume,) = overlay["volumes"]
    (mount,) = overlay["volumeMounts"]
    assert mount["name"] == volume["name"]
    assert mount["readOnly"] is True
    # libpq takes a root-owned key only if nobody outside root's group can read it.
    assert volume["secret"]["defaultMode"] == 0o440
    # The connection the overlay's header shows: a libpq URL the translator accepts, with no password and
    # every file under the mount, with the Secret's keys as file names.
    (example,) = re.findall(r"AIRFLOW_CONN_SMART_OFFICE_WAREHOUSE: (\S+)", CERTIFICATE_VALUES.read_text())
    params = target_from_url(example.replace("<warehouse-host>", "warehouse.example")).params
    assert "password" not in params
    assert params["sslmode"] == "verify-full"
    text = CERTIFICATE_VALUES.read_text()
    assert re.findall(r"create secret generic (\S+)", text) == [volume["secret"]["secretName"]]
    keys = set(re.findall(r"--from-file=([^=\s]+)=", text))
    for key in ("sslrootcert", "sslcert", "sslkey"):
        directory, _, name = params[key].rpartition("/")
        assert directory == mount["mountPath"], key
        assert name in keys, key
