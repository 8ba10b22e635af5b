"""The Secure Application Model end to end against the emulator over verified TLS: register-app, consent
(auth code and device code), per-tenant exchange, rotation write-back, Key Vault, errors, expiry, no secrets."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msal
import psycopg
import pytest
from cryptography.fernet import Fernet

from emulator.browser import ScriptedBrowser
from smart_office.auth.consent import run_consent
from smart_office.auth.errors import AuthError, AuthState
from smart_office.auth.exchange import ClientCredential, TokenExchanger
from smart_office.auth.interactive import sign_in_with_browser
from smart_office.auth.registration import BOOTSTRAP_CLIENT_ID, BOOTSTRAP_SCOPES, register_app
from smart_office.auth.rotation import RefreshTokenKeeper
from smart_office.auth.stores import (
    CLIENT_CERTIFICATE_NAME,
    CLIENT_SECRET_NAME,
    REFRESH_TOKEN_NAME,
    KeyVaultSecretStore,
    PostgresSecretStore,
    StoredSecret,
)
from smart_office.clouds import cloud_from_endpoints
from smart_office.settings import Settings
from smart_office.tls import requests_session
from smart_office.warehouse.migrations import migrate
from tests.support.emulator import EmulatorHandle
from tests.support.warehouse import fresh_database

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@dataclass
class MigratedStore:
    """A fresh, migrated warehouse database and the encrypted token store in it."""

    url: str
    key: str
    store: PostgresSecretStore


@contextmanager
def migrated_store(postgres_server_url: str) -> Iterator[MigratedStore]:
    with fresh_database(postgres_server_url) as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        key = Fernet.generate_key().decode()
        yield MigratedStore(url, key, PostgresSecretStore(url, [key]))


def _browser(handle: EmulatorHandle) -> Callable[[str], object]:
    """Plays the partner admin at the browser: the emulator signs them in and posts the code to our listener."""
    return ScriptedBrowser(handle.http_session())


@dataclass
class Partner:
    handle: EmulatorHandle
    env: dict[str, str]
    warehouse_url: str
    store: PostgresSecretStore

    def settings(self) -> Settings:
        return Settings.from_env(self.env)


def _env(handle: EmulatorHandle, warehouse_url: str, tmp: Path, key: str) -> dict[str, str]:
    endpoints = tmp / "endpoints.json"
    endpoints.write_text(json.dumps(handle.endpoints))
    return {
        "SMART_OFFICE_ENDPOINTS_FILE": str(endpoints),
        "SMART_OFFICE_PARTNER_TENANT_ID": handle.partner_tenant_id,
        "SMART_OFFICE_TOKEN_STORE": "postgres",
        "SMART_OFFICE_TOKEN_STORE_KEY": key,
        "SMART_OFFICE_WAREHOUSE_URL": warehouse_url,
        "SMART_OFFICE_DISCOVERY_CACHE_DIR": str(tmp / "discovery-cache"),
    }


def _admin_token(handle: EmulatorHandle) -> str:
    settings_cloud = cloud_from_endpoints(handle.endpoints)
    bootstrap = msal.PublicClientApplication(
        BOOTSTRAP_CLIENT_ID,
        authority=handle.authority(handle.partner_tenant_id),
        instance_discovery=False,
        http_client=requests_session(settings_cloud.ca_bundle),
    )
    result = sign_in_with_browser(bootstrap, BOOTSTRAP_SCOPES, open_browser=_browser(handle))
    assert "access_token" in result, result
    return result["access_token"]


@pytest.fixture(scope="module")
def partner(
    emulator: EmulatorHandle, postgres_server_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Partner]:
    """register-app + browser consent, once for the module, as a partner would run them."""
    with migrated_store(postgres_server_url) as warehouse:
        url, key, store = warehouse.url, warehouse.key, warehouse.store
        env = _env(emulator, url, tmp_path_factory.mktemp("sam"), key)
        settings = Settings.from_env(env, require_partner=False)
        registered = register_app(
            cloud=settings.cloud,
            admin_token=_admin_token(emulator),
            session=requests_session(settings.cloud.ca_bundle),
            store=store,
            display_name="SAM test app",
            preconsent=True,
        )
        assert "added service principal to AdminAgents" in registered.changes
        env["SMART_OFFICE_CLIENT_ID"] = registered.app_id
        run_consent(
            Settings.from_env(env), open_browser=_browser(emulator), show_device_code=lambda flow: None
        )
        yield Partner(emulator, env, url, store)


def _graph_applications(handle: EmulatorHandle, token: str, name: str) -> list[dict[str, Any]]:
    session = handle.http_session()
    response = session.get(
        f"{handle.graph}/v1.0/applications",
        params={"$filter": f"displayName eq '{name}'"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["value"]


def test_register_app_twice_gives_one_app(partner: Partner) -> None:
    handle = partner.handle
    settings = Settings.from_env(partner.env)
    token = _admin_token(handle)
    again = register_app(
        cloud=settings.cloud,
        admin_token=token,
        session=requests_session(settings.cloud.ca_bundle),
        store=partner.store,
        display_name="SAM test app",
        preconsent=True,
    )
    assert again.app_id == settings.client_id
    assert not again.created
    assert not again.credential_created
    assert again.changes == []
    assert again.admin_agents_member is True
    apps = _graph_applications(handle, token, "SAM test app")
    assert len(apps) == 1
    app = apps[0]
    assert app["signInAudience"] == "AzureADMultipleOrgs"
    assert app["isFallbackPublicClient"] is True
    assert {r["resourceAppId"] for r in app["requiredResourceAccess"]} == {
        "00000003-0000-0000-c000-000000000000",
        "fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd",
    }
    assert len(app["keyCredentials"]) == 1
    assert partner.store.get(CLIENT_CERTIFICATE_NAME) is not None
    # --rotate-credential adds a certificate and replaces the stored one; the app keeps the old one too.
    rotated = register_app(
        cloud=settings.cloud,
        admin_token=token,
        session=requests_session(settings.cloud.ca_bundle),
        store=partner.store,
        display_name="SAM test app",
        rotate_credential=True,
    )
    assert rotated.credential_created
    assert len(_graph_applications(handle, token, "SAM test app")[0]["keyCredentials"]) == 2


def test_browser_consent_stored_the_refresh_token(partner: Partner) -> None:
    stored = partner.store.get(REFRESH_TOKEN_NAME)
    assert stored is not None
    clock = datetime.fromisoformat(partner.handle.admin_get("/clock")["now"])
    # issued_at is the identity service's clock (the id_token's iat, which Entra backdates a few minutes for
    # skew), not this machine's: the emulator's clock is weeks away from the wall clock here.
    assert abs(stored.issued_at - clock) <= timedelta(minutes=10)


def test_device_code_consent(partner: Partner) -> None:
    session = partner.handle.http_session()
    before = partner.store.get(REFRESH_TOKEN_NAME)

    def approve(flow: dict[str, Any]) -> None:
        response = session.get(flow["verification_uri"], params={"otc": flow["user_code"]}, timeout=30)
        response.raise_for_status()

    run_consent(partner.settings(), open_browser=None, show_device_code=approve, timeout=60)
    after = partner.store.get(REFRESH_TOKEN_NAME)
    assert after is not None
    assert before is not None
    assert after.value.reveal() != before.value.reveal()
    assert int(after.version) > int(before.version)


def _exchanger(partner: Partner, *, write_back_hours: str | None = None) -> TokenExchanger:
    from smart_office.runtime import build_exchanger

    env = dict(partner.env)
    if write_back_hours is not None:
        env["SMART_OFFICE_REFRESH_TOKEN_WRITE_BACK_HOURS"] = write_back_hours
    return build_exchanger(Settings.from_env(env), partner.store)


def test_exchange_rotates_and_writes_back(partner: Partner) -> None:
    handle = partner.handle
    customer = handle.customer_where(can_read_security=True, baked_fault=None)
    first = partner.store.get(REFRESH_TOKEN_NAME)
    exchanger = _exchanger(partner, write_back_hours="0")  # every rotation written
    token = exchanger.get_token(customer["tenant_id"], GRAPH_SCOPE)
    again = exchanger.get_token(customer["tenant_id"], GRAPH_SCOPE)
    assert again is token  # cached: one exchange per tenant per resource
    assert exchanger.exchanges == 1
    stored = partner.store.get(REFRESH_TOKEN_NAME)
    assert stored.value.reveal() != first.value.reveal()
    assert int(stored.version) == int(first.version) + 1
    # Entra keeps the old token valid until its own expiry: another worker still holding it is fine.
    old_holder = TokenExchanger(
        cloud=partner.settings().cloud,
        client_id=partner.settings().client_id,
        credential=exchanger._credential,
        partner_tenant_id=handle.partner_tenant_id,
        keeper=_FixedKeeper(partner.store, first),
    )
    assert old_holder.get_token(customer["tenant_id"], GRAPH_SCOPE).tenant_id == customer["tenant_id"]


class _FixedKeeper(RefreshTokenKeeper):
    """A keeper that exchanges with a token read earlier (what a slow worker holds)."""

    def __init__(self, store: PostgresSecretStore, token: StoredSecret) -> None:
        super().__init__(store)
        self._fixed = token

    def current(self) -> StoredSecret:
        return self._fixed


def test_exchanges_write_back_only_when_the_stored_token_is_older_than_the_age(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str
) -> None:
    handle = emulator_factory(tenants=8, fault_profile="none")
    creds = handle.partner_credentials()
    with migrated_store(postgres_server_url) as warehouse:
        store = warehouse.store
        start = datetime.fromisoformat(handle.admin_get("/clock")["now"])
        # Consented an hour ago (issue times are the identity service's `iat`, backdated a few minutes).
        RefreshTokenKeeper(store).initialise(creds["refresh_token"], start - timedelta(hours=1))
        keeper = RefreshTokenKeeper(store, write_back_age=timedelta(hours=6))
        exchanger = TokenExchanger(
            cloud=cloud_from_endpoints(handle.endpoints),
            client_id=creds["client_id"],
            credential=ClientCredential(client_secret=_secret(creds["client_secret"])),
            partner_tenant_id=handle.partner_tenant_id,
            keeper=keeper,
        )
        tenants = [c["tenant_id"] for c in handle.customers() if c["has_delegated_access"]][:3]
        assert len(tenants) == 3

        exchanger.get_token(tenants[0], GRAPH_SCOPE)  # within 6 hours of the stored token: kept in memory
        assert store.get(REFRESH_TOKEN_NAME).version == "1"
        assert keeper.current().version == ""  # the rotated token, held only in memory, used next

        handle.admin_post("/clock/advance", {"hours": 7})
        exchanger.get_token(tenants[1], GRAPH_SCOPE)  # the stored token is now 7 hours older: written
        stored = store.get(REFRESH_TOKEN_NAME)
        assert stored.version == "2"
        assert stored.issued_at >= start + timedelta(hours=6)
        assert stored.value == keeper.current().value  # Secret: a failure shows no token

        exchanger.get_token(tenants[2], GRAPH_SCOPE)  # a second exchange within the age: no write
        assert store.get(REFRESH_TOKEN_NAME).version == "2"
        assert keeper.current().version == ""
        assert keeper.current().value != stored.value  # the newest, used from memory
        assert exchanger.exchanges == 3
        store.close()


def test_exchange_for_fifty_tenants_makes_one_token_request_each(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> None:
    handle = emulator_factory(tenants=70, fault_profile="none")
    creds = handle.partner_credentials()
    with migrated_store(postgres_server_url) as warehouse:
        store = warehouse.store
        RefreshTokenKeeper(store).initialise(creds["refresh_token"], datetime.now(UTC))
        cloud = cloud_from_endpoints(handle.endpoints)
        exchanger = TokenExchanger(
            cloud=cloud,
            client_id=creds["client_id"],
            credential=ClientCredential(client_secret=_secret(creds["client_secret"])),
            partner_tenant_id=handle.partner_tenant_id,
            keeper=RefreshTokenKeeper(store),
        )
        tenants = [c["tenant_id"] for c in handle.customers() if c["has_delegated_access"]][:50]
        assert len(tenants) == 50
        handle.admin_delete("/stats")
        errors: list[BaseException] = []

        def worker(chunk: list[str]) -> None:
            try:
                for tenant in chunk * 3:  # each tenant asked three times, from four threads
                    exchanger.get_token(tenant, GRAPH_SCOPE)
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(tenants,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert exchanger.exchanges == 50
        stats = handle.admin_get("/stats")
        token_posts = [
            row
            for row in stats["endpoints"]
            if row["service"] == "identity" and "token" in row["endpoint"] and row["tenant"] in tenants
        ]
        assert sum(row["requests"] for row in token_posts) == 50
        assert {row["tenant"] for row in token_posts} == set(tenants)


def _secret(value: str):  # type: ignore[no-untyped-def]
    from smart_office.redaction import Secret

    return Secret(value)


@pytest.mark.parametrize(
    ("kind", "state", "partner_level"),
    [
        ("consent_revoked", AuthState.CONSENT_REQUIRED, False),
        ("mfa_required", AuthState.MFA_REQUIRED, False),
        ("conditional_access_blocked", AuthState.CONDITIONAL_ACCESS_BLOCKED, False),
        ("partner_blocked", AuthState.PARTNER_BLOCKED, False),
        ("no_delegated_access", AuthState.GDAP_MISSING, False),
        ("refresh_token_expired", AuthState.REFRESH_TOKEN_EXPIRED, True),
        ("invalid_client", AuthState.INVALID_CLIENT, True),
        # The app has no service principal in that customer tenant: its consent, not the partner's credential.
        ("app_not_found", AuthState.APP_NOT_FOUND, False),
        ("tenant_not_found", AuthState.TENANT_NOT_FOUND, False),
    ],
)
def test_aadsts_errors_become_states(
    partner: Partner, kind: str, state: AuthState, partner_level: bool
) -> None:
    handle = partner.handle
    customer = handle.customer_where(can_read_security=True, baked_fault=None)
    handle.add_fault(kind=kind, service="identity", tenant=customer["tenant_id"])
    exchanger = _exchanger(partner)  # a fresh MSAL app: MSAL replays recent 400s from its own cache
    with pytest.raises(AuthError) as caught:
        exchanger.get_token(customer["tenant_id"], GRAPH_SCOPE)
    error = caught.value
    assert error.state is state
    assert error.tenant_id == customer["tenant_id"]
    assert exchanger.is_partner_failure(error) is partner_level
    assert error.remediation


def test_app_unknown_at_the_partner_tenant_stops_the_run(partner: Partner) -> None:
    handle = partner.handle
    handle.add_fault(kind="app_not_found", service="identity", tenant=handle.partner_tenant_id)
    exchanger = _exchanger(partner)
    with pytest.raises(AuthError) as caught:
        exchanger.get_token(handle.partner_tenant_id, GRAPH_SCOPE)
    assert caught.value.state is AuthState.APP_NOT_FOUND
    assert exchanger.is_partner_failure(caught.value)


def test_baked_faults_of_the_realistic_portfolio_are_per_tenant_outcomes(partner: Partner) -> None:
    rows = partner.handle.customers()
    revoked = next((r for r in rows if r["baked_fault"] == "consent_revoked"), None)
    no_access = next((r for r in rows if r["listed"] and not r["has_delegated_access"]), None)
    exchanger = _exchanger(partner)
    for row, state in ((revoked, AuthState.CONSENT_REQUIRED), (no_access, AuthState.GDAP_MISSING)):
        if row is None:
            continue
        with pytest.raises(AuthError) as caught:
            exchanger.get_token(row["tenant_id"], GRAPH_SCOPE)
        assert caught.value.state is state
        assert not exchanger.is_partner_failure(caught.value)
    assert revoked is not None or no_access is not None, "the seeded portfolio should carry some"


def test_unknown_tenant_is_tenant_not_found(partner: Partner) -> None:
    with pytest.raises(AuthError) as caught:
        _exchanger(partner).get_token("00000000-0000-4000-8000-00000000dead", GRAPH_SCOPE)
    assert caught.value.state is AuthState.TENANT_NOT_FOUND


def test_refresh_token_expiry_warning_and_expiry_on_the_emulator_clock(
    emulator_factory: Callable[..., EmulatorHandle], postgres_server_url: str, tmp_path: Path
) -> None:
    handle = emulator_factory(tenants=5, fault_profile="none")
    creds = handle.partner_credentials()
    with migrated_store(postgres_server_url) as warehouse:
        store = warehouse.store
        start = datetime.fromisoformat(handle.admin_get("/clock")["now"])
        keeper = RefreshTokenKeeper(store)
        keeper.initialise(creds["refresh_token"], start)
        assert not keeper.expiry_status(start + timedelta(days=75)).needs_attention
        assert keeper.expiry_status(start + timedelta(days=77)).needs_attention
        handle.admin_post("/clock/advance", {"days": 91})
        exchanger = TokenExchanger(
            cloud=cloud_from_endpoints(handle.endpoints),
            client_id=creds["client_id"],
            credential=ClientCredential(client_secret=_secret(creds["client_secret"])),
            partner_tenant_id=handle.partner_tenant_id,
            keeper=RefreshTokenKeeper(store),
        )
        with pytest.raises(AuthError) as caught:
            exchanger.get_token(handle.partner_tenant_id, GRAPH_SCOPE)
        assert caught.value.state is AuthState.REFRESH_TOKEN_EXPIRED
        assert caught.value.code == 700082
        assert exchanger.is_partner_failure(caught.value)


def _key_vault_store(handle: EmulatorHandle) -> tuple[KeyVaultSecretStore, dict[str, str]]:
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
    client = SecretClient(
        vault_url=handle.key_vault, credential=credential, connection_verify=handle.ca_bundle
    )
    return KeyVaultSecretStore(client), creds


def test_key_vault_store_round_trip_and_compare_and_swap(emulator: EmulatorHandle) -> None:
    from smart_office.auth.stores import VersionConflict

    store, _ = _key_vault_store(emulator)
    name = "sam-test-round-trip"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    first = store.put(
        name,
        "fake-token-a",
        issued_at=t0,
        expected_version=store.get(name).version if store.get(name) else None,
    )
    got = store.get(name)
    assert got.value.reveal() == "fake-token-a"
    assert got.version == first.version
    assert got.issued_at == t0
    with pytest.raises(VersionConflict):
        store.put(name, "fake-token-b", issued_at=t0 + timedelta(hours=1), expected_version="not-the-version")
    second = store.put(
        name, "fake-token-b", issued_at=t0 + timedelta(hours=1), expected_version=first.version
    )
    assert store.get(name).value.reveal() == "fake-token-b"
    assert second.version != first.version


def _key_vault_requests(handle: EmulatorHandle) -> dict[str, int]:
    """Key Vault requests since the last `DELETE /stats`, per endpoint (route template)."""
    counts: dict[str, int] = {}
    for row in handle.admin_get("/stats")["endpoints"]:
        if row["service"] == "key_vault":
            counts[row["endpoint"]] = counts.get(row["endpoint"], 0) + row["requests"]
    return counts


def test_key_vault_compare_and_swap_reads_only_the_current_version(emulator: EmulatorHandle) -> None:
    store, _ = _key_vault_store(emulator)
    name = "sam-test-current-only"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    written = store.put(name, "fake-token-0", issued_at=t0, expected_version=None)
    for i in range(1, 30):  # a history of 30 versions, more than one page of a version listing
        written = store.put(
            name, f"fake-token-{i}", issued_at=t0 + timedelta(minutes=i), expected_version=written.version
        )
    emulator.admin_delete("/stats")
    store.put(name, "fake-token-last", issued_at=t0 + timedelta(hours=1), expected_version=written.version)
    # read current, write, read current to verify: the same three requests however long the history
    assert _key_vault_requests(emulator) == {"/secrets/{name}/": 2, "/secrets/{name}": 1}


class _InterleavingClient:
    """A SecretClient through which another writer's token lands right after our first write."""

    def __init__(self, client: Any, value: str, issued_at: datetime) -> None:
        self._client = client
        self._other = (value, issued_at)
        self.fired = False

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._client, attribute)

    def set_secret(self, name: str, value: str, **kwargs: Any) -> Any:
        written = self._client.set_secret(name, value, **kwargs)
        if not self.fired:
            self.fired = True
            other, issued_at = self._other
            self._client.set_secret(
                name, other, tags={"issued_at": issued_at.isoformat()}, content_type="text/plain"
            )
        return written


