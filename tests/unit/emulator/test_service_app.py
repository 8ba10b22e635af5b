"""The per-service ASGI layer: routing, stats, faults in each service's shape, headers, internal calls."""

from __future__ import annotations

import pytest
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from emulator.context import ServiceApp
from emulator.graph import app as graph_app
from tests.support.emulator import make_context


@pytest.fixture
def ctx(tmp_path):
    context = make_context(tmp_path)
    yield context
    context.state.close()


def _token(ctx, tenant: str, **claims) -> str:
    now = ctx.clock.timestamp()
    return ctx.tokens.mint(
        {
            "aud": "https://graph.microsoft.com",
            "iss": f"https://sts.windows.net/{tenant}/",
            "tid": tenant,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            **claims,
        }
    )


def _partner_center(ctx) -> TestClient:
    async def customers(request):
        return JSONResponse({"items": []})

    app = ServiceApp(ctx, "partner_center", [Route("/v1/customers", customers, name="customers")])
    return TestClient(app, base_url="https://testserver")


def test_partner_center_faults_use_its_own_error_shapes(ctx) -> None:
    client = _partner_center(ctx)
    ctx.faults.add(
        {"kind": "throttle", "service": "partner_center", "retry_after": 57, "count": 1}, now=ctx.now()
    )
    throttled = client.get("/v1/customers")
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "57"
    assert throttled.json() == {
        "statusCode": 429,
        "message": "Rate limit is exceeded. Try again in 57 seconds.",
    }
    ctx.faults.add({"kind": "http_error", "service": "partner_center", "count": 1}, now=ctx.now())
    failed = client.get("/v1/customers")
    assert failed.status_code == 503
    assert set(failed.json()) == {"code", "description", "data", "source"}
    assert client.get("/v1/customers").json() == {"items": []}


def test_requests_are_counted_under_their_route_template(ctx) -> None:
    client = _partner_center(ctx)
    client.get("/v1/customers")
    client.get("/v1/nothing")
    rows = {(r["endpoint"], r["requests"]) for r in ctx.stats.snapshot()["endpoints"]}
    assert rows == {("/v1/customers", 1), ("(unmatched)", 1)}


def test_graph_modules_register_routes_with_permissions(ctx, monkeypatch) -> None:
    monkeypatch.setattr(
        graph_app, "GRAPH_MODULES", ("tests.support.fake_graph_routes", "emulator.graph.absent")
    )
    client = TestClient(graph_app.build_app(ctx), base_url="https://testserver")
    tenant = ctx.partner_tenant_id
    allowed = client.get(
        "/v1.0/probe",
        headers={"Authorization": f"Bearer {_token(ctx, tenant, scp='SecurityAlert.Read.All')}"},
    )
    assert allowed.json() == {"tenant": tenant, "empty": False}
    assert allowed.headers["request-id"]
    assert allowed.headers["client-request-id"] == allowed.headers["request-id"]
    denied = client.get(
        "/v1.0/probe", headers={"Authorization": f"Bearer {_token(ctx, tenant, scp='User.Read')}"}
    )
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    app_only = client.get(
        "/v1.0/probe",
        headers={"Authorization": f"Bearer {_token(ctx, tenant, roles=['SecurityAlert.Read.All'])}"},
    )
    assert app_only.status_code == 200
    unknown_tenant = _token(ctx, "00000000-0000-4000-8000-000000000000", scp="SecurityAlert.Read.All")
    assert client.get("/v1.0/probe", headers={"Authorization": f"Bearer {unknown_tenant}"}).status_code == 401


def test_data_faults_are_taken_for_the_request_being_served(ctx, monkeypatch) -> None:
    monkeypatch.setattr(graph_app, "GRAPH_MODULES", ("tests.support.fake_graph_routes",))
    client = TestClient(graph_app.build_app(ctx), base_url="https://testserver")
    customer = ctx.portfolio.customer(0).tenant_id
    ctx.faults.add({"kind": "empty_page", "endpoint": "probe", "tenant": customer, "count": 1}, now=ctx.now())
    headers = {"Authorization": f"Bearer {_token(ctx, customer, scp='SecurityAlert.Read.All')}"}
    assert client.get("/v1.0/probe", headers=headers).json()["empty"] is True
    assert client.get("/v1.0/probe", headers=headers).json()["empty"] is False


@pytest.mark.anyio
async def test_internal_calls_run_through_auth_and_faults(ctx) -> None:
    service = graph_app.build_app(ctx)
    token = _token(ctx, ctx.partner_tenant_id, scp="Directory.Read.All")
    headers = [(b"authorization", f"Bearer {token}".encode())]
    status, response_headers, body = await service.call_internal(
        "GET", "/v1.0/organization?$select=id", headers=headers
    )
    assert status == 200
    assert b'"id"' in body
    assert any(k == b"request-id" for k, _ in response_headers)
    ctx.faults.add({"kind": "reset", "service": "graph", "count": 1}, now=ctx.now())
    ctx.faults.add({"kind": "throttle", "service": "graph", "count": 1}, now=ctx.now())
    status, _, _ = await service.call_internal("GET", "/v1.0/organization", headers=headers)
    assert status == 429  # a throttle applies to an inner request; a reset cannot
    assert [f.kind for f in ctx.faults.list()] == ["reset"]
    status, _, _ = await service.call_internal("GET", "/v1.0/organization")
    assert status == 401
