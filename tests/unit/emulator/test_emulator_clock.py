from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from emulator.clock import EmulatorClock

START = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_the_clock_stands_still_until_advanced() -> None:
    ticks = iter([0.0, 100.0, 200.0])
    clock = EmulatorClock(START, monotonic=lambda: next(ticks))
    assert clock.now() == START
    assert clock.now() == START
    saved: list[timedelta] = []
    clock._persist = saved.append
    assert clock.advance(timedelta(days=2)) == START + timedelta(days=2)
    assert saved == [timedelta(days=2)]
    assert clock.timestamp() == int((START + timedelta(days=2)).timestamp())


def test_a_running_clock_adds_real_elapsed_time() -> None:
    ticks = iter([10.0, 12.5])
    clock = EmulatorClock(START, offset=timedelta(hours=1), running=True, monotonic=lambda: next(ticks))
    assert clock.now() == START + timedelta(hours=1, seconds=2.5)


def test_the_clock_never_goes_back() -> None:
    clock = EmulatorClock(START)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(timedelta(seconds=-1))


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        EmulatorClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test
