"""The demo turns on the DAG's Power BI refresh (docs/bi.md, section 5) against the emulator's Power BI.

What a partner does by hand — a service principal with a secret, the workspace and semantic model ids read from
the model's URL, the Airflow connection `powerbi_default` — done through the emulator's public interfaces: the
admin API's partner credentials (an app with a fresh client secret), a client-credentials token from its
identity service, and Power BI's own `GET /groups` and `GET /groups/{id}/datasets`. The connection differs from
a partner's only in where it points: `base_url`, `authority` and the CA (`verify`).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

POWER_BI_SCOPE = "https://analysis.windows.net/powerbi/api/.default"


def _session(ca_bundle: str) -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would replace `verify`
    session.verify = ca_bundle
    return session


def power_bi_connection(endpoints: dict[str, Any], credentials: dict[str, str]) -> str:
    """The Airflow connection (JSON) of type `powerbi` for the emulator's Power BI and this service principal."""
    return json.dumps(
        {
            "conn_type": "powerbi",
            "login": credentials["client_id"],
            "password": credentials["client_secret"],
            "extra": {
                "tenant_id": credentials["partner_tenant_id"],
                "base_url": f"{endpoints['power_bi']}/v1.0",
                "authority": endpoints["identity"],
                "disable_instance_discovery": True,
                "verify": endpoints["ca_bundle"],
                "allowed_hosts": urlsplit(endpoints["power_bi"]).hostname,
            },
        }
    )


def power_bi_settings(endpoints: dict[str, Any], check_interval_seconds: int = 1) -> dict[str, str]:
    """SMART_OFFICE_POWERBI_* and AIRFLOW_CONN_POWERBI_DEFAULT for the emulated partner's one semantic model."""
    import msal

    session = _session(endpoints["ca_bundle"])
    response = session.post(f"{endpoints['admin']}/partner-credentials", timeout=30)
    response.raise_for_status()
    credentials = response.json()
    app = msal.ConfidentialClientApplication(
        credentials["client_id"],
        client_credential=credentials["client_secret"],
        authority=f"{endpoints['identity']}/{credentials['partner_tenant_id']}",
        instance_discovery=False,
        http_client=session,
    )
    token = app.acquire_token_for_client([POWER_BI_SCOPE])
    if "access_token" not in token:
        raise RuntimeError(f"power bi: no token ({token.get('error')})")
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    groups = session.get(f"{endpoints['power_bi']}/v1.0/myorg/groups", headers=headers, timeout=30)
    groups.raise_for_status()
    group = groups.json()["value"][0]["id"]
    datasets = session.get(
        f"{endpoints['power_bi']}/v1.0/myorg/groups/{group}/datasets", headers=headers, timeout=30
    )
    datasets.raise_for_status()
    return {
        "SMART_OFFICE_POWERBI_GROUP_ID": group,
        "SMART_OFFICE_POWERBI_DATASET_ID": datasets.json()["value"][0]["id"],
        "SMART_OFFICE_POWERBI_CHECK_INTERVAL_SECONDS": str(check_interval_seconds),
        "AIRFLOW_CONN_POWERBI_DEFAULT": power_bi_connection(endpoints, credentials),
    }
