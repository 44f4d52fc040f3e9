"""A sliding-window rate limiter on the injected clock (Kite: 3 historical calls a second)."""

from __future__ import annotations

from collections import deque

from engine.clock import Clock


class RateLimiter:
    """At most ``rate`` acquisitions in any ``per_s`` window; :meth:`acquire` waits its turn."""

    def __init__(self, clock: Clock, rate: int, per_s: float = 1.0) -> None:
        if rate < 1 or per_s <= 0:
            raise ValueError("a rate limiter needs rate >= 1 and per_s > 0")
        self.clock = clock
        self.rate = rate
        self.per_s = per_s
        self.waited = 0
        """How many acquisitions had to wait."""
        self._stamps: deque[float] = deque()

    async def acquire(self) -> None:
        """Return once a call may be made now (and count it)."""
        stamps = self._stamps
        waited = False
        while True:
            now = self.clock.monotonic()
            while stamps and now - stamps[0] >= self.per_s:
                stamps.popleft()
            if len(stamps) < self.rate:
                break
            waited = True
            await self.clock.sleep(self.per_s - (now - stamps[0]))
        self.waited += waited
        stamps.append(now)
