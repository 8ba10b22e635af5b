"""alerts_v2: realistic mixes, lifecycle over time, incremental extraction, filters, paging, enum rendering."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from emulator.data import clear_caches
from emulator.data.alert_catalogue import SEVERITIES, TEMPLATES
from emulator.data.alerts import (
    RETENTION_DAYS,
    AlertFilter,
    alert_dict,
    alert_json,
    alert_page,
    alerts_as_of,
    alerts_json,
    decode_cursor,
    encode_cursor,
    find_alert,
)
from emulator.data.portfolio import Portfolio
from emulator.data.timestamps import from_us, to_us

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
STATUS_ORDER = {"new": 0, "inProgress": 1, "resolved": 2}
DETERMINATIONS = {
    "truePositive": {
        "apt",
        "malware",
        "phishing",
        "compromisedAccount",
        "maliciousUserActivity",
        "multiStagedAttack",
        "unwantedSoftware",
        "other",
    },
    "falsePositive": {"notMalicious", "notEnoughDataToValidate", "other"},
    "informationalExpectedActivity": {
        "securityTesting",
        "lineOfBusinessApplication",
        "confirmedActivity",
        "securityPersonnel",
        "other",
    },
}
ID_STYLES = {
    "microsoftDefenderForEndpoint": r"^da\d{18}_-?\d+$",
    "microsoft365Defender": r"^ra\d{18}_-?\d+$",
    "microsoftDefenderForOffice365": r"^fa[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
    "azureAdIdentityProtection": r"^ad[0-9a-f-]{36}$",
    "microsoftDefenderForCloudApps": r"^ca[0-9a-f-]{36}$",
    "microsoftDefenderForIdentity": r"^aa[0-9a-f-]{36}$",
    "dataLossPrevention": r"^dl[0-9a-f-]{36}$",
    "microsoftAppGovernance": r"^ma[0-9a-f-]{36}$",
    "microsoftDefenderForCloud": r"^dc[0-9a-f-]{36}$",
}


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return Portfolio(seed=23, tenants=40, anchor=NOW)


@pytest.fixture(scope="module")
def listed(portfolio):
    return [(c, s) for c in portfolio for s in alerts_as_of(c, NOW)]


def test_alerts_are_newest_first_within_retention_and_unique(portfolio):
    floor = NOW - timedelta(days=RETENTION_DAYS)
    for customer in portfolio:
        states = list(alerts_as_of(customer, NOW))
        keys = [(s.skeleton.created_us, s.skeleton.id) for s in states]
        assert keys == sorted(keys, reverse=True)
        assert len({s.skeleton.id for s in states}) == len(states)
        assert all(floor <= from_us(s.skeleton.created_us) <= NOW for s in states)


def test_the_mix_of_severity_and_source_is_realistic(listed):
    assert len(listed) > 2000
    severities = Counter(SEVERITIES[s.skeleton.severity] for _, s in listed)
    shares = {k: v / len(listed) for k, v in severities.items()}
    assert set(shares) == set(SEVERITIES)
    assert 0.03 < shares["high"] < 0.25
    assert shares["medium"] > 0.15
    sources = Counter(s.skeleton.source for _, s in listed)
    assert sources.most_common(1)[0][0] == "microsoftDefenderForOffice365"
    assert len(sources) >= 6


def test_alerts_only_come_from_sources_the_tenant_is_licensed_for(listed):
    for customer, state in listed:
        created = from_us(state.skeleton.created_us)
        assert state.skeleton.source in customer.alert_sources_at(created)


def test_alert_json_carries_the_documented_fields(listed):
    customer, state = listed[0]
    alert = alert_dict(customer, state)
    assert alert["@odata.type"] == "#microsoft.graph.security.alert"
    assert alert["tenantId"] == customer.tenant_id
    assert (
        alert["alertWebUrl"]
        == f"https://security.microsoft.com/alerts/{alert['id']}?tid={customer.tenant_id}"
    )
    assert alert["incidentWebUrl"].endswith(f"/incidents/{alert['incidentId']}?tid={customer.tenant_id}")
    assert isinstance(alert["recommendedActions"], str)  # a single string in v1.0, not a collection
    for key in (
        "title",
        "description",
        "category",
        "productName",
        "detectorId",
        "createdDateTime",
        "evidence",
    ):
        assert alert[key]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z", alert["createdDateTime"])


def test_ids_follow_each_products_style(listed):
    seen = set()
    for _, state in listed:
        skeleton = state.skeleton
        assert re.match(ID_STYLES[skeleton.source], skeleton.id), skeleton.id
        seen.add(skeleton.source)
        if skeleton.source == "microsoftDefenderForEndpoint":
            assert skeleton.provider_id == skeleton.id
    assert len(seen) >= 6


def test_detection_source_product_and_category_match_the_template(listed):
    for _, state in listed[:3000]:
        template = TEMPLATES[state.skeleton.template]
        assert template.source == state.skeleton.source
        assert state.skeleton.detection_source in {d for d, _ in template.detection_sources}


def test_evidence_has_several_subtypes_and_realistic_size(listed):
    sample = listed[:1500]
    types: Counter[str] = Counter()
    sizes, counts = [], []
    for customer, state in sample:
        body = alert_json(customer, state)
        alert = orjson.loads(body)
        sizes.append(len(body))
        counts.append(len(alert["evidence"]))
        for evidence in alert["evidence"]:
            types[evidence["@odata.type"]] += 1
            assert evidence["createdDateTime"] == alert["createdDateTime"]
            assert {"verdict", "remediationStatus", "roles", "detailedRoles", "tags"} <= set(evidence)
    assert len(types) >= 10
    assert 3.0 <= statistics.mean(sizes) / 1000 <= 5.0
    assert statistics.mean(counts) >= 3


@pytest.mark.parametrize("hours", [0, 6, 30, 24 * 5, 24 * 40, 24 * 200])
def test_resolved_alerts_have_resolution_fields(portfolio, hours):
    now = NOW + timedelta(hours=hours)
    for customer in list(portfolio)[:10]:
        for state in alerts_as_of(customer, now):
            alert = alert_dict(customer, state)
            assert alert["status"] == state.status
            if state.status == "resolved":
                assert alert["resolvedDateTime"] is not None
                assert alert["classification"] in DETERMINATIONS
                assert alert["determination"] in DETERMINATIONS[alert["classification"]]
                assert alert["resolvedDateTime"] <= alert["lastUpdateDateTime"]
                assert alert["assignedTo"]
            else:
                assert alert["resolvedDateTime"] is None
                assert alert["classification"] == alert["determination"] == "unknown"
            assert alert["createdDateTime"] <= alert["lastUpdateDateTime"] <= _iso(now)


def test_lifecycle_only_moves_forward_as_the_clock_advances(portfolio):
    customer = portfolio.customer(0)
    start = NOW - timedelta(days=20)
    tracked = {s.skeleton.id: s for s in alerts_as_of(customer, start)}
    assert tracked
    last_seen = {i: (0, 0) for i in tracked}
    for step in range(0, 24 * 40, 7):
        now = start + timedelta(hours=step)
        for state in alerts_as_of(customer, now):
            if state.skeleton.id in last_seen:
                rank, update = STATUS_ORDER[state.status], state.last_update_us
                assert rank >= last_seen[state.skeleton.id][0]
                assert update >= last_seen[state.skeleton.id][1]
                assert update <= to_us(now)
                last_seen[state.skeleton.id] = (rank, update)
    statuses = Counter(rank for rank, _ in last_seen.values())
    assert statuses[2] > 0.6 * len(last_seen)  # most get resolved within weeks


def test_some_alerts_stay_open_for_a_long_time(portfolio):
    old = [
        s for c in portfolio for s in alerts_as_of(c, NOW, AlertFilter(created_lt=NOW - timedelta(days=45)))
    ]
    open_share = sum(s.status != "resolved" for s in old) / len(old)
    assert 0.05 <= open_share <= 0.25


def test_high_severity_is_resolved_faster(portfolio):
    delays: dict[int, list[float]] = {0: [], 3: []}
    for customer in portfolio:
        for state in alerts_as_of(customer, NOW):
            skeleton = state.skeleton
            if (
                state.status == "resolved"
                and skeleton.severity in delays
                and skeleton.assignee != "Automation"
            ):
                delays[skeleton.severity].append((skeleton.events[3] - skeleton.created_us) / 3.6e9)
    assert statistics.median(delays[3]) < statistics.median(delays[0])


def test_json_depends_on_now_only_through_lifecycle_events(portfolio):
    customer = portfolio.customer(1)
    early, late = NOW - timedelta(days=3), NOW
    before = {s.skeleton.id: s for s in alerts_as_of(customer, early)}
    for state in alerts_as_of(customer, late):
        previous = before.get(state.skeleton.id)
        if previous is None:
            continue
        same = alert_json(customer, previous) == alert_json(customer, state)
        assert same == (previous.state == state.state)
        assert same == (previous.last_update_us == state.last_update_us)


def test_incremental_filter_on_last_update_sees_every_new_and_changed_alert(portfolio):
    now1 = NOW - timedelta(days=2)
    now2 = NOW
    for customer in list(portfolio)[:15]:
        at1 = {s.skeleton.id: alert_json(customer, s) for s in alerts_as_of(customer, now1)}
        at2 = {s.skeleton.id: (s, alert_json(customer, s)) for s in alerts_as_of(customer, now2)}
        changed = {i for i, (_, body) in at2.items() if at1.get(i) != body}
        window = {s.skeleton.id for s in alerts_as_of(customer, now2, AlertFilter(updated_gt=now1))}
        assert window == changed
        for alert_id in window:
            assert orjson.loads(at2[alert_id][1])["lastUpdateDateTime"] > _iso(now1)


def test_filters_match_a_brute_force_evaluation(portfolio):
    customer = max(portfolio, key=lambda c: c.alert_rate)
    everything = list(alerts_as_of(customer, NOW))
    cases = [
        (AlertFilter(severity=frozenset({"high"})), lambda s: SEVERITIES[s.skeleton.severity] == "high"),
        (AlertFilter(status=frozenset({"new", "inProgress"})), lambda s: s.status != "resolved"),
        (
            AlertFilter(service_source=frozenset({"microsoftDefenderForOffice365"})),
            lambda s: s.skeleton.source == "microsoftDefenderForOffice365",
        ),
        (
            AlertFilter(classification=frozenset({"truePositive"})),
            lambda s: s.classification == "truePositive",
        ),
        (AlertFilter(determination=frozenset({"phishing"})), lambda s: s.determination == "phishing"),
        (AlertFilter(assigned_to=frozenset({None})), lambda s: s.assigned_to is None),
        (
            AlertFilter(created_ge=NOW - timedelta(days=10), created_lt=NOW - timedelta(days=3)),
            lambda s: (
                to_us(NOW - timedelta(days=10)) <= s.skeleton.created_us < to_us(NOW - timedelta(days=3))
            ),
        ),
        (
            AlertFilter(updated_gt=NOW - timedelta(days=1)),
            lambda s: s.last_update_us > to_us(NOW - timedelta(days=1)),
        ),
        (AlertFilter(predicate=lambda s: s.skeleton.severity == 0), lambda s: s.skeleton.severity == 0),
    ]
    for flt, expected in cases:
        got = [s.skeleton.id for s in alerts_as_of(customer, NOW, flt)]
        want = [s.skeleton.id for s in everything if expected(s)]
        assert got == want
        assert want, flt


def test_cursor_pages_cover_the_list_exactly_once(portfolio):
    customer = max(portfolio, key=lambda c: c.alert_rate)
    everything = [s.skeleton.id for s in alerts_as_of(customer, NOW)]
    collected, after = [], None
    while True:
        page = alert_page(customer, NOW, top=97, after=after)
        body = orjson.loads(page.body)
        assert [a["id"] for a in body] == [s.skeleton.id for s in page.items]
        collected += [a["id"] for a in body]
        if page.next_after is None:
            break
        token = encode_cursor(page.next_after)
        assert decode_cursor(token) == page.next_after
        after = decode_cursor(token)
    assert collected == everything


def test_decode_cursor_rejects_foreign_tokens():
    assert decode_cursor("not a cursor!") is None
    assert decode_cursor("") is None


def test_find_alert_returns_the_listed_alert_or_none(listed):
    customer, state = listed[5]
    found = find_alert(customer, state.skeleton.id, NOW)
    assert found == state
    before_creation = from_us(state.skeleton.created_us - 1)
    assert find_alert(customer, state.skeleton.id, before_creation) is None
    assert find_alert(customer, "da123_456", NOW) is None
    assert find_alert(customer, "not-an-id", NOW) is None


def _defender_for_cloud_alert():
    for seed in range(100, 120):
        portfolio = Portfolio(seed=seed, tenants=60, anchor=NOW)
        for customer in portfolio:
            if "microsoftDefenderForCloud" not in customer.alert_sources:
                continue
            for state in alerts_as_of(customer, NOW):
                if state.skeleton.source == "microsoftDefenderForCloud":
                    return customer, state
    raise AssertionError("no Defender for Cloud alert generated")


def test_evolvable_enum_members_need_the_prefer_header():
    customer, state = _defender_for_cloud_alert()
    plain = alert_dict(customer, state)
    opted_in = alert_dict(customer, state, include_unknown=True)
    assert plain["serviceSource"] == "unknownFutureValue"
    assert plain["detectionSource"] == "unknownFutureValue"
    assert opted_in["serviceSource"] == "microsoftDefenderForCloud"
    assert opted_in["detectionSource"].startswith("microsoftDefenderFor")
    # Filters compare true values, whatever the rendering.
    flt = AlertFilter(service_source=frozenset({"microsoftDefenderForCloud"}))
    assert state.skeleton.id in {s.skeleton.id for s in alerts_as_of(customer, NOW, flt)}


def test_evolvable_evidence_remediation_states_render_as_unknown_future_value(listed):
    evolvable = {"active", "pendingApproval", "declined", "unremediated", "running", "partiallyRemediated"}
    endpoint = [(c, s) for c, s in listed if s.skeleton.source == "microsoftDefenderForEndpoint"][:300]
    opted = [
        e["remediationStatus"]
        for c, s in endpoint
        for e in alert_dict(c, s, include_unknown=True)["evidence"]
    ]
    plain = [e["remediationStatus"] for c, s in endpoint for e in alert_dict(c, s)["evidence"]]
    assert evolvable & set(opted)
    assert not evolvable & set(plain)
    assert "unknownFutureValue" in plain
    assert len(opted) == len(plain)


def test_nul_characters_are_injected_only_into_requested_alerts(listed):
    customer = listed[0][0]
    states = [s for c, s in listed if c is customer][:5]
    target = states[2].skeleton.id
    body = alerts_json(customer, states, nul_ids=frozenset({target}))
    alerts = orjson.loads(body)
    assert b"\\u0000" in body
    assert ["\x00" in a["title"] for a in alerts] == [a["id"] == target for a in alerts]
    clean = orjson.loads(alerts_json(customer, states))
    assert not any("\x00" in a["title"] + a["description"] for a in clean)


def test_same_seed_gives_identical_bytes_and_another_seed_differs():
    def page(seed: int) -> bytes:
        portfolio = Portfolio(seed=seed, tenants=8, anchor=NOW)
        return b"".join(alert_page(c, NOW, top=50).body for c in portfolio)

    first = page(3)
    clear_caches()
    assert page(3) == first
    assert page(4) != first


def test_alert_rate_drives_volume(portfolio):
    by_rate = sorted(portfolio, key=lambda c: c.alert_rate)
    quiet, busy = by_rate[:10], by_rate[-10:]

    def per_day(customers):
        return sum(len(list(alerts_as_of(c, NOW))) for c in customers) / (len(customers) * RETENTION_DAYS)

    expected = statistics.mean(c.alert_rate for c in busy)
    assert per_day(busy) > 3 * per_day(quiet)
    assert 0.5 * expected < per_day(busy) < 2.0 * expected


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "9Z"
