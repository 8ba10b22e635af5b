"""Builds the runtime objects (token store, exchanger, clients) from Settings, for the CLI and the operators."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from smart_office.auth.discovery_cache import DiscoveryCache
from smart_office.auth.exchange import DEFAULT_IDENTITY_RETRY, ClientCredential, TokenExchanger
from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import (
    CLIENT_CERTIFICATE_NAME,
    CLIENT_SECRET_NAME,
    KeyVaultSecretStore,
    PostgresSecretStore,
    SecretStore,
)
from smart_office.redaction import Secret
from smart_office.settings import Settings, SettingsError

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from smart_office.warehouse.connection import WarehouseTarget


class CredentialMissingError(RuntimeError):
    """The app credential is not in the store yet: run `smart-office register-app` (or store it)."""


def key_vault_credential(settings: Settings) -> TokenCredential:
    """The identity used to reach Key Vault: the deployment's own (smart_office.azure_credential)."""
    from smart_office.azure_credential import workload_credential

    return workload_credential(settings.cloud)


def build_secret_store(
    settings: Settings, *, warehouse_url: WarehouseTarget | str | None = None
) -> SecretStore:
    if settings.token_store == "keyvault":
        from azure.keyvault.secrets import SecretClient

        assert settings.key_vault_url is not None
        client = SecretClient(
            vault_url=settings.key_vault_url,
            credential=key_vault_credential(settings),
            connection_verify=settings.cloud.ca_bundle or True,
        )
        return KeyVaultSecretStore(client)
    target = warehouse_url or settings.warehouse
    if not target:
        raise SettingsError("the postgres token store needs SMART_OFFICE_WAREHOUSE_URL")
    return PostgresSecretStore(target, list(settings.token_store_keys))


def load_client_credential(store: SecretStore) -> ClientCredential:
    """The app credential from the store: a certificate (preferred) or a client secret."""
    cert = store.get(CLIENT_CERTIFICATE_NAME)
    if cert is not None:
        pem = cert.value.reveal()
        marker = "-----BEGIN CERTIFICATE-----"
        if marker not in pem:
            raise CredentialMissingError(
                f"{CLIENT_CERTIFICATE_NAME} must hold the private key and the certificate PEM"
            )
        key_part, cert_part = pem.split(marker, 1)
        return ClientCredential(private_key_pem=Secret(key_part.strip()), certificate_pem=marker + cert_part)
    secret = store.get(CLIENT_SECRET_NAME)
    if secret is not None:
        return ClientCredential(client_secret=secret.value)
    raise CredentialMissingError(
        f"no app credential in {store.describe()}: run `smart-office register-app` or store "
        f"{CLIENT_SECRET_NAME}/{CLIENT_CERTIFICATE_NAME} there"
    )


def build_exchanger(
    settings: Settings, store: SecretStore, *, direct_tenants: Mapping[str, str] | None = None
) -> TokenExchanger:
    """The token exchanger; `direct_tenants` (ops.tenants' direct tenants and their credential kinds) are read
    with their own credentials."""
    return TokenExchanger(
        cloud=settings.cloud,
        client_id=settings.client_id,
        credential=load_client_credential(store),
        partner_tenant_id=settings.partner_tenant_id,
        keeper=RefreshTokenKeeper(
            store, write_back_age=timedelta(hours=settings.refresh_token_write_back_hours)
        ),
        retry=dataclasses.replace(DEFAULT_IDENTITY_RETRY, budget=settings.identity_retry_seconds),
        discovery_cache=(
            DiscoveryCache.in_directory(settings.discovery_cache_dir)
            if settings.discovery_cache_dir
            else None
        ),
        direct_tenants=direct_tenants,
    )
