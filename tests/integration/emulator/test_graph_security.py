"""Graph /security over HTTPS: secureScores, control profiles, alerts_v2, incidents — paging against the data
layer, filters, 400s/403s, Prefer, throttling, data-level and transport faults, and schema fidelity."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from emulator.data.alerts import alerts_as_of
from emulator.data.catalogue import CONTROLS
from emulator.data.incidents import incidents_as_of
from emulator.data.securescore import record_days
from emulator.data.timestamps import iso7, to_us
from tests.integration.emulator.graph_support import GraphCaller, graph_caller, portfolio_of
from tests.support.emulator import DEFAULT_NOW, DEFAULT_SEED, DEFAULT_TENANTS

pytestmark = pytest.mark.integration

PORTFOLIO, NOW = portfolio_of(seed=DEFAULT_SEED, tenants=DEFAULT_TENANTS, now=DEFAULT_NOW)
SMALL = PORTFOLIO.customer(7)  # ~100 alerts, 40 incidents
MEDIUM = PORTFOLIO.customer(22)  # ~150 alerts
BUSY = PORTFOLIO.customer(11)  # ~8,400 alerts
NO_SECURITY_ROLE = PORTFOLIO.customer(18)  # GDAP without a security-reading role
ALERTS = "/v1.0/security/alerts_v2"
INCIDENTS = "/v1.0/security/incidents"
SCORES = "/v1.0/security/secureScores"
# examples/graph_v1_error_400_top_exceeded_incidents.json (wazuh/wazuh#28070, a real response), verbatim.
CAPTURED_TOP_EXCEEDED = {
    "error": {
        "code": "",
        "message": "The query specified in the URI is not valid. The limit of '50' for Top query has been "
        "exceeded. The value from the incoming request is '100'.",
        "details": [],
        "innerError": {
            "date": "2025-01-11T19:43:26",
            "request-id": "65fe78a8-cade-409c-9e18-61374c132118",
            "client-request-id": "65fe78a8-cade-409c-9e18-61374c132118",
        },
    }
}
PROFILES = "/v1.0/security/secureScoreControlProfiles"


@pytest.fixture
def graph(emulator, partner, session) -> GraphCaller:
    return GraphCaller(emulator, partner, session)


@pytest.fixture
def private(emulator_factory, monkeypatch):
    """`private(**limits)`: a caller on a private emulator whose limits are lowered (read from the environment
    when it starts). Its connections are closed before the emulator stops, so the stop is immediate."""
    callers: list[GraphCaller] = []

    def start(*, seed: int = DEFAULT_SEED, tenants: int = DEFAULT_TENANTS, **limits: float) -> GraphCaller:
        if limits:
            monkeypatch.setenv("SMART_OFFICE_EMULATOR_LIMITS", json.dumps(limits))
        callers.append(graph_caller(emulator_factory(seed=seed, tenants=tenants)))
        return callers[-1]

    yield start
    for caller in callers:
        caller.close()


def _ids(items: list[dict]) -> list[str]:
    return [item["id"] for item in items]


def _security_400(response, message_tail: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == ""
    assert error["details"] == []
    assert error["message"] == f"The query specified in the URI is not valid. {message_tail}"
    assert error["innerError"]["request-id"] == response.headers["request-id"]


# -- fidelity -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefer", [False, True])
def test_every_security_endpoint_validates_against_the_schema(graph: GraphCaller, prefer: bool) -> None:
    tenant = BUSY.tenant_id  # every alert source, evolvable members included
    alert = graph.ok(tenant, f"{ALERTS}?$top=1", prefer=prefer)["value"][0]
    incident = graph.ok(tenant, f"{INCIDENTS}?$top=1", prefer=prefer)["value"][0]
    for path in (
        SCORES,
        f"{SCORES}?$top=2",
        PROFILES,
        f"{ALERTS}?$top=300&$count=true",
        f"{ALERTS}/{alert['id']}",
        f"{INCIDENTS}?$top=50&$expand=alerts",
        f"{INCIDENTS}/{incident['id']}",
        f"{INCIDENTS}/{incident['id']}?$expand=alerts",
    ):
        graph.ok(tenant, path, prefer=prefer)  # asserts 200 and no schema issue


# -- secure scores --------------------------------------------------------------------------------------
def test_secure_scores_list_every_record_newest_first(graph: GraphCaller) -> None:
    tenant = SMALL.tenant_id
    for prefer in (False, True):
        body = graph.ok(tenant, SCORES, prefer=prefer)
        days = record_days(SMALL, NOW)
        assert "@odata.nextLink" not in body
        assert len(body["value"]) == len(days) <= 90
        created = [r["createdDateTime"] for r in body["value"]]
        assert created == sorted(created, reverse=True)
        assert {r["azureTenantId"] for r in body["value"]} == {tenant}
        assert body["@odata.context"].endswith("/v1.0/$metadata#security/secureScores")


def test_secure_scores_top_and_skip_limit_the_days_without_a_next_link(graph: GraphCaller) -> None:
    tenant = SMALL.tenant_id
    everything = graph.ok(tenant, SCORES)["value"]
    window = graph.ok(tenant, f"{SCORES}?$top=3&$skip=2")
    assert _ids(window["value"]) == _ids(everything[2:5])
    assert "@odata.nextLink" not in window  # $top is a limit here (the docs: "$top=n, n = days of data")
    assert graph.ok(tenant, f"{SCORES}?$top=1&$count=true")["@odata.count"] == len(everything)


def test_secure_scores_filter_on_created_date_time_and_tenant(graph: GraphCaller) -> None:
    tenant = SMALL.tenant_id
    everything = graph.ok(tenant, SCORES)["value"]
    pivot = everything[10]["createdDateTime"]
    newer = graph.ok(tenant, f"{SCORES}?$filter=createdDateTime ge {pivot}")["value"]
    assert _ids(newer) == _ids(everything[:11])
    older = graph.ok(tenant, f"{SCORES}?$filter=createdDateTime lt {pivot} and azureTenantId eq '{tenant}'")
    assert _ids(older["value"]) == _ids(everything[11:])
    other = graph.ok(tenant, f"{SCORES}?$filter=azureTenantId eq '{BUSY.tenant_id}'")
    assert other["value"] == []
    quoted = graph.get(tenant, f"{SCORES}?$filter=createdDateTime ge '{pivot}'")
    _security_400(
        quoted,
        "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' "
        "and 'Edm.String' for operator kind 'GreaterThanOrEqual'.",
    )


def test_control_profiles_come_in_one_response_and_cover_the_catalogue(graph: GraphCaller) -> None:
    # "By default, it returns all controls for a tenant" (FACTS.md §2): no page size is documented.
    tenant = SMALL.tenant_id
    pages = list(graph.pages(tenant, PROFILES))
    assert len(CONTROLS) > 100
    assert [len(p["value"]) for p in pages] == [len(CONTROLS)]
    ids = [item["id"] for page in pages for item in page["value"]]
    assert sorted(ids) == sorted(c.id for c in CONTROLS)
    assert len(set(ids)) == len(ids)
    assert {p["azureTenantId"] for page in pages for p in page["value"]} == {tenant}
    limited = graph.ok(tenant, f"{PROFILES}?$top=5&$count=true")
    assert (len(limited["value"]), limited["@odata.count"], "@odata.nextLink" in limited) == (
        5,
        len(CONTROLS),
        False,
    )


# -- alerts_v2 ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefer", [False, True])
def test_alerts_page_to_the_end_exactly_as_the_data_layer_lists_them(
    graph: GraphCaller, prefer: bool
) -> None:
    pages = list(graph.pages(SMALL.tenant_id, f"{ALERTS}?$top=40", prefer=prefer))
    expected = [s.skeleton.id for s in alerts_as_of(SMALL, NOW)]
    assert [a["id"] for p in pages for a in p["value"]] == expected
    assert [len(p["value"]) for p in pages] == [40, 40, len(expected) - 80]


@pytest.mark.parametrize("prefer", [False, True])
def test_evolvable_service_sources_need_the_prefer_header(graph: GraphCaller, prefer: bool) -> None:
    since = iso7(to_us(NOW - timedelta(days=7)))
    pages = list(
        graph.pages(BUSY.tenant_id, f"{ALERTS}?$top=100&$filter=createdDateTime ge {since}", prefer=prefer)
    )
    expected = [s for s in alerts_as_of(BUSY, NOW) if s.skeleton.created_us >= to_us(NOW - timedelta(days=7))]
    alerts = [a for p in pages for a in p["value"]]
    assert _ids(alerts) == [s.skeleton.id for s in expected]
    cloud = [
        a for a, s in zip(alerts, expected, strict=True) if s.skeleton.source == "microsoftDefenderForCloud"
    ]
    assert cloud
    # Defender for Cloud is an evolvable member: unknownFutureValue unless the caller opts in.
    wanted = "microsoftDefenderForCloud" if prefer else "unknownFutureValue"
    assert {a["serviceSource"] for a in cloud} == {wanted}


def test_next_links_keep_the_query_and_add_a_skiptoken(graph: GraphCaller) -> None:
    first = graph.ok(SMALL.tenant_id, f"{ALERTS}?$top=10&$filter=status ne 'new'&$count=true")
    link = urlsplit(first["@odata.nextLink"])
    params = dict(parse_qsl(link.query))
    assert link.path == ALERTS
    assert (params["$top"], params["$filter"], params["$count"]) == ("10", "status ne 'new'", "true")
    assert params["$skiptoken"]


def test_prefer_header_is_echoed_when_honoured(graph: GraphCaller) -> None:
    with_prefer = graph.get(MEDIUM.tenant_id, f"{ALERTS}?$top=1", prefer=True)
    assert with_prefer.headers["Preference-Applied"] == "include-unknown-enum-members"
    assert "Preference-Applied" not in graph.get(MEDIUM.tenant_id, f"{ALERTS}?$top=1").headers


def test_default_and_maximum_page_is_2000_alerts(graph: GraphCaller) -> None:
    tenant = BUSY.tenant_id
    default = graph.ok(tenant, ALERTS)
    assert len(default["value"]) == 2000
    assert "$skiptoken=" in default["@odata.nextLink"]
    assert len(graph.ok(tenant, f"{ALERTS}?$top=1000")["value"]) == 1000
    _security_400(
        graph.get(tenant, f"{ALERTS}?$top=2001"),
        "The limit of '2000' for Top query has been exceeded. The value from the incoming request is '2001'.",
    )


def test_skip_and_count(graph: GraphCaller) -> None:
    expected = [s.skeleton.id for s in alerts_as_of(SMALL, NOW)]
    body = graph.ok(SMALL.tenant_id, f"{ALERTS}?$top=5&$skip=7&$count=true")
    assert _ids(body["value"]) == expected[7:12]
    assert body["@odata.count"] == len(expected)
    second = graph.ok(SMALL.tenant_id, body["@odata.nextLink"][len(graph.handle.graph) :])
    assert _ids(second["value"]) == expected[12:17]
    assert second["@odata.count"] == len(expected)


def _expected_ids(customer, predicate) -> list[str]:
    return [s.skeleton.id for s in alerts_as_of(customer, NOW) if predicate(s)]


@pytest.mark.parametrize(
    ("expression", "predicate"),
    [
        ("severity eq 'high'", lambda s: s.skeleton.severity == 3),
        ("status eq 'inProgress'", lambda s: s.status == "inProgress"),
        ("classification eq 'truePositive'", lambda s: s.classification == "truePositive"),
        ("determination ne 'unknown'", lambda s: s.determination != "unknown"),
        (
            "serviceSource eq 'azureAdIdentityProtection'",
            lambda s: s.skeleton.source == "azureAdIdentityProtection",
        ),
        ("assignedTo eq null", lambda s: s.assigned_to is None),
        (
            "(severity eq 'medium' or severity eq 'informational') and not (status eq 'resolved')",
            lambda s: s.skeleton.severity in (0, 2) and s.status != "resolved",
        ),
        (
            "severity eq microsoft.graph.security.alertSeverity'low'",
            lambda s: s.skeleton.severity == 1,
        ),
    ],
)
def test_alert_filters_match_the_data_layer(graph: GraphCaller, expression: str, predicate) -> None:
    items = graph.items(SMALL.tenant_id, f"{ALERTS}?$top=500&$filter={expression}")
    expected = _expected_ids(SMALL, predicate)
    assert expected  # the case is meaningful for this tenant
    assert _ids(items) == expected


def test_alert_filters_on_dates_and_assignees(graph: GraphCaller) -> None:
    listed = list(alerts_as_of(MEDIUM, NOW))
    pivot = listed[len(listed) // 2]
    created = iso7(pivot.skeleton.created_us)
    assert _ids(graph.items(MEDIUM.tenant_id, f"{ALERTS}?$filter=createdDateTime le {created}")) == [
        s.skeleton.id for s in listed if s.skeleton.created_us <= pivot.skeleton.created_us
    ]
    updated = iso7(pivot.last_update_us)
    assert _ids(graph.items(MEDIUM.tenant_id, f"{ALERTS}?$filter=lastUpdateDateTime gt {updated}")) == [
        s.skeleton.id for s in listed if s.last_update_us > pivot.last_update_us
    ]
    person = next(s.assigned_to for s in listed if s.assigned_to and s.assigned_to != "Automation")
    assert _ids(graph.items(MEDIUM.tenant_id, f"{ALERTS}?$filter=assignedTo eq '{person}'")) == [
        s.skeleton.id for s in listed if s.assigned_to == person
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "$filter=investigationState eq 'queued'",
            "The property 'investigationState' cannot be used in the $filter query option.",
        ),
        (
            "$filter=colour eq 'red'",
            "Could not find a property named 'colour' on type 'microsoft.graph.security.alert'.",
        ),
        (
            "$filter=severity gt 'low'",
            "The operator 'gt' is not supported on property 'severity' of type "
            "'microsoft.graph.security.alertSeverity'.",
        ),
        ("$filter=severity eq 'severe'", "The string 'severe' is not a valid enumeration type constant."),
        (
            "$filter=createdDateTime gt 2026-10-01",
            "A binary operator with incompatible types was detected. Found operand types 'Edm.DateTimeOffset' "
            "and 'Edm.Date' for operator kind 'GreaterThan'.",
        ),
        ("$filter=status eq 'new' and", "Expression expected at position 19 in 'status eq 'new' and'."),
        (
            "$top=-1",
            "Invalid value '-1' for $top query option found. The $top query option requires a "
            "non-negative integer value.",
        ),
        (
            "$orderby=createdDateTime",
            "Query option '$orderby' is not allowed. To allow it, set the "
            "'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.",
        ),
        ("$skiptoken=not-a-cursor", "The $skiptoken value is not valid."),
    ],
)
def test_unsupported_queries_are_400_in_the_security_apis_shape(
    graph: GraphCaller, query: str, message: str
) -> None:
    _security_400(graph.get(SMALL.tenant_id, f"{ALERTS}?{query}"), message)


def test_one_alert_by_id(graph: GraphCaller) -> None:
    listed = graph.ok(MEDIUM.tenant_id, f"{ALERTS}?$top=3", prefer=True)["value"]
    for alert in listed:
        one = graph.ok(MEDIUM.tenant_id, f"{ALERTS}/{alert['id']}", prefer=True)
        assert one["@odata.context"].endswith("#security/alerts_v2/$entity")
        assert {k: v for k, v in one.items() if k != "@odata.context"} == alert
    missing = graph.get(MEDIUM.tenant_id, f"{ALERTS}/da000000000000000000_1")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "NotFound")


# -- incidents ------------------------------------------------------------------------------------------
def test_incidents_top_above_50_is_exactly_the_captured_400(graph: GraphCaller) -> None:
    response = graph.get(SMALL.tenant_id, f"{INCIDENTS}?$top=100")
    captured = CAPTURED_TOP_EXCEEDED
    body = response.json()
    assert response.status_code == 400
    assert list(body["error"]) == list(captured["error"])
    for key in ("code", "message", "details"):
        assert body["error"][key] == captured["error"][key]
    assert list(body["error"]["innerError"]) == list(captured["error"]["innerError"])


@pytest.mark.parametrize("prefer", [False, True])
def test_incidents_page_with_expanded_alerts(graph: GraphCaller, prefer: bool) -> None:
    pages = list(
        graph.pages(
            BUSY.tenant_id, f"{INCIDENTS}?$top=50&$expand=alerts&$filter=status ne 'resolved'", prefer=prefer
        )
    )
    expected = [s for s in incidents_as_of(BUSY, NOW) if s.status != "resolved"]
    incidents = [i for p in pages for i in p["value"]]
    assert _ids(incidents) == [s.skeleton.id for s in expected]
    assert all(len(p["value"]) <= 50 for p in pages)
    for incident, state in zip(incidents, expected, strict=True):
        assert [a["id"] for a in incident["alerts"]] == [a.skeleton.id for a in state.alerts]
        assert {a["incidentId"] for a in incident["alerts"]} <= {incident["id"]}
    statuses = {i["status"] for i in incidents}
    assert ("awaitingAction" in statuses) is prefer  # an evolvable incidentStatus member


def test_incidents_skip_counts_matching_items_beside_filter_top_and_count(graph: GraphCaller) -> None:
    # What a client reading ahead asks: the same query with $skip, $top apart, after a first page with the count.
    listed = list(incidents_as_of(BUSY, NOW))
    pivot = listed[len(listed) // 2]
    expected = [s.skeleton.id for s in listed if s.last_update_us > pivot.last_update_us]
    assert len(expected) > 200
    query = f"{INCIDENTS}?$filter=lastUpdateDateTime gt {iso7(pivot.last_update_us)}&$top=50&$count=true"
    first = graph.ok(BUSY.tenant_id, query)
    skipped = graph.ok(BUSY.tenant_id, f"{query}&$skip=100")
    assert (_ids(first["value"]), _ids(skipped["value"])) == (expected[:50], expected[100:150])
    assert first["@odata.count"] == skipped["@odata.count"] == len(expected)
    # A skipped page's nextLink goes on after it.
    following = graph.ok(BUSY.tenant_id, skipped["@odata.nextLink"][len(graph.handle.graph) :])
    assert _ids(following["value"]) == expected[150:200]
    last = graph.ok(BUSY.tenant_id, f"{query}&$skip={len(expected) - 10}")
    assert (_ids(last["value"]), "@odata.nextLink" in last) == (expected[-10:], False)
    beyond = graph.ok(BUSY.tenant_id, f"{query}&$skip={len(expected) + 50}")
    assert (beyond["value"], "@odata.nextLink" in beyond, beyond["@odata.count"]) == (
        [],
        False,
        len(expected),
    )


def test_incident_by_id_and_its_expand(graph: GraphCaller) -> None:
    first = graph.ok(SMALL.tenant_id, f"{INCIDENTS}?$top=1")["value"][0]
    one = graph.ok(SMALL.tenant_id, f"{INCIDENTS}/{first['id']}")
    assert {k: v for k, v in one.items() if k != "@odata.context"} == first
    expanded = graph.ok(SMALL.tenant_id, f"{INCIDENTS}/{first['id']}?$expand=alerts")
    assert expanded["alerts"]
    assert all(a["incidentId"] == first["id"] for a in expanded["alerts"])
    bad = graph.get(SMALL.tenant_id, f"{INCIDENTS}?$expand=comments")
    _security_400(
        bad, "Could not find a property named 'comments' on type 'microsoft.graph.security.incident'."
    )


# -- who may read ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [SCORES, PROFILES, ALERTS, INCIDENTS])
def test_a_partner_user_without_a_security_role_is_denied(graph: GraphCaller, path: str) -> None:
    response = graph.get(NO_SECURITY_ROLE.tenant_id, path)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "Authorization_RequestDenied"


def test_a_token_without_the_endpoints_permission_is_denied(graph: GraphCaller) -> None:
    scores_only = ["https://graph.microsoft.com/SecurityEvents.Read.All"]
    assert graph.get(SMALL.tenant_id, SCORES, scopes=scores_only).status_code == 200
    denied = graph.get(SMALL.tenant_id, ALERTS, scopes=scores_only)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "Authorization_RequestDenied")


def test_security_collections_are_read_only(graph: GraphCaller) -> None:
    graph.token(SMALL.tenant_id)
    for path in (ALERTS, INCIDENTS, SCORES):
        response = graph.session.post(
            graph.url(path), json={}, headers={"Authorization": f"Bearer {graph.token(SMALL.tenant_id)}"}
        )
        assert response.status_code == 405
        assert response.json()["error"]["code"] == "Request_BadRequest"


def test_the_partner_tenant_has_no_customer_security_data(graph: GraphCaller, emulator) -> None:
    for path in (SCORES, ALERTS, INCIDENTS):
        assert graph.ok(emulator.partner_tenant_id, path)["value"] == []


def test_a_tenant_without_defender_gets_403_on_alerts_and_incidents_only(private) -> None:
    caller = private(seed=13, tenants=40)  # has a tenant without a Defender licence (index 26)
    portfolio, _ = portfolio_of(seed=13, tenants=40, now=DEFAULT_NOW)
    tenant = portfolio.customer(26)
    assert tenant.baked_fault == "no_security_license"
    for path in (ALERTS, INCIDENTS, f"{INCIDENTS}/1"):
        response = caller.get(tenant.tenant_id, path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "Forbidden"
    assert caller.ok(tenant.tenant_id, SCORES)["value"]


# -- faults ---------------------------------------------------------------------------------------------
def test_empty_page_fault_loses_nothing(graph: GraphCaller, emulator) -> None:
    tenant = SMALL.tenant_id
    expected = [s.skeleton.id for s in alerts_as_of(SMALL, NOW)]
    graph.token(tenant)
    emulator.add_fault(kind="empty_page", service="graph", endpoint="alerts_v2", tenant=tenant, count=2)
    pages = list(graph.pages(tenant, f"{ALERTS}?$top=30"))
    assert [len(p["value"]) for p in pages[:2]] == [0, 0]
    assert all("@odata.nextLink" in p for p in pages[:2])
    assert [a["id"] for p in pages for a in p["value"]] == expected


def test_empty_page_fault_on_an_offset_paged_collection(graph: GraphCaller, emulator) -> None:
    tenant = SMALL.tenant_id
    graph.token(tenant)
    emulator.add_fault(kind="empty_page", service="graph", endpoint="secureScoreControlProfiles", count=1)
    pages = list(graph.pages(tenant, PROFILES))
    assert [len(p["value"]) for p in pages] == [0, len(CONTROLS)]


def test_nextlink_loop_fault_points_back_to_the_first_page(graph: GraphCaller, emulator) -> None:
    tenant = SMALL.tenant_id
    first = graph.ok(tenant, f"{ALERTS}?$top=25")
    emulator.add_fault(kind="nextlink_loop", service="graph", endpoint="alerts_v2", tenant=tenant, count=1)
    second = graph.ok(tenant, first["@odata.nextLink"][len(graph.handle.graph) :])
    assert second["@odata.nextLink"] == f"{graph.handle.graph}{ALERTS}?$top=25"
    assert graph.ok(tenant, second["@odata.nextLink"][len(graph.handle.graph) :]) == first


def test_nul_strings_fault_puts_u0000_into_alert_strings(graph: GraphCaller, emulator) -> None:
    tenant = SMALL.tenant_id
    graph.token(tenant)
    emulator.add_fault(
        kind="nul_strings", service="graph", endpoint="alerts_v2", tenant=tenant, count=1, alerts=3
    )
    response = graph.get(tenant, f"{ALERTS}?$top=10")
    assert response.status_code == 200
    assert response.content.count(b"\\u0000") >= 3
    alerts = response.json()["value"]
    poisoned = [a for a in alerts if "\x00" in a["title"] or "\x00" in a["description"]]
    assert [a["id"] for a in poisoned] == [a["id"] for a in alerts[:3]]
    assert "\x00" not in graph.get(tenant, f"{ALERTS}?$top=10").text


@pytest.mark.parametrize("path", [SCORES, PROFILES, ALERTS, INCIDENTS])
def test_transport_faults_fire_on_security_endpoints(graph: GraphCaller, emulator, path: str) -> None:
    tenant = SMALL.tenant_id
    graph.token(tenant)
    endpoint = path.rsplit("/", 1)[1]
    emulator.add_fault(kind="http_error", service="graph", endpoint=endpoint, status=503, count=1)
    assert graph.get(tenant, path).status_code == 503
    emulator.add_fault(kind="truncate", service="graph", endpoint=endpoint, count=1)
    truncated = graph.get(tenant, f"{path}?$top=5")
    with pytest.raises(json.JSONDecodeError):
        json.loads(truncated.content)
    assert graph.get(tenant, f"{path}?$top=5").status_code == 200


# -- throttling (lowered limits in a private emulator) --------------------------------------------------
def test_security_api_allows_n_requests_per_window_per_app_and_tenant(private) -> None:
    caller = private(graph_security_requests=3, graph_security_window_seconds=1.5)
    tenant, other = PORTFOLIO.customer(7).tenant_id, PORTFOLIO.customer(9).tenant_id
    caller.token(tenant), caller.token(other)
    statuses = [caller.get(tenant, f"{ALERTS}?$top=1").status_code for _ in range(3)]
    throttled = caller.get(tenant, f"{INCIDENTS}?$top=1")
    assert statuses == [200, 200, 200]
    assert throttled.status_code == 429
    wait = float(throttled.headers["Retry-After"])
    assert 0 < wait <= 1.5
    error = throttled.json()["error"]
    assert (error["code"], error["message"], error["innerError"]["code"]) == (
        "TooManyRequests",
        "Please retry again later.",
        "429",
    )
    assert caller.get(other, f"{ALERTS}?$top=1").status_code == 200  # per tenant
    time.sleep(wait)
    assert caller.get(tenant, f"{ALERTS}?$top=1").status_code == 200


def test_secure_score_volume_limit(private) -> None:
    caller = private(graph_secure_score_requests=4)
    tenant = PORTFOLIO.customer(3).tenant_id
    statuses = [caller.get(tenant, f"{PROFILES}?$top=1").status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]


def test_secure_score_concurrency_limit(private) -> None:
    caller = private(graph_secure_score_concurrency=1, graph_secure_score_latency_seconds=2.0)
    tenant = SMALL.tenant_id
    caller.token(tenant)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(caller.get, tenant, SCORES)  # holds the only slot for two seconds
        time.sleep(0.5)
        refused = caller.get(tenant, f"{PROFILES}?$top=1")
        assert slow.result().status_code == 200
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert caller.get(tenant, f"{PROFILES}?$top=1").status_code == 200  # the slot is free again


# -- incremental reads across a clock advance -----------------------------------------------------------
def test_last_update_filter_returns_exactly_the_alerts_that_changed(private) -> None:
    caller = private()
    handle = caller.handle
    tenant = PORTFOLIO.customer(15).tenant_id
    before = {a["id"]: a for a in caller.items(tenant, f"{ALERTS}?$top=500")}
    watermark = max(a["lastUpdateDateTime"] for a in before.values())
    handle.admin_post("/clock/advance", {"days": 2})
    caller.forget_tokens()  # tokens are checked against the emulator clock
    after = {a["id"]: a for a in caller.items(tenant, f"{ALERTS}?$top=500")}
    changed = {i for i, a in after.items() if before.get(i) != a}
    assert changed  # two days bring new alerts and updates
    since = caller.items(tenant, f"{ALERTS}?$top=500&$filter=lastUpdateDateTime gt {watermark}")
    assert {a["id"] for a in since} == changed
