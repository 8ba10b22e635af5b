"""Graph `$batch` over HTTPS: per-item status/headers/body, limits, dependsOn and 424, per-item throttling,
faults and stats, relative URLs, per-item headers."""

from __future__ import annotations

import pytest

from tests.integration.emulator.graph_support import GraphCaller, assert_valid, portfolio_of
from tests.support.emulator import DEFAULT_NOW, DEFAULT_SEED, DEFAULT_TENANTS

pytestmark = pytest.mark.integration

PORTFOLIO, NOW = portfolio_of(seed=DEFAULT_SEED, tenants=DEFAULT_TENANTS, now=DEFAULT_NOW)
TENANT = PORTFOLIO.customer(7).tenant_id
BATCH = "/v1.0/$batch"


@pytest.fixture
def graph(emulator, partner, session) -> GraphCaller:
    return GraphCaller(emulator, partner, session)


def _batch(graph: GraphCaller, requests: list[dict], tenant: str = TENANT) -> dict[str, dict]:
    response = graph.post(tenant, BATCH, {"requests": requests})
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert list(body) == ["responses"]
    by_id = {item["id"]: item for item in body["responses"]}
    assert set(by_id) == {r["id"] for r in requests}
    return by_id


def test_items_answer_what_the_same_requests_answer_alone(graph: GraphCaller) -> None:
    urls = {
        "scores": "/security/secureScores?$top=2",
        "alerts": "security/alerts_v2?$top=3",  # no leading slash: also relative to /v1.0
        "incidents": "/security/incidents?$top=2&$expand=alerts",
        "profiles": "/security/secureScoreControlProfiles",
    }
    items = _batch(graph, [{"id": k, "method": "GET", "url": u} for k, u in urls.items()])
    for key, url in urls.items():
        path = "/v1.0/" + url.lstrip("/")
        alone = graph.ok(TENANT, path)
        item = items[key]
        assert item["status"] == 200
        assert item["headers"]["Content-Type"].startswith("application/json;odata.metadata=minimal")
        assert item["body"] == alone
        assert_valid(path, item["body"], prefer=False)


def test_batches_above_20_requests_or_with_duplicate_ids_are_refused(graph: GraphCaller) -> None:
    many = [{"id": str(i), "method": "GET", "url": "/security/secureScores?$top=1"} for i in range(21)]
    too_many = graph.post(TENANT, BATCH, {"requests": many})
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (400, "BadRequest")
    assert graph.post(TENANT, BATCH, {"requests": many[:20]}).status_code == 200
    duplicate = [
        {"id": "a", "method": "GET", "url": "/security/secureScores?$top=1"},
        {"id": "A", "method": "GET", "url": "/security/incidents?$top=1"},
    ]
    assert graph.post(TENANT, BATCH, {"requests": duplicate}).status_code == 400
    assert graph.post(TENANT, BATCH, {"nothing": []}).status_code == 400


def test_an_absolute_url_fails_only_its_item(graph: GraphCaller, emulator) -> None:
    items = _batch(
        graph,
        [
            {"id": "1", "method": "GET", "url": f"{emulator.graph}/v1.0/security/secureScores"},
            {"id": "2", "method": "GET", "url": "/security/secureScores?$top=1"},
        ],
    )
    assert (items["1"]["status"], items["2"]["status"]) == (400, 200)


def test_a_method_the_resource_does_not_take_is_that_items_405(graph: GraphCaller) -> None:
    items = _batch(
        graph,
        [
            {"id": "delete", "method": "DELETE", "url": "/security/alerts_v2"},
            {"id": "get", "method": "GET", "url": "/security/secureScores?$top=1"},
        ],
    )
    assert items["delete"]["status"] == 405
    assert items["delete"]["body"]["error"]["message"] == (
        "Specified HTTP method is not allowed for the request target."
    )
    assert items["get"]["status"] == 200


def test_a_throttled_item_gets_429_and_retry_after_inside_a_200_batch(graph: GraphCaller, emulator) -> None:
    graph.token(TENANT)
    emulator.add_fault(kind="throttle", service="graph", endpoint="alerts_v2", retry_after=2.5, count=1)
    items = _batch(
        graph,
        [
            {"id": "a", "method": "GET", "url": "/security/alerts_v2?$top=1"},
            {"id": "s", "method": "GET", "url": "/security/secureScores?$top=1"},
        ],
    )
    assert items["a"]["status"] == 429
    assert items["a"]["headers"]["Retry-After"] == "2.5"
    assert items["a"]["body"]["error"]["code"] == "TooManyRequests"
    assert items["s"]["status"] == 200


