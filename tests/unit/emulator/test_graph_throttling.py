"""The emulator's throttling primitives: sliding windows, concurrency gates, configurable limits."""

from __future__ import annotations

import json

import pytest

from emulator.graph.throttling import ENVIRONMENT_VARIABLE, ConcurrencyGate, LimitSettings, SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_sliding_window_admits_limit_requests_then_says_how_long_to_wait() -> None:
    clock = FakeClock()
    window = SlidingWindow(lambda: 3, lambda: 60.0, clock)
    assert [window.admit("k") for _ in range(3)] == [None, None, None]
    clock.now += 20.5
    assert window.admit("k") == pytest.approx(39.5)  # the oldest admission leaves the window at t+60
    assert window.admit("other") is None  # keys are independent (per app per tenant)
    clock.now += 39.5  # all three admissions (at t=100) have left the window; the refusal never counted
    assert [window.admit("k") is None for _ in range(4)] == [True, True, True, False]


def test_a_window_slides_rather_than_resetting() -> None:
    clock = FakeClock()
    window = SlidingWindow(lambda: 2, lambda: 10.0, clock)
    window.admit("k")
    clock.now += 9
    window.admit("k")
    clock.now += 2  # the first admission has left the window, the second has not
    assert window.admit("k") is None
    assert window.admit("k") == pytest.approx(8.0)


def test_zero_turns_a_limit_off() -> None:
    window = SlidingWindow(lambda: 0, lambda: 60.0, FakeClock())
    assert all(window.admit("k") is None for _ in range(1000))
    gate = ConcurrencyGate(lambda: 0)
    assert all(gate.acquire("k") for _ in range(100))


def test_a_concurrency_gate_counts_requests_in_flight() -> None:
    gate = ConcurrencyGate(lambda: 2)
    assert (gate.acquire("k"), gate.acquire("k"), gate.acquire("k")) == (True, True, False)
    assert gate.acquire("other")
    gate.release("k")
    assert gate.in_flight("k") == 1
    assert gate.acquire("k")


def test_limits_default_to_microsofts_and_are_configurable() -> None:
    defaults = LimitSettings()
    assert (defaults.graph_security_requests, defaults.graph_security_window_seconds) == (150, 60.0)
    assert (defaults.graph_secure_score_requests, defaults.graph_secure_score_window_seconds) == (
        10_000,
        600.0,
    )
    assert defaults.graph_secure_score_concurrency == 4
    assert (defaults.partner_center_requests, defaults.partner_center_window_seconds) == (500, 60.0)
    configured = LimitSettings.from_environment(
        {ENVIRONMENT_VARIABLE: json.dumps({"graph_security_requests": 5})}
    )
    assert configured.graph_security_requests == 5
    for bad in ('{"graph_security_request": 5}', '{"partner_center_requests": -1}', "[1]", "{"):
        with pytest.raises(ValueError, match=r"limit|non-negative|JSON"):
            LimitSettings.from_environment({ENVIRONMENT_VARIABLE: bad})
