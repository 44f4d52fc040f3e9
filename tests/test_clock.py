import asyncio
from datetime import datetime

import pytest

from engine.clock import IST, TestClock, now_ist


def test_test_clock_starts_at_given_ist_time() -> None:
    clock = TestClock(datetime(2026, 11, 25, 9, 15, tzinfo=IST))
    assert now_ist(clock) == datetime(2026, 11, 25, 9, 15, tzinfo=IST)
    assert now_ist(clock).utcoffset().total_seconds() == 5.5 * 3600


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        TestClock(datetime(2026, 11, 25, 9, 15))


def test_clock_never_goes_backwards() -> None:
    clock = TestClock()
    clock.advance(5)
    with pytest.raises(ValueError):
        clock.set_ns(clock.now_ns() - 1)


async def test_sleepers_wake_only_when_time_passes_their_deadline() -> None:
    clock = TestClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [asyncio.create_task(sleeper("a", 1.0)), asyncio.create_task(sleeper("b", 3.0))]
    await asyncio.sleep(0)
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(0.5)
    await asyncio.sleep(0)
    assert woke == ["a"]
    clock.advance(5)
    await asyncio.gather(*tasks)
    assert woke == ["a", "b"]
    assert clock.monotonic() == pytest.approx(6.0)
