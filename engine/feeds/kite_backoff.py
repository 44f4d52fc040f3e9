"""Reconnect delays: exponential, capped, with jitter so three shards do not reconnect in step."""

from __future__ import annotations

import random


class Backoff:
    """Delay ``n`` is ``min(cap, initial * 2**n)``, of which the upper half is random.

    Half the delay is always waited ("equal jitter"): a server that keeps refusing is never
    hammered, however the dice fall. :meth:`reset` once a connection has proved healthy.
    """

    def __init__(self, initial_s: float, cap_s: float, rng: random.Random | None = None) -> None:
        if initial_s <= 0 or cap_s < initial_s:
            raise ValueError("backoff needs 0 < initial_s <= cap_s")
        self.initial_s = initial_s
        self.cap_s = cap_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next(self) -> float:
        """The delay before the next attempt; each call doubles the base, up to the cap."""
        base = min(self.cap_s, self.initial_s * 2 ** min(self.attempt, 32))
        self.attempt += 1
        return base / 2 + self._rng.uniform(0, base / 2)

    def reset(self) -> None:
        """Start again from ``initial_s``."""
        self.attempt = 0
