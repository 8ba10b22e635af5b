"""The purge's hook on a Key Vault token store: the tenant's own entries go, nobody else's."""

from __future__ import annotations

from datetime import UTC, datetime

from smart_office.auth.stores import KeyVaultSecretStore, tenant_secret_name
from tests.support.emulator import EmulatorHandle

TENANT = "44444444-4444-4444-4444-444444444444"
OTHER = "55555555-5555-5555-5555-555555555555"
# Not the partner's real entry: the session's emulator vault is shared with other tests.
PARTNER_ENTRY = "smart-office-retention-test-partner-entry"


def _store(handle: EmulatorHandle) -> KeyVaultSecretStore:
    from azure.identity import ClientSecretCredential
    from azure.keyvault.secrets import SecretClient

    creds = handle.partner_credentials()
    credential = ClientSecretCredential(
        handle.partner_tenant_id,
        creds["client_id"],
        creds["client_secret"],
        authority=handle.identity,
        disable_instance_discovery=True,
        connection_verify=handle.ca_bundle,
    )
    return KeyVaultSecretStore(
        SecretClient(vault_url=handle.key_vault, credential=credential, connection_verify=handle.ca_bundle)
    )


def test_a_tenants_own_key_vault_entries_are_deleted(emulator: EmulatorHandle) -> None:
    store = _store(emulator)
    now = datetime.now(UTC)
    for name in (
        tenant_secret_name(TENANT, "refresh-token"),
        tenant_secret_name(TENANT, "client-certificate"),
        tenant_secret_name(OTHER, "refresh-token"),
        PARTNER_ENTRY,
    ):
        current = store.get(name)
        store.put(name, "value", issued_at=now, expected_version=current.version if current else None)

    assert store.delete_tenant_secrets(TENANT.upper()) == 2

    assert store.get(tenant_secret_name(TENANT, "refresh-token")) is None
    assert store.get(tenant_secret_name(TENANT, "client-certificate")) is None
    assert store.get(tenant_secret_name(OTHER, "refresh-token")) is not None
    assert store.get(PARTNER_ENTRY) is not None
    assert store.delete_tenant_secrets(TENANT) == 0
    assert store.delete_tenant_secrets(OTHER) == 1  # leave the shared vault as found
