"""Key Vault secrets through the real SDK: SecretClient + azure-identity, challenge verification left on."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.identity import ClientSecretCredential
from azure.keyvault.secrets import SecretClient

from tests.integration.emulator.conftest import confidential_app
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration


def _credential(
    emulator: EmulatorHandle, partner: dict[str, str], tenant: str | None = None
) -> ClientSecretCredential:
    # connection_verify is passed per request by azure-core, so REQUESTS_CA_BUNDLE cannot override it.
    return ClientSecretCredential(
        tenant or emulator.partner_tenant_id,
        partner["client_id"],
        partner["client_secret"],
        authority=emulator.identity,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_bundle,
    )


@pytest.fixture
def vault(emulator, partner) -> SecretClient:
    return SecretClient(
        vault_url=emulator.key_vault,
        credential=_credential(emulator, partner),
        connection_verify=emulator.ca_bundle,
    )


def test_set_get_versions_and_list_round_trip(emulator, vault) -> None:
    first = vault.set_secret(
        "rt-roundtrip",
        "value-one",
        tags={"issued_at": "2026-11-02T09:00:00+00:00"},
        content_type="text/plain",
    )
    second = vault.set_secret("rt-roundtrip", "value-two")
    assert first.properties.version != second.properties.version
    assert first.id == f"{emulator.key_vault}/secrets/rt-roundtrip/{first.properties.version}"
    assert vault.get_secret("rt-roundtrip").value == "value-two"
    old = vault.get_secret("rt-roundtrip", first.properties.version)
    assert (old.value, old.properties.tags, old.properties.content_type) == (
        "value-one",
        {"issued_at": "2026-11-02T09:00:00+00:00"},
        "text/plain",
    )
    assert old.properties.recovery_level == "Recoverable+Purgeable"
    assert old.properties.enabled is True
    versions = {p.version for p in vault.list_properties_of_secret_versions("rt-roundtrip")}
    assert versions == {first.properties.version, second.properties.version}
    assert "rt-roundtrip" in {p.name for p in vault.list_properties_of_secrets()}
    updated = vault.update_secret_properties(
        "rt-roundtrip", first.properties.version, tags={"state": "superseded"}
    )
    assert updated.tags == {"state": "superseded"}
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret("never-written")


def test_listing_pages_follow_next_link(vault) -> None:
    for i in range(30):
        vault.set_secret("paged", f"value-{i}")
    assert len(list(vault.list_properties_of_secret_versions("paged"))) == 30


def test_delete_is_soft_and_recoverable(vault) -> None:
    vault.set_secret("soft-deleted", "keep me")
    vault.begin_delete_secret("soft-deleted").wait()
    with pytest.raises(ResourceNotFoundError):
        vault.get_secret("soft-deleted")
    assert vault.get_deleted_secret("soft-deleted").recovery_id.endswith("/deletedsecrets/soft-deleted")
    with pytest.raises(HttpResponseError) as conflict:
        vault.set_secret("soft-deleted", "reuse")
    assert conflict.value.status_code == 409
    vault.begin_recover_deleted_secret("soft-deleted").wait()
    assert vault.get_secret("soft-deleted").value == "keep me"


def test_the_challenge_names_the_partner_authority_and_the_vault_parent(emulator, session) -> None:
    response = session.get(f"{emulator.key_vault}/secrets/anything?api-version=7.4")
    assert response.status_code == 401
    port = emulator.key_vault.rsplit(":", 1)[1]
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer authorization="{emulator.identity}/{emulator.partner_tenant_id}", resource="https://0.0.1:{port}"'
    )
    assert response.json()["error"]["code"] == "Unauthorized"


def test_challenge_verification_is_really_on(emulator, partner) -> None:
    """The same vault reached as `localhost` does not end with the challenge resource: the SDK refuses."""
    port = emulator.key_vault.rsplit(":", 1)[1]
    client = SecretClient(
        vault_url=f"https://localhost:{port}",
        credential=_credential(emulator, partner),
        connection_verify=emulator.ca_bundle,
    )
    with pytest.raises(ValueError, match="does not match the requested domain"):
        client.get_secret("anything")


def test_a_token_from_another_tenant_is_refused(emulator, partner, session) -> None:
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    port = emulator.key_vault.rsplit(":", 1)[1]
    token = confidential_app(
        emulator, customer, partner["client_id"], partner["client_secret"]
    ).acquire_token_for_client([f"https://0.0.1:{port}/.default"])["access_token"]
    response = session.get(
        f"{emulator.key_vault}/secrets?api-version=7.4", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert "AKV10032" in response.json()["error"]["message"]


def test_a_request_without_api_version_is_a_bad_parameter(emulator, partner, session) -> None:
    port = emulator.key_vault.rsplit(":", 1)[1]
    token = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"]
    ).acquire_token_for_client([f"https://0.0.1:{port}/.default"])["access_token"]
    response = session.get(f"{emulator.key_vault}/secrets", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadParameter"
