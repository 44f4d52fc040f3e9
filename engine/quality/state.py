"""Per-instrument state of the monitor: one slotted object per instrument.

Checks read and write their own fields here instead of keeping dicts of their
own, so a tick costs one dict lookup however many checks run.
"""

from __future__ import annotations

from engine.model import Instrument, MarketDay, Tick


class InstrumentState:
    """Everything the monitor remembers about one instrument."""

    __slots__ = (
        "circuit_hi",
        "circuit_lo",
        "day",
        "due",
        "dv_ewma",
        "dv_n",
        "flagged",
        "instrument",
        "last_bad_status",
        "last_bad_tick",
        "last_check",
        "last_seen_ns",
        "prev",
        "quarantined",
        "range_tol",
        "slot",
        "spike_hi",
        "spike_lo",
        "spike_min_pct",
        "spread_floor",
        "stale",
        "tick_size",
        "ticks",
        "token",
        "window",
    )

    def __init__(self, instrument: Instrument, day: MarketDay | None) -> None:
        self.token = instrument.instrument_token
        self.instrument = instrument
        self.tick_size = instrument.tick_size
        # Reference tick: the last one downstream saw (sequence checks compare to it).
        self.prev: Tick | None = None
        self.last_seen_ns = 0
        self.ticks = 0
        self.flagged = 0
        self.quarantined = 0
        self.last_bad_tick = 0
        """Value of ``ticks`` when the latest bad verdict was given."""
        self.last_bad_status = "ok"
        self.last_check = ""
        self.stale = False
        # Owned by checks, set up by their ``prepare``:
        self.circuit_lo = float("-inf")
        self.circuit_hi = float("inf")
        self.range_tol = 0.0
        self.spike_min_pct = 0.0
        self.spread_floor = 0.0
        self.window: list[float] = []
        self.spike_lo = float("-inf")
        self.spike_hi = float("inf")
        self.due = 0
        self.dv_ewma = 0.0
        self.dv_n = 0
        """Volume changes still to observe before the jump check is armed."""
        self.day = day
        self.slot = 0
        """Row of this instrument in the vector screen's arrays."""

    @property
    def score(self) -> float:
        """Percentage of this instrument's ticks that were valid."""
        if not self.ticks:
            return 100.0
        return 100.0 * (self.ticks - self.flagged - self.quarantined) / self.ticks
