"""Entra ID login to an Azure-Database-for-PostgreSQL-like server: the emulator's identity service issues the
tokens, `EntraPostgresFront` checks them as Azure does (signature, audience, issuer, expiry on Entra's clock,
the role's principal) in front of a local PostgreSQL, and the product's token provider fetches them.

A token nearing expiry is replaced before the server could refuse it; a token the server refuses is not
retried; a credential Entra refuses is one line naming SMART_OFFICE_WAREHOUSE_AUTH.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from smart_office.azure_credential import workload_credential
from smart_office.clouds import cloud_from_endpoints
from smart_office.warehouse.connection import (
    WarehouseLoginError,
    WarehouseTarget,
    check_warehouse,
    connect,
    resolve_warehouse,
    target_from_url,
)
from smart_office.warehouse.entra import EntraTokenProvider
from tests.support.emulator import EmulatorHandle, jwt_claims
from tests.support.login_methods import ENTRA_ROLE, LoginMatrix, login_matrix, with_endpoints

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def own_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorHandle]:
    """This module moves the identity service's clock, so it has an emulator of its own."""
    from tests.support.emulator import running_emulator

    with running_emulator(tmp_path_factory.mktemp("entra-emulator") / "state", tenants=3) as handle:
        yield handle


@pytest.fixture(scope="module")
def matrix(own_emulator: EmulatorHandle, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoginMatrix]:
    with login_matrix(tmp_path_factory.mktemp("entra-logins"), own_emulator) as built:
        yield built


@pytest.fixture
def fresh_target(
    matrix: LoginMatrix, own_emulator: EmulatorHandle
) -> Callable[[], tuple[WarehouseTarget, EntraTokenProvider]]:
    """The product's Entra target with a provider of its own (the process-wide one may hold a token already)."""

    def make() -> tuple[WarehouseTarget, EntraTokenProvider]:
        method = matrix.method("entra")
        cloud = cloud_from_endpoints(own_emulator.endpoints)
        provider = EntraTokenProvider(lambda: workload_credential(cloud, method.env), cloud.postgres_scope)
        return WarehouseTarget(
            target_from_url(method.url).params, "SMART_OFFICE_WAREHOUSE_URL", provider
        ), provider

    return make


def test_each_connection_presents_a_current_token_and_reuses_it(fresh_target, matrix: LoginMatrix) -> None:
    target, provider = fresh_target()
    before = len(matrix.front.accepted)
    for _ in range(3):
        with connect(target) as conn:
            assert conn.execute("select current_user").fetchone() == (ENTRA_ROLE,)
    assert len(matrix.front.accepted) - before == 3  # the server checked a token every time
    assert provider.fetched == 1  # … the same one, while it is good


def test_a_token_is_replaced_before_it_expires_and_an_expired_one_is_refused(
    fresh_target, matrix: LoginMatrix, own_emulator: EmulatorHandle, request: pytest.FixtureRequest
) -> None:
    # Tokens that live 302 s: the provider (and MSAL under it) replaces them 5 minutes before expiry.
    own_emulator.add_fault(kind="token_lifetime", seconds=302)
    request.addfinalizer(own_emulator.reset)
    target, provider = fresh_target()
    with connect(target) as conn:
        conn.execute("select 1")
    first = provider.token().reveal()
    assert jwt_claims(first)["exp"] - jwt_claims(first)["iat"] == 302 + 300

    # Entra's clock moves past the token's expiry: the server now refuses it …
    own_emulator.admin_post("/clock/advance", {"seconds": 400})
    with pytest.raises(psycopg.OperationalError, match="the access token has expired"):
        psycopg.connect(**{**target.params, "password": first}).close()
    # … and the product never presents it: past its refresh point, the next connection gets a new one.
    time.sleep(3)
    with connect(target) as conn:
        assert conn.execute("select current_user").fetchone() == (ENTRA_ROLE,)
    assert provider.fetched == 2
    assert provider.token().reveal() != first


def test_a_refused_token_fails_once_with_one_line_and_no_retry(
    matrix: LoginMatrix, own_emulator: EmulatorHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    method = matrix.method("entra")
    settings = with_endpoints(method, own_emulator, tmp_path)
    # A role that exists but is not this identity's principal.
    settings["SMART_OFFICE_WAREHOUSE_URL"] = settings["SMART_OFFICE_WAREHOUSE_URL"].replace(
        ENTRA_ROLE, "smart_trust"
    )
    refused_before = len(matrix.front.refused)
    started = time.monotonic()
    with pytest.raises(WarehouseLoginError) as caught:
        check_warehouse(resolve_warehouse(settings))
    assert time.monotonic() - started < 5
    assert len(matrix.front.refused) - refused_before == 1
    message = str(caught.value)
    assert "\n" not in message
    assert 'password authentication failed for user "smart_trust"' in message
    assert "SMART_OFFICE_WAREHOUSE_AUTH=entra" in message
    assert "eyJ" not in message  # no token in the message


def test_a_refused_credential_names_the_setting(
    matrix: LoginMatrix, own_emulator: EmulatorHandle, tmp_path: Path
) -> None:
    settings = with_endpoints(matrix.method("entra"), own_emulator, tmp_path)
    settings["AZURE_CLIENT_SECRET"] = "fake-not-the-secret"
    with pytest.raises(WarehouseLoginError) as caught:
        check_warehouse(resolve_warehouse(settings))
    assert caught.value.setting == "SMART_OFFICE_WAREHOUSE_AUTH"
    assert "AADSTS7000215" in caught.value.message
    assert "fake-not-the-secret" not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_each_dbt_invocation_gets_a_token_fresh_for_it(
    matrix: LoginMatrix,
    own_emulator: EmulatorHandle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    """The DAG's dbt tasks share one profile mapping when they run in one process (`airflow dags test`)."""
    from smart_office.operators.dbt_profile import WarehouseProfileMapping
    from smart_office.warehouse import entra

    monkeypatch.setattr(entra, "_PROVIDERS", {})  # not a token an earlier test left in this process
    own_emulator.add_fault(kind="token_lifetime", seconds=302)
    request.addfinalizer(own_emulator.reset)
    for key, value in with_endpoints(matrix.method("entra"), own_emulator, tmp_path).items():
        monkeypatch.setenv(key, str(value))
    mapping = WarehouseProfileMapping("smart_office_warehouse", {"schema": "dbt"})
    password = mapping.get_env_var_name("password")
    first = mapping.env_vars[password]
    assert jwt_claims(first)["aud"].startswith("https://ossrdbms-aad")
    assert mapping.env_vars[password] == first  # one invocation: profile and env_vars agree
    own_emulator.admin_post("/clock/advance", {"seconds": 400})
    time.sleep(3)
    monkeypatch.setattr(WarehouseProfileMapping, "login_reuse_seconds", 0.0)  # … the next task's invocation
    second = mapping.env_vars[password]
    assert second != first
    with psycopg.connect(
        **{**target_from_url(os.environ["SMART_OFFICE_WAREHOUSE_URL"]).params, "password": second}
    ) as conn:
        assert conn.execute("select current_user").fetchone() == (ENTRA_ROLE,)
