"""Client order ids: minted before anything is sent, carried to Kite in ``tag``.

An id is at most 20 characters of ``0-9A-Z`` (Kite's tag limit) and reads as
``TTTTTTTT RRRR CCCCCC`` without the spaces:

- ``T`` the clock's time in milliseconds, base 36 (8 characters until 2059),
  so ids of the same length sort by minting time;
- ``R`` a run component drawn once per minter, so two processes started in the
  same millisecond (or a replay clock that stands still) cannot collide;
- ``C`` a per-minter counter, so ids minted in the same millisecond differ.

Given a seeded ``random.Random`` and a test clock the sequence is deterministic.
"""

from __future__ import annotations

import random
import re

from engine.clock import Clock

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_LEN = 20
TIME_LEN = 8
RUN_LEN = 4
COUNTER_LEN = 6

_VALID = re.compile(r"[0-9A-Za-z]{1,20}")


def base36(value: int, width: int) -> str:
    """``value`` in base 36, zero-padded to ``width`` characters (never truncated)."""
    if value < 0:
        raise ValueError("base36 takes a non-negative integer")
    digits: list[str] = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(ALPHABET[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def is_valid_client_order_id(value: str) -> bool:
    """Whether ``value`` fits Kite's tag: 1–20 ASCII letters and digits."""
    return _VALID.fullmatch(value) is not None


class ClientOrderIdMinter:
    """Mints unique client order ids from an injected clock.

    ``rng`` defaults to :class:`random.SystemRandom`; pass ``random.Random(seed)``
    (or an explicit ``run_id``) for a reproducible sequence.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        rng: random.Random | None = None,
        run_id: str | None = None,
    ) -> None:
        self._clock = clock
        if run_id is None:
            source = rng if rng is not None else random.SystemRandom()
            run_id = "".join(source.choice(ALPHABET) for _ in range(RUN_LEN))
        if len(run_id) != RUN_LEN or not is_valid_client_order_id(run_id):
            raise ValueError(f"run_id must be {RUN_LEN} letters or digits, got {run_id!r}")
        self._run = run_id.upper()
        self._counter = 0
        self._millis = -1
        self._prefix = ""

    @property
    def run_id(self) -> str:
        """The run component shared by every id this minter makes."""
        return self._run

    def next(self) -> str:
        """A fresh id, unique within this minter and across restarts."""
        self._counter += 1
        if self._counter >= 36**COUNTER_LEN:
            raise OverflowError("client order id counter exhausted")
        millis = self._clock.now_ns() // 1_000_000
        if millis != self._millis:
            # Orders come in bursts (a bar close): the time part is shared within a millisecond.
            self._millis = millis
            self._prefix = base36(millis, TIME_LEN) + self._run
        coid = self._prefix + base36(self._counter, COUNTER_LEN)
        if len(coid) > MAX_LEN:
            raise OverflowError(f"client order id {coid!r} exceeds {MAX_LEN} characters")
        return coid

    __call__ = next
