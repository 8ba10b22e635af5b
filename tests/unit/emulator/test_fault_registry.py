from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emulator.faults import FaultRegistry, FaultSpecError, parse_fault, retry_after_text
from emulator.state import EmulatorState

NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
def registry(tmp_path) -> FaultRegistry:
    return FaultRegistry(EmulatorState(tmp_path / "state.sqlite3"), seed=7)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"kind": "nope"}, "kind must be one of"),
        ({"kind": "throttle", "service": "admin"}, "never faulted"),
        ({"kind": "mfa_required", "service": "graph"}, "identity fault"),
        ({"kind": "token_lifetime", "service": "key_vault"}, "identity fault"),
        ({"kind": "token_lifetime", "seconds": 86401}, "seconds"),
        ({"kind": "throttle", "count": 0}, "count"),
        ({"kind": "throttle", "count": True}, "count"),
        ({"kind": "throttle", "probability": 0}, "probability"),
        ({"kind": "throttle", "retry_after": -1}, "retry_after"),
        ({"kind": "http_error", "status": 404}, "status"),
        ({"kind": "slow", "delay": "soon"}, "delay"),
        ({"kind": "truncate", "fraction": 1.0}, "fraction"),
        ({"kind": "throttle", "tenant": ""}, "tenant"),
        ({"kind": "throttle", "params": []}, "params"),
    ],
)
def test_invalid_fault_specs_are_rejected(spec, message) -> None:
    with pytest.raises(FaultSpecError, match=message):
        parse_fault(spec, now=NOW)


def test_extra_top_level_keys_become_params_over_defaults() -> None:
    fault = parse_fault({"kind": "throttle", "retry_after": 2.5, "params": {"status": 503}}, now=NOW)
    assert fault.params == {"retry_after": 2.5, "status": 503}
    assert parse_fault({"kind": "consent_revoked"}, now=NOW).service == "identity"


def test_take_matches_service_endpoint_and_tenant(registry) -> None:
    registry.add({"kind": "empty_page", "service": "graph", "endpoint": "alerts_v2", "tenant": "T1"}, now=NOW)
    assert registry.take("graph", "/v1.0/security/incidents", "t1", {"empty_page"}) is None
    assert registry.take("partner_center", "/v1.0/security/alerts_v2", "t1", {"empty_page"}) is None
    assert registry.take("graph", "/v1.0/security/alerts_v2", "t2", {"empty_page"}) is None
    assert registry.take("graph", "/v1.0/security/alerts_v2", None, {"empty_page"}) is None
    assert registry.take("graph", "/v1.0/security/alerts_v2", "t1", {"nul_strings"}) is None
    fault = registry.take("graph", "/v1.0/security/alerts_v2", "t1", {"empty_page"})
    assert fault is not None
    assert fault.fired == 1


@pytest.mark.parametrize(
    ("pattern", "names", "path", "hit"),
    [
        ("security.alerts", ("security.alerts", "/v1.0/security/alerts_v2"), None, True),
        ("/v1.0/security/*", ("x", "/v1.0/security/alerts_v2"), None, True),
        ("*/incidents", ("x", "/v1.0/security/incidents"), None, True),
        ("SECURITY/ALERTS_V2", ("x", "/v1.0/security/alerts_v2"), None, True),
        ("alerts", ("x", "/v1.0/security/alerts_v2"), None, False),
        ("/v1.0/applications/abc*", ("x", "/v1.0/applications/{id}"), "/v1.0/applications/abc1", True),
    ],
)
def test_endpoint_patterns(registry, pattern, names, path, hit) -> None:
    registry.add({"kind": "nextlink_loop", "endpoint": pattern}, now=NOW)
    assert (registry.take("graph", names, None, {"nextlink_loop"}, path=path) is not None) is hit


def test_count_consumes_and_removes_the_fault(registry, tmp_path) -> None:
    fault = registry.add({"kind": "nul_strings", "count": 2}, now=NOW)
    assert registry.take("graph", "e", None, {"nul_strings"}) is not None
    assert [f.remaining for f in registry.list()] == [1]
    reopened = FaultRegistry(EmulatorState(tmp_path / "state.sqlite3"), seed=7)
    assert [(f.id, f.remaining, f.fired) for f in reopened.list()] == [(fault.id, 1, 1)]
    assert registry.take("graph", "e", None, {"nul_strings"}) is not None
    assert registry.take("graph", "e", None, {"nul_strings"}) is None
    assert not registry.active


def test_probability_is_deterministic_for_the_same_spec(tmp_path) -> None:
    def draws(folder) -> list[bool]:
        registry = FaultRegistry(EmulatorState(folder / "s.sqlite3"), seed=7)
        registry.add({"kind": "empty_page", "probability": 0.3}, now=NOW)
        return [registry.take("graph", "e", None, {"empty_page"}) is not None for _ in range(200)]

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = draws(tmp_path / "a"), draws(tmp_path / "b")
    assert first == second
    assert 30 < sum(first) < 90


def test_delete_and_clear(registry) -> None:
    a = registry.add({"kind": "empty_page"}, now=NOW)
    registry.add({"kind": "nul_strings"}, now=NOW)
    assert registry.delete(a.id)
    assert not registry.delete(a.id)
    assert registry.clear() == 1
    assert registry.list() == []


@pytest.mark.parametrize(
    ("value", "text"), [(2, "2"), (2.0, "2"), (2.128, "2.128"), (0.5, "0.5"), ("7", "7")]
)
def test_retry_after_is_written_as_microsoft_writes_it(value, text) -> None:
    assert retry_after_text(value) == text


def _mutation(**params: object):  # type: ignore[no-untyped-def]
    return parse_fault({"kind": "mutate", "service": "graph", "params": params}, now=NOW)


def test_mutate_changes_the_first_items_of_a_collection() -> None:
    import orjson

    from emulator.faults import mutate_body

    body = orjson.dumps(
        {
            "@odata.context": "x",
            "value": [
                {"id": "a", "evidence": [{"x": 1}], "scores": [{"averageScore": 5}]},
                {"id": "b", "evidence": [], "scores": [{"averageScore": 6}]},
                {"id": "c", "evidence": []},
            ],
        }
    )
    changed = orjson.loads(
        mutate_body(
            _mutation(set={"evidence": None, "scores.0.averageScore": "NaN"}, remove=["id"], items=2), body
        )
    )
    assert changed["value"][0] == {"evidence": None, "scores": [{"averageScore": "NaN"}]}
    assert changed["value"][1] == {"evidence": None, "scores": [{"averageScore": "NaN"}]}
    assert changed["value"][2] == {"id": "c", "evidence": []}
    assert changed["@odata.context"] == "x"
    # Raw JSON text that is not a JSON value, as some services send it.
    raw = mutate_body(_mutation(raw={"scores.0.averageScore": "NaN"}), body)
    assert b'"averageScore":NaN' in raw
    # A body that is not JSON is left as it is; a single entity is one item.
    assert mutate_body(_mutation(set={"x": 1}), b"not json") == b"not json"
    assert orjson.loads(mutate_body(_mutation(set={"x": 1}), b'{"id": "e"}')) == {"id": "e", "x": 1}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "give set, remove or raw"),
        ({"set": [1]}, "set must be"),
        ({"set": {"a": 1}, "items": 0}, "items"),
    ],
)
def test_invalid_mutations_are_rejected(params: dict[str, object], message: str) -> None:
    with pytest.raises(FaultSpecError, match=message):
        _mutation(**params)
