from __future__ import annotations

from datetime import UTC, datetime

from emulator.stats import RequestStats

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_counts_roll_up_by_service_endpoint_and_tenant() -> None:
    stats = RequestStats(NOW)
    for status in (200, 200, 429):
        stats.record("graph", "/v1.0/security/alerts_v2", "t1", status)
    stats.record("graph", "/v1.0/security/alerts_v2", None, 401)
    stats.record("graph", "/v1.0/security/alerts_v2", "t1", 200, batched=True)  # an item of a $batch
    stats.record("graph", "/v1.0/$batch", "t1", 200)
    stats.record("identity", "/{tenant}/oauth2/v2.0/token", "t1", 200)
    stats.record_fault("graph", "throttle")
    snap = stats.snapshot()
    assert snap["total"] == 7
    assert snap["batched"] == 1
    assert snap["throttled"] == 1
    assert snap["since"] == "2026-11-02T09:00:00Z"
    assert snap["services"]["graph"] == {
        "requests": 6,
        "batched": 1,
        "throttled": 1,
        "statuses": {"200": 4, "401": 1, "429": 1},
    }
    assert {
        "service": "graph",
        "endpoint": "/v1.0/security/alerts_v2",
        "tenant": "t1",
        "requests": 4,
        "batched": 1,
        "throttled": 1,
        "statuses": {"200": 3, "429": 1},
    } in snap["endpoints"]
    assert snap["faults_fired"] == {"graph": {"throttle": 1}}
    assert stats.count("graph") == 6
    assert stats.count(tenant="t1") == 6
    assert stats.count("graph", "/v1.0/security/alerts_v2", "t1") == 4
    stats.reset(NOW)
    assert stats.snapshot()["total"] == 0
