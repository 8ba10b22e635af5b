"""The deployment's own Azure identity (not the partner's): what reads Key Vault and signs in to an Entra-enabled
warehouse.

A service principal from AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, else azure-identity's
default chain (workload identity on AKS, managed identity on a VM or in Container Apps, `az login` on a
workstation). The authority host and the trusted CA come from the endpoint set, so the same code reaches a
sovereign cloud or the emulator.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from smart_office.clouds import Cloud


def workload_credential(cloud: Cloud, env: Mapping[str, str] | None = None) -> TokenCredential:
    """An azure-identity credential for this deployment's identity in `cloud`."""
    from azure.identity import ClientSecretCredential, DefaultAzureCredential

    environ = os.environ if env is None else env
    verify = cloud.ca_bundle or True
    tenant, client, secret = (
        environ.get(f"AZURE_{k}", "").strip() for k in ("TENANT_ID", "CLIENT_ID", "CLIENT_SECRET")
    )
    if tenant and client and secret:
        return ClientSecretCredential(
            tenant,
            client,
            secret,
            authority=cloud.authority_host,
            # The authority comes from our endpoint set, not from Microsoft's instance discovery.
            disable_instance_discovery=True,
            connection_verify=verify,
        )
    return DefaultAzureCredential(authority=cloud.authority_host, connection_verify=verify)
