"""Transport faults as clients see them: throttling with Retry-After, 5xx, slow, reset, truncated, malformed."""

from __future__ import annotations

import time

import pytest
import requests

from tests.integration.emulator.conftest import GRAPH_DEFAULT, confidential_app

pytestmark = pytest.mark.integration


@pytest.fixture
def graph_get(emulator, partner, session):
    tokens: dict[str, str] = {}

    def get(tenant: str | None = None, path: str = "/v1.0/organization") -> requests.Response:
        tenant = tenant or emulator.partner_tenant_id
        if tenant not in tokens:
            tokens[tenant] = confidential_app(
                emulator, tenant, partner["client_id"], partner["client_secret"]
            ).acquire_token_by_refresh_token(partner["refresh_token"], GRAPH_DEFAULT)["access_token"]
        return session.get(f"{emulator.graph}{path}", headers={"Authorization": f"Bearer {tokens[tenant]}"})

    return get


def test_throttle_answers_429_with_a_fractional_retry_after_in_graphs_shape(emulator, graph_get) -> None:
    graph_get()  # token first: the fault below must hit Graph, not this setup
    fault = emulator.add_fault(
        kind="throttle", service="graph", endpoint="organization", retry_after=2.128, count=1
    )
    throttled = graph_get()
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "2.128"
    error = throttled.json()["error"]
    assert (error["code"], error["message"]) == ("TooManyRequests", "Please retry again later.")
    assert error["innerError"]["code"] == "429"
    assert error["innerError"]["request-id"] == throttled.headers["request-id"]
    assert graph_get().status_code == 200
    assert fault["id"] not in {f["id"] for f in emulator.admin_get("/faults")["faults"]}  # spent


def test_identity_throttling_is_entras_bare_text_answer(emulator, partner, session) -> None:
    emulator.add_fault(kind="throttle", service="identity", endpoint="token", retry_after=7, count=1)
    response = session.post(
        f"{emulator.identity}/{emulator.partner_tenant_id}/oauth2/v2.0/token",
        data={
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
            "grant_type": "client_credentials",
            "scope": GRAPH_DEFAULT[0],
        },
    )
    assert (response.status_code, response.text, response.headers["Retry-After"]) == (
        429,
        "Too Many Requests",
        "7",
    )


def test_key_vault_throttling_uses_its_own_shape(emulator, partner, session) -> None:
    port = emulator.key_vault.rsplit(":", 1)[1]
    token = confidential_app(
        emulator, emulator.partner_tenant_id, partner["client_id"], partner["client_secret"]
    ).acquire_token_for_client([f"https://0.0.1:{port}/.default"])["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    emulator.add_fault(kind="throttle", service="key_vault", count=1)
    throttled = session.get(f"{emulator.key_vault}/secrets?api-version=7.4", headers=headers)
    assert (throttled.status_code, throttled.json()["error"]["code"]) == (429, "Throttled")
    # Authentication comes first: an unauthenticated request is refused before any fault applies.
    emulator.add_fault(kind="throttle", service="key_vault", count=1)
    assert session.get(f"{emulator.key_vault}/secrets?api-version=7.4").status_code == 401


@pytest.mark.parametrize(("status", "code"), [(503, "serviceNotAvailable"), (504, "GatewayTimeout")])
def test_http_errors_carry_graphs_error_body(emulator, graph_get, status, code) -> None:
    graph_get()
    emulator.add_fault(kind="http_error", service="graph", status=status, count=1)
    failed = graph_get()
    assert failed.status_code == status
    assert failed.json()["error"]["code"] == code


def test_slow_delays_then_answers_normally(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="slow", service="graph", delay=0.4, count=1)
    started = time.monotonic()
    response = graph_get()
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.4


def test_reset_drops_the_connection_mid_body(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="reset", service="graph", count=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError)):
        graph_get()
    assert graph_get().status_code == 200


def test_truncate_sends_half_a_body_with_status_200(emulator, graph_get) -> None:
    whole = graph_get().content
    emulator.add_fault(kind="truncate", service="graph", count=1)
    cut = graph_get()
    assert cut.status_code == 200
    assert cut.headers["content-length"] == str(len(cut.content))
    assert cut.content == whole[: len(whole) // 2]
    with pytest.raises(requests.exceptions.JSONDecodeError):
        cut.json()


def test_malformed_sends_invalid_json_with_status_200(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="malformed", service="graph", count=1)
    broken = graph_get()
    assert broken.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        broken.json()


def test_a_tenant_scoped_fault_hits_only_that_tenant(emulator, graph_get) -> None:
    customer = emulator.customer_where(access="gdap_security", baked_fault=None)["tenant_id"]
    graph_get(customer)
    graph_get()
    emulator.add_fault(kind="throttle", service="graph", tenant=customer, count=2)
    assert graph_get().status_code == 200
    assert [graph_get(customer).status_code for _ in range(3)] == [429, 429, 200]


def test_an_endpoint_glob_selects_routes(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="http_error", service="graph", endpoint="/v1.0/me*")
    assert graph_get(path="/v1.0/organization").status_code == 200
    assert graph_get(path="/v1.0/me").status_code == 503


def test_probability_fires_on_a_share_of_requests(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="http_error", service="graph", probability=0.5)
    statuses = [graph_get().status_code for _ in range(30)]
    assert set(statuses) == {200, 503}


def test_the_admin_api_is_never_faulted(emulator, graph_get) -> None:
    graph_get()
    emulator.add_fault(kind="http_error")  # every service, every endpoint
    assert graph_get().status_code == 503
    assert emulator.admin_get("/health") == {"status": "ok"}
    emulator.reset()
    assert graph_get().status_code == 200
