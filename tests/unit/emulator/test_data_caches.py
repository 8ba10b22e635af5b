"""Bounded caches: the weighted LRU, the rendered-alert cache's byte bound, compact JSON bytes."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import orjson

from emulator.data import alerts, clear_caches
from emulator.data.alerts import alert_json, alerts_as_of, configure_alert_cache
from emulator.data.jsonbytes import dumps_compact
from emulator.data.lru import WeightedLRU
from emulator.data.portfolio import Portfolio

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def test_weighted_lru_evicts_least_recently_used_by_weight():
    cache: WeightedLRU[bytes] = WeightedLRU(10, len)
    cache.put("a", b"1234")
    cache.put("b", b"1234")
    assert cache.get("a") == b"1234"  # "a" is now the most recent
    cache.put("c", b"1234")  # 12 > 10: evicts "b"
    assert cache.get("b") is None
    assert cache.get("a") == b"1234"
    assert cache.get("c") == b"1234"
    assert cache.weight == 8
    cache.put("c", b"12")  # replacing adjusts the weight
    assert cache.weight == 6
    cache.clear()
    assert len(cache) == 0
    assert cache.weight == 0


def test_weighted_lru_keeps_a_single_oversized_value():
    cache: WeightedLRU[bytes] = WeightedLRU(3, len)
    cache.put("big", b"123456")
    assert cache.get("big") == b"123456"


def test_rendered_alert_cache_stays_within_its_byte_bound():
    clear_caches()
    configure_alert_cache(50_000)
    try:
        portfolio = Portfolio(seed=61, tenants=5, anchor=NOW)
        rendered = 0
        for customer in portfolio:
            for state in list(alerts_as_of(customer, NOW))[:60]:
                alert_json(customer, state)
                rendered += 1
        assert rendered > 50
        assert 0 < alerts._BYTES.weight <= 50_000
        configure_alert_cache(0)
        assert len(alerts._BYTES) == 0
    finally:
        configure_alert_cache(48_000_000)


def test_compact_json_is_orjson_output_without_the_spare_buffer():
    value = {"accountName": "ana.costa", "displayName": "Ana Costa"}
    assert dumps_compact(value) == orjson.dumps(value)
    tracemalloc.start()
    try:
        kept = [dumps_compact(value) for _ in range(500)]
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(kept) == 500
    assert held < 500 * 300  # orjson's own results would hold about 4 KB each