def test_key_vault_an_older_token_landing_after_ours_is_written_over_again(emulator: EmulatorHandle) -> None:
    store, _ = _key_vault_store(emulator)
    name = "sam-test-older-lands-later"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    first = store.put(name, "fake-consented", issued_at=t0, expected_version=None)
    racing = _InterleavingClient(store._client, "fake-slow-older", t0 + timedelta(minutes=1))
    written = KeyVaultSecretStore(racing).put(
        name, "fake-newer", issued_at=t0 + timedelta(minutes=2), expected_version=first.version
    )
    assert racing.fired
    final = store.get(name)
    assert final.value.reveal() == "fake-newer"
    assert final.issued_at == t0 + timedelta(minutes=2)
    assert final.version == written.version


def test_key_vault_a_newer_token_landing_after_ours_stands(emulator: EmulatorHandle) -> None:
    from smart_office.auth.stores import VersionConflict

    store, _ = _key_vault_store(emulator)
    name = "sam-test-newer-lands-later"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    first = store.put(name, "fake-consented", issued_at=t0, expected_version=None)
    racing = _InterleavingClient(store._client, "fake-fast-newer", t0 + timedelta(minutes=3))
    with pytest.raises(VersionConflict):
        KeyVaultSecretStore(racing).put(
            name, "fake-older", issued_at=t0 + timedelta(minutes=2), expected_version=first.version
        )
    assert store.get(name).value.reveal() == "fake-fast-newer"


