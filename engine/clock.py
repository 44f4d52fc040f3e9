"""Injected clocks: the only place the engine reads the time.

No other module calls ``time.time()`` or ``datetime.now()``. Live code gets a
:class:`LiveClock`; tests and snapshots get a :class:`TestClock` whose time moves
only when the test says so; replay gets a clock driven by the stored ticks.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

IST = timezone(timedelta(hours=5, minutes=30), name="IST")
"""India Standard Time. India has no daylight saving, so a fixed offset is exact."""

NS_PER_SECOND = 1_000_000_000


class Clock(Protocol):
    """What every component uses to read time and to wait."""

    def now_ns(self) -> int:
        """Wall-clock time as integer nanoseconds since the Unix epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


def now_ist(clock: Clock) -> datetime:
    """The clock's current time as an aware datetime in IST."""
    return datetime.fromtimestamp(clock.now_ns() / NS_PER_SECOND, tz=IST)


def ns_to_ist(ns: int) -> datetime:
    """Epoch nanoseconds as an aware IST datetime."""
    return datetime.fromtimestamp(ns / NS_PER_SECOND, tz=IST)


class LiveClock:
    """The real clock."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class TestClock:
    """A clock that stands still until :meth:`advance` moves it.

    ``sleep`` waits until the test has advanced the clock past the deadline, so a
    component's timers fire exactly when the test decides.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 11, 25, 10, 0, tzinfo=IST)
        if start.tzinfo is None:
            raise ValueError("TestClock start must be timezone-aware")
        self._ns = int(start.astimezone(UTC).timestamp() * NS_PER_SECOND)
        self._origin_ns = self._ns
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = 0

    def now_ns(self) -> int:
        return self._ns

    def monotonic(self) -> float:
        return (self._ns - self._origin_ns) / NS_PER_SECOND

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (self._ns + int(seconds * NS_PER_SECOND), self._seq, future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        self.set_ns(self._ns + int(seconds * NS_PER_SECOND))

    def set_ns(self, ns: int) -> None:
        """Move time to ``ns`` (never backwards) and wake due sleepers."""
        if ns < self._ns:
            raise ValueError("a clock never goes backwards")
        self._ns = ns
        while self._sleepers and self._sleepers[0][0] <= ns:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)
