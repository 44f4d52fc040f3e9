"""The replay clock: a test clock whose time is moved by the stored ticks."""

from __future__ import annotations

from engine.clock import TestClock


class ReplayClock(TestClock):
    """Simulated time for a replay: :class:`TestClock` moved to each tick's time.

    Timers (``sleep``), bars, MIS square-off and market-hours checks all read this
    clock, so they run in the replayed session's time, not the machine's.
    """

    __test__ = False

    def due(self, ns: int) -> bool:
        """Whether moving to ``ns`` would wake a sleeper (a timer falls due)."""
        sleepers = self._sleepers
        return bool(sleepers) and sleepers[0][0] <= ns

    def move_to(self, ns: int) -> None:
        """Move to ``ns``; a time before now leaves the clock where it is (never backwards)."""
        if ns > self.now_ns():
            self.set_ns(ns)
