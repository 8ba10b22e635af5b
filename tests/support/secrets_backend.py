"""Airflow's own secrets from Key Vault: apache-airflow-providers-microsoft-azure's AzureKeyVaultBackend,
configured exactly as deploy/helm/values-azure.yaml configures it (only the vault's URL differs), reading
the emulator's vault.

The backend builds its credential itself: with `tenant_id`/`client_id`/`client_secret` in its kwargs a
ClientSecretCredential, else azure-identity's DefaultAzureCredential. Neither can be given an authority or a
CA in the backend's kwargs; the environment can: AZURE_AUTHORITY_HOST and REQUESTS_CA_BUNDLE. A
ClientSecretCredential would still ask login.microsoftonline.com to validate a non-Microsoft authority
(MSAL instance discovery), so the emulator cannot stand in for that configuration here; the workload
identity one (what AKS injects: AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE,
AZURE_AUTHORITY_HOST) goes through azure-identity's own token client, which has no such step. Its assertion
file holds what AKS would project; here a client assertion signed by a certificate the test registers
on the app (Entra accepts either as `client_assertion`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from pathlib import Path

import jwt
from cryptography import x509

from tests.support.emulator import EmulatorHandle, self_signed_certificate, sign_in_as_partner_admin

HELM_AZURE_VALUES = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "values-azure.yaml"


def production_backend() -> tuple[str, dict[str, object]]:
    """[secrets] backend and backend_kwargs exactly as deploy/helm/values-azure.yaml sets them."""
    import yaml

    secrets = yaml.safe_load(HELM_AZURE_VALUES.read_text())["config"]["secrets"]
    return secrets["backend"], json.loads(secrets["backend_kwargs"])


def backend_kwargs(vault_url: str) -> str:
    """The production backend_kwargs with only the vault's URL changed."""
    _, kwargs = production_backend()
    return json.dumps({**kwargs, "vault_url": vault_url})


def _vault_client(emulator: EmulatorHandle):  # type: ignore[no-untyped-def]
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    creds = emulator.partner_credentials()
    credential = ClientSecretCredential(
        emulator.partner_tenant_id,
        creds["client_id"],
        creds["client_secret"],
        authority=emulator.identity,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_bundle,
    )
    return SecretClient(
        vault_url=emulator.key_vault, credential=credential, connection_verify=emulator.ca_bundle
    )


def store_airflow_connection(emulator: EmulatorHandle, conn_id: str, value: str) -> str:
    """Put an Airflow connection into the vault under the backend's name for it; returns the secret name."""
    prefix = production_backend()[1]["connections_prefix"]
    name = f"{prefix}-{conn_id}".replace("_", "-")
    _vault_client(emulator).set_secret(name, value)
    return name


def _workload_identity(emulator: EmulatorHandle, folder: Path) -> tuple[str, Path]:
    """An app with a certificate credential, and a file holding a client assertion signed with it."""
    from tests.integration.emulator.conftest import public_app

    creds = emulator.partner_credentials()
    key_pem, cert_pem, cert_b64 = self_signed_certificate("smart-office-workload-identity")
    session = emulator.http_session()
    admin = sign_in_as_partner_admin(
        public_app(emulator, emulator.partner_tenant_id),
        ["https://graph.microsoft.com/Application.ReadWrite.All"],
        session,
    )["access_token"]
    headers = {"Authorization": f"Bearer {admin}"}
    app = session.get(
        f"{emulator.graph}/v1.0/applications(appId='{creds['client_id']}')", headers=headers
    ).json()
    credential = {
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "key": cert_b64,
        "displayName": "CN=workload",
    }
    patched = session.patch(
        f"{emulator.graph}/v1.0/applications/{app['id']}",
        headers=headers,
        json={"keyCredentials": [*app["keyCredentials"], credential]},
    )
    assert patched.status_code == 204, patched.text
    der = x509.load_pem_x509_certificate(cert_pem.encode()).public_bytes(encoding=_der())
    now = int(time.time())
    assertion = jwt.encode(
        {
            "aud": f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token",
            "iss": creds["client_id"],
            "sub": creds["client_id"],
            "jti": str(uuid.uuid4()),
            "nbf": now - 60,
            "exp": now + 3 * 3600,
        },
        key_pem,
        algorithm="RS256",
        headers={"x5t": base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode()},  # noqa: S324 - x5t is SHA-1 by definition
    )
    token_file = folder / "azure-identity-token"
    token_file.write_text(assertion)
    token_file.chmod(0o600)
    return creds["client_id"], token_file


def _der():  # type: ignore[no-untyped-def]
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def trust_bundle(emulator: EmulatorHandle, folder: Path) -> Path:
    """The default trust store plus the emulator's CA, for clients that only read REQUESTS_CA_BUNDLE."""
    import certifi

    bundle = folder / "ca-bundle-with-emulator.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + Path(emulator.ca_bundle).read_text())
    return bundle


def key_vault_backend_env(emulator: EmulatorHandle, folder: Path) -> dict[str, str]:
    """The environment of an Airflow whose connections come from the emulator's vault, via workload identity."""
    client_id, token_file = _workload_identity(emulator, folder)
    return {
        "AIRFLOW__SECRETS__BACKEND": production_backend()[0],
        "AIRFLOW__SECRETS__BACKEND_KWARGS": backend_kwargs(emulator.key_vault),
        "AZURE_AUTHORITY_HOST": emulator.identity,
        "AZURE_TENANT_ID": emulator.partner_tenant_id,
        "AZURE_CLIENT_ID": client_id,
        "AZURE_FEDERATED_TOKEN_FILE": str(token_file),
        "REQUESTS_CA_BUNDLE": str(trust_bundle(emulator, folder)),
    }