def test_key_vault_concurrent_rotations_converge_on_the_newest(emulator: EmulatorHandle) -> None:
    store, _ = _key_vault_store(emulator)
    name = "sam-test-race"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    RefreshTokenKeeper(store, name).initialise("fake-consented", t0)
    # Every rotation written (age 0), so that each of the ten offers is a compare-and-swap in the race.
    keepers = [RefreshTokenKeeper(store, name, write_back_age=timedelta(0)) for _ in range(2)]
    for keeper in keepers:
        keeper.current()  # both read the same version before either writes
    barrier = threading.Barrier(2)

    def rotate(keeper: RefreshTokenKeeper, label: str, minutes: int) -> None:
        barrier.wait()
        for i in range(5):
            keeper.offer(f"fake-{label}-{i}", t0 + timedelta(minutes=minutes, seconds=i))

    threads = [
        threading.Thread(target=rotate, args=(keepers[0], "early", 1)),
        threading.Thread(target=rotate, args=(keepers[1], "late", 2)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = store.get(name)
    assert final.value.reveal() == "fake-late-4"


def test_key_vault_a_thousand_rotations_cost_a_constant_number_of_requests(emulator: EmulatorHandle) -> None:
    """What each tenant's exchange does with the rotated token, 1,000 times: read once, write once."""
    store, _ = _key_vault_store(emulator)
    name = "sam-test-thousand"
    t0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
    RefreshTokenKeeper(store, name).initialise("fake-consented", t0)  # also answers the bearer challenge
    emulator.admin_delete("/stats")
    keeper = RefreshTokenKeeper(store, name, write_back_age=timedelta(hours=6))
    keeper.current()
    run = t0 + timedelta(days=1)
    for i in range(1_000):
        keeper.offer(f"fake-rotated-{i}", run + timedelta(seconds=i))
    requests = _key_vault_requests(emulator)
    # current(); then read current, set, read current to verify (was 22,541 with a listing of every version)
    assert sum(requests.values()) <= 5
    assert "/secrets/{name}/versions" not in requests
    stored = store.get(name)
    assert (stored.value.reveal(), stored.issued_at) == ("fake-rotated-0", run)
    assert keeper.current().value.reveal() == "fake-rotated-999"


def test_no_secret_reaches_logs_reprs_or_errors(partner: Partner, caplog: pytest.LogCaptureFixture) -> None:
    handle = partner.handle
    customer = handle.customer_where(can_read_security=True, baked_fault=None)
    caplog.set_level(logging.DEBUG)
    exchanger = _exchanger(partner)
    access = exchanger.get_token(customer["tenant_id"], GRAPH_SCOPE)
    handle.add_fault(kind="consent_revoked", service="identity", tenant=customer["tenant_id"])
    failing = _exchanger(partner)
    with pytest.raises(AuthError) as caught:
        failing.get_token(customer["tenant_id"], GRAPH_SCOPE)
    refresh = partner.store.get(REFRESH_TOKEN_NAME)
    credential = partner.store.get(CLIENT_CERTIFICATE_NAME) or partner.store.get(CLIENT_SECRET_NAME)
    secrets = [access.token.reveal(), refresh.value.reveal(), credential.value.reveal()[:80]]
    surfaces = [
        caplog.text,
        str(caught.value),
        repr(caught.value),
        repr(access),
        repr(refresh),
        repr(exchanger._credential),
        repr(partner.settings()),
    ]
    for secret in secrets:
        for surface in surfaces:
            assert secret not in surface
