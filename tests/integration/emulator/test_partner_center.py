"""Partner Center `/v1/customers` over HTTPS: seek paging with continuation tokens, departed customers, GET by
id, auth, its error and throttling shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
import requests

from tests.integration.emulator.conftest import confidential_app
from tests.integration.emulator.graph_support import portfolio_of
from tests.support.emulator import DEFAULT_NOW, EmulatorHandle, running_emulator

pytestmark = pytest.mark.integration

SEED, TENANTS = 11, 252  # 250 listed customers; indexes 172 and 195 have left the partner
PORTFOLIO, NOW = portfolio_of(seed=SEED, tenants=TENANTS, now=DEFAULT_NOW)
PC_SCOPE = ["https://api.partnercenter.microsoft.com/user_impersonation"]


@pytest.fixture(scope="module")
def handle(tmp_path_factory) -> EmulatorHandle:
    with running_emulator(
        tmp_path_factory.mktemp("partner-center") / "state", seed=SEED, tenants=TENANTS
    ) as h:
        yield h


@pytest.fixture(scope="module")
def credentials(handle: EmulatorHandle) -> dict[str, str]:
    return handle.partner_credentials()


def _token(
    handle: EmulatorHandle,
    credentials: dict[str, str],
    tenant: str,
    scopes: list[str] = PC_SCOPE,
    session: requests.Session | None = None,
) -> str:
    result = confidential_app(
        handle, tenant, credentials["client_id"], credentials["client_secret"], session=session
    ).acquire_token_by_refresh_token(credentials["refresh_token"], scopes)
    assert "access_token" in result, result
    return result["access_token"]


@pytest.fixture(scope="module")
def client(handle: EmulatorHandle, credentials: dict[str, str]) -> Iterator[requests.Session]:
    with handle.http_session() as session:
        token = _token(handle, credentials, handle.partner_tenant_id, session=session)
        session.headers["Authorization"] = f"Bearer {token}"
        session.headers["Accept"] = "application/json"
        yield session


def _walk(handle: EmulatorHandle, client: requests.Session, size: int) -> list[dict]:
    """Follow links.next (relative uri + its headers) to the end; returns the pages."""
    pages = []
    url, headers = f"{handle.partner_center}/v1/customers?size={size}", {}
    while url:
        response = client.get(url, headers=headers, timeout=60)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        following = page["links"].get("next")
        if following is None:
            break
        assert following["method"] == "GET"
        assert following["uri"].startswith("/v1/customers?")
        url = handle.partner_center + following["uri"]
        headers = {h["key"]: h["value"] for h in following["headers"]}
    return pages


def test_250_customers_come_in_3_seek_pages_each_exactly_once(handle, client) -> None:
    pages = _walk(handle, client, 100)
    assert [len(p["items"]) for p in pages] == [100, 100, 50]
    assert [p["totalCount"] for p in pages] == [100, 100, 50]
    ids = [item["id"] for page in pages for item in page["items"]]
    listed = [c.tenant_id for c in PORTFOLIO if c.is_listed(NOW)]
    assert ids == listed
    assert len(set(ids)) == 250
    first, second = pages[0]["links"], pages[1]["links"]
    assert first["self"] == {"uri": "/v1/customers?size=100", "method": "GET", "headers": []}
    assert first["next"]["uri"] == "/v1/customers?size=100&seekOperation=Next"
    assert [h["key"] for h in first["next"]["headers"]] == ["MS-ContinuationToken"]
    assert first["next"]["headers"][0]["value"] != second["next"]["headers"][0]["value"]
    assert all(p["attributes"] == {"objectType": "Collection"} for p in pages)
    item = pages[0]["items"][0]
    assert list(item) == ["id", "commerceId", "companyProfile", "relationshipToPartner", "attributes"]
    assert item["companyProfile"]["tenantId"] == item["id"]


def test_departed_customers_are_neither_listed_nor_found(handle, client) -> None:
    departed = [PORTFOLIO.customer(i) for i in (172, 195)]
    assert all(c.departed_at is not None and c.departed_at < NOW for c in departed)
    ids = {item["id"] for page in _walk(handle, client, 500) for item in page["items"]}
    for customer in departed:
        assert customer.tenant_id not in ids
        missing = client.get(f"{handle.partner_center}/v1/customers/{customer.tenant_id}", timeout=30)
        assert missing.status_code == 404
        assert set(missing.json()) == {"code", "description", "data", "source"}


def test_get_by_id_adds_allow_delegated_access(handle, client) -> None:
    for index in (0, 1, 2, 3, 4, 5):
        customer = PORTFOLIO.customer(index)
        response = client.get(f"{handle.partner_center}/v1/customers/{customer.tenant_id}", timeout=30)
        body = response.json()
        assert response.status_code == 200
        assert body["allowDelegatedAccess"] is customer.has_delegated_access(NOW)
        assert body["companyProfile"]["companyName"] == customer.company_name


def test_the_next_page_needs_its_continuation_token(handle, client) -> None:
    url = f"{handle.partner_center}/v1/customers?size=100&seekOperation=Next"
    missing = client.get(url, timeout=30)
    assert missing.status_code == 400
    assert set(missing.json()) == {"code", "description", "data", "source"}
    bogus = client.get(url, headers={"MS-ContinuationToken": "not-a-token"}, timeout=30)
    assert bogus.status_code == 400
    for size in ("0", "501", "many"):
        assert client.get(f"{handle.partner_center}/v1/customers?size={size}", timeout=30).status_code == 400


def test_request_ids_are_echoed(handle, client) -> None:
    response = client.get(
        f"{handle.partner_center}/v1/customers?size=1",
        headers={"MS-CorrelationId": "11111111-2222-4333-8444-555555555555", "MS-RequestId": "req-1"},
        timeout=30,
    )
    assert response.headers["MS-CorrelationId"] == "11111111-2222-4333-8444-555555555555"
    assert response.headers["MS-RequestId"] == "req-1"


def test_only_partner_center_tokens_of_the_partner_tenant_are_accepted(handle, credentials) -> None:
    url = f"{handle.partner_center}/v1/customers?size=1"
    with handle.http_session() as session:
        anonymous = session.get(url, timeout=30)
        assert anonymous.status_code == 401
        assert re.fullmatch(
            r"OAuth realm=urn:cpsvc:cpid:[0-9a-f-]{36}", anonymous.headers["WWW-Authenticate"]
        )
        graph_token = _token(
            handle, credentials, handle.partner_tenant_id, ["https://graph.microsoft.com/.default"], session
        )
        assert (
            session.get(url, headers={"Authorization": f"Bearer {graph_token}"}, timeout=30).status_code
            == 401
        )
        customer_token = _token(handle, credentials, PORTFOLIO.customer(0).tenant_id, session=session)
        other_tenant = session.get(url, headers={"Authorization": f"Bearer {customer_token}"}, timeout=30)
    assert other_tenant.status_code == 403
    assert set(other_tenant.json()) == {"code", "description", "data", "source"}


def test_transport_faults_use_partner_centers_shape(handle, client) -> None:
    handle.add_fault(kind="throttle", service="partner_center", endpoint="customers", retry_after=57, count=1)
    try:
        throttled = client.get(f"{handle.partner_center}/v1/customers?size=1", timeout=30)
    finally:
        handle.reset()
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "57"
    assert throttled.json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 57 seconds.",
    }


def test_500_requests_per_minute_per_tenant_lowered(emulator_factory, monkeypatch) -> None:
    monkeypatch.setenv("SMART_OFFICE_EMULATOR_LIMITS", json.dumps({"partner_center_requests": 3}))
    private = emulator_factory()
    credentials = private.partner_credentials()
    with private.http_session() as session:
        token = _token(private, credentials, private.partner_tenant_id, session=session)
        session.headers["Authorization"] = f"Bearer {token}"
        url = f"{private.partner_center}/v1/customers?size=5"
        statuses = [session.get(url, timeout=30).status_code for _ in range(3)]
        throttled = session.get(url, timeout=30)
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    seconds = int(throttled.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert throttled.json() == {
        "statusCode": 429,
        "message": f"Rate limit is exceeded. Try again in {seconds} seconds.",
    }