def test_depends_on_sequences_and_failed_dependencies_are_424(graph: GraphCaller) -> None:
    items = _batch(
        graph,
        [
            {"id": "bad", "method": "GET", "url": "/security/incidents?$top=51"},
            {"id": "after-bad", "method": "GET", "url": "/security/incidents?$top=1", "dependsOn": ["bad"]},
            {"id": "good", "method": "GET", "url": "/security/secureScores?$top=1"},
            {"id": "after-good", "method": "GET", "url": "/security/alerts_v2?$top=1", "dependsOn": ["good"]},
            {"id": "chain", "method": "GET", "url": "/security/alerts_v2?$top=1", "dependsOn": ["after-bad"]},
        ],
    )
    assert items["bad"]["status"] == 400
    assert items["after-bad"]["status"] == 424
    assert items["chain"]["status"] == 424
    assert (items["good"]["status"], items["after-good"]["status"]) == (200, 200)
    cycle = [
        {"id": "1", "method": "GET", "url": "/security/secureScores", "dependsOn": ["2"]},
        {"id": "2", "method": "GET", "url": "/security/secureScores", "dependsOn": ["1"]},
    ]
    assert graph.post(TENANT, BATCH, {"requests": cycle}).status_code == 400
    unknown = [{"id": "1", "method": "GET", "url": "/security/secureScores", "dependsOn": ["9"]}]
    assert graph.post(TENANT, BATCH, {"requests": unknown}).status_code == 400


def test_items_are_authorised_and_counted_one_by_one(graph: GraphCaller, emulator) -> None:
    no_role = PORTFOLIO.customer(18).tenant_id  # GDAP without a security-reading role
    before = emulator.admin_get("/stats")
    items = _batch(
        graph,
        [
            {"id": "1", "method": "GET", "url": "/security/secureScores?$top=1"},
            {"id": "2", "method": "GET", "url": "/organization"},
        ],
        tenant=no_role,
    )
    assert items["1"]["status"] == 403
    assert items["1"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert items["2"]["status"] == 200
    after = emulator.admin_get("/stats")

    def requests_to(stats: dict, endpoint: str, field: str = "requests") -> int:
        return sum(
            row[field]
            for row in stats["endpoints"]
            if row["endpoint"] == endpoint and row["tenant"] == no_role
        )

    assert (
        requests_to(after, "/v1.0/security/secureScores")
        == requests_to(before, "/v1.0/security/secureScores") + 1
    )
    assert requests_to(after, "/v1.0/$batch") == requests_to(before, "/v1.0/$batch") + 1
    # The items are counted as served inside the batch, the batch itself as the one round trip.
    assert (
        requests_to(after, "/v1.0/security/secureScores", "batched")
        == requests_to(before, "/v1.0/security/secureScores", "batched") + 1
    )
    assert requests_to(after, "/v1.0/$batch", "batched") == requests_to(before, "/v1.0/$batch", "batched")


def test_item_headers_apply_to_their_item_only(graph: GraphCaller) -> None:
    cloud_tenant = PORTFOLIO.customer(11).tenant_id  # raises Defender for Cloud alerts
    url = "/security/alerts_v2?$top=50&$filter=serviceSource eq 'microsoftDefenderForCloud'"
    items = _batch(
        graph,
        [
            {"id": "plain", "method": "GET", "url": url},
            {
                "id": "prefer",
                "method": "GET",
                "url": url,
                "headers": {"Prefer": "include-unknown-enum-members"},
            },
        ],
        tenant=cloud_tenant,
    )
    assert items["prefer"]["headers"]["Preference-Applied"] == "include-unknown-enum-members"
    assert {a["serviceSource"] for a in items["prefer"]["body"]["value"]} == {"microsoftDefenderForCloud"}
    assert "Preference-Applied" not in items["plain"]["headers"]
    assert {a["serviceSource"] for a in items["plain"]["body"]["value"]} == {"unknownFutureValue"}


def test_data_faults_reach_batch_items(graph: GraphCaller, emulator) -> None:
    graph.token(TENANT)
    emulator.add_fault(kind="empty_page", service="graph", endpoint="alerts_v2", tenant=TENANT, count=1)
    items = _batch(graph, [{"id": "1", "method": "GET", "url": "/security/alerts_v2?$top=5"}])
    assert items["1"]["body"]["value"] == []
    assert "$skiptoken=" in items["1"]["body"]["@odata.nextLink"]
