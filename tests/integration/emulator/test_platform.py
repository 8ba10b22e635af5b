"""The process: its JSON line, one origin per service, verified TLS, determinism, restart, shutdown."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.integration.emulator.conftest import GRAPH_DEFAULT, confidential_app
from tests.support.emulator import EmulatorHandle

pytestmark = pytest.mark.integration
SERVICES = ("identity", "graph", "partner_center", "key_vault", "admin", "power_bi")


def test_the_json_line_names_six_https_origins_the_ca_and_the_partner(emulator: EmulatorHandle) -> None:
    line = emulator.endpoints
    assert set(line) == {*SERVICES, "ca_bundle", "partner_tenant_id", "pid"}
    parts = [urlsplit(line[name]) for name in SERVICES]
    assert {p.scheme for p in parts} == {"https"}
    assert {p.hostname for p in parts} == {"127.0.0.1"}
    assert len({p.port for p in parts}) == 6
    assert line["pid"] == emulator.process.process.pid
    assert Path(line["ca_bundle"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert str(uuid.UUID(line["partner_tenant_id"])) == line["partner_tenant_id"]


def test_each_port_serves_its_own_service(emulator: EmulatorHandle, session: requests.Session) -> None:
    discovery = session.get(
        f"{emulator.identity}/{emulator.partner_tenant_id}/v2.0/.well-known/openid-configuration"
    )
    assert discovery.json()["issuer"] == f"{emulator.identity}/{emulator.partner_tenant_id}/v2.0"
    graph = session.get(f"{emulator.graph}/v1.0/organization")
    assert (graph.status_code, graph.json()["error"]["code"]) == (401, "InvalidAuthenticationToken")
    vault = session.get(f"{emulator.key_vault}/secrets?api-version=7.4")
    assert vault.status_code == 401
    assert vault.headers["WWW-Authenticate"].startswith("Bearer authorization=")
    assert session.get(f"{emulator.admin}/health").json() == {"status": "ok"}
    # The identity path on the Graph port is unknown there: origins do not share routes.
    wrong_origin = session.get(
        f"{emulator.graph}/{emulator.partner_tenant_id}/v2.0/.well-known/openid-configuration"
    )
    assert wrong_origin.status_code == 400
    assert wrong_origin.json()["error"]["message"].startswith("Invalid version")


def test_tls_is_trusted_only_through_the_emulator_ca(emulator: EmulatorHandle) -> None:
    system_only = requests.Session()
    system_only.trust_env = False
    system_only.verify = requests.certs.where()
    with pytest.raises(requests.exceptions.SSLError):
        system_only.get(f"{emulator.admin}/health", timeout=10)
    assert emulator.http_session().get(f"{emulator.admin}/health", timeout=10).status_code == 200


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_with_cacert_reads_the_openid_configuration(emulator: EmulatorHandle) -> None:
    url = f"{emulator.identity}/{emulator.partner_tenant_id}/v2.0/.well-known/openid-configuration"
    result = subprocess.run(
        ["curl", "--silent", "--show-error", "--fail", "--cacert", emulator.ca_bundle, url],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(result.stdout)["token_endpoint"] == (
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token"
    )


def test_same_seed_and_clock_give_the_same_partner_and_customers(emulator, emulator_factory) -> None:
    twin = emulator_factory()
    assert twin.partner_tenant_id == emulator.partner_tenant_id
    assert [c["tenant_id"] for c in twin.customers()] == [c["tenant_id"] for c in emulator.customers()]
    assert twin.identity != emulator.identity
    other_seed = emulator_factory(seed=8)
    assert other_seed.partner_tenant_id != emulator.partner_tenant_id


def test_a_restart_on_the_same_state_keeps_trust_clock_and_credentials(
    emulator_factory, tmp_path: Path
) -> None:
    state = tmp_path / "kept"
    first = emulator_factory(state_dir=state)
    partner = first.partner_credentials()
    first.admin_post("/clock/advance", {"days": 3})
    ca_pem = Path(first.ca_bundle).read_bytes()
    assert first.stop() == 0
    second = emulator_factory(state_dir=state)
    assert Path(second.ca_bundle).read_bytes() == ca_pem
    assert second.admin_get("/clock")["now"] == "2026-11-05T09:00:00Z"
    result = confidential_app(
        second, second.partner_tenant_id, partner["client_id"], partner["client_secret"]
    ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)
    assert "access_token" in result, result


def test_sigterm_stops_the_emulator_cleanly(emulator_factory) -> None:
    handle = emulator_factory(tenants=2)
    assert handle.stop() == 0
    assert "emulator stopped" in handle.log_file.read_text()
