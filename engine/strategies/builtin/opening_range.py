"""Opening-range breakout: trade the first close outside the 09:15–09:30 IST range."""

from __future__ import annotations

from datetime import time

import numpy as np
from pydantic import Field, model_validator

from engine.strategies.bars import IST_OFFSET_NS
from engine.strategies.base import Strategy, StrategyParams
from engine.strategies.batch import BarBatch
from engine.strategies.indicators import NS_PER_DAY

NS_PER_MINUTE = 60_000_000_000


def _minute(t: time) -> int:
    return t.hour * 60 + t.minute


class OpeningRangeParams(StrategyParams):
    """The range window and the square-off time (IST)."""

    range_start: time = time(9, 15)
    """Start of the opening range."""
    range_end: time = time(9, 30)
    """End of the opening range (exclusive)."""
    exit_at: time = time(15, 10)
    """Square off any position at the first bar closing at or after this time."""
    max_trades_per_day: int = Field(default=1, ge=1, le=20)
    """Breakout entries allowed per instrument and day."""

    @model_validator(mode="after")
    def _ordered(self) -> OpeningRangeParams:
        if not self.range_start < self.range_end < self.exit_at:
            raise ValueError("times must satisfy range_start < range_end < exit_at")
        return self


class OpeningRangeBreakout(Strategy):
    """On 1m bars: the range is the high and low of bars inside the window; after it, a
    close above the high goes long, below the low goes short; flat at ``exit_at``."""

    Params = OpeningRangeParams
    key = "opening_range"

    def on_start(self) -> None:
        self.subscribe_bars("1m")
        size = len(self.instruments)
        # Per instrument: the IST day its range belongs to, the range so far, entries that day.
        self._day = np.full(size, -1, dtype=np.int64)
        self._high = np.full(size, -np.inf)
        self._low = np.full(size, np.inf)
        self._trades = np.zeros(size, dtype=np.int64)
        self._minutes_of: OpeningRangeParams | None = None
        self._minutes = (0, 0, 0)

    def _window(self, p: OpeningRangeParams) -> tuple[int, int, int]:
        """``(range_start, range_end, exit_at)`` in minutes of the day, recomputed when params change."""
        if p is not self._minutes_of:
            self._minutes_of = p
            self._minutes = (_minute(p.range_start), _minute(p.range_end), _minute(p.exit_at))
        return self._minutes

    def on_bars(self, bars: BarBatch) -> None:
        # Every bar of a batch has the same bounds: the calendar arithmetic is done once.
        local = bars.start_ns + IST_OFFSET_NS
        day = local // NS_PER_DAY
        minute = (local % NS_PER_DAY) // NS_PER_MINUTE
        end_minute = minute + (bars.end_ns - bars.start_ns) // NS_PER_MINUTE
        rows = bars.index
        stale = self._day[rows] != day
        if stale.any():
            fresh = rows[stale]
            self._day[fresh] = day
            self._high[fresh] = -np.inf
            self._low[fresh] = np.inf
            self._trades[fresh] = 0
        p = self.params
        range_start, range_end, exit_at = self._window(p)
        if range_start <= minute < range_end:
            self._high[rows] = np.maximum(self._high[rows], bars.high)
            self._low[rows] = np.minimum(self._low[rows], bars.low)
            return
        tokens = bars.tokens
        if end_minute >= exit_at:
            held = self.expected_positions(rows)
            for i in np.flatnonzero(held != 0).tolist():
                self.target_position(int(tokens[i]), 0)
            return
        if minute < range_end:
            return
        high, low = self._high[rows], self._low[rows]
        close = bars.close
        # An instrument with no bar inside the window has no range (high -inf): never a breakout.
        open_ = (high != -np.inf) & (self._trades[rows] < p.max_trades_per_day)
        up = open_ & (close > high)
        down = open_ & ~up & (close < low)
        candidates = np.flatnonzero(up | down)
        if not len(candidates):
            return
        held = self.expected_positions(rows[candidates])
        for i, position in zip(candidates.tolist(), held.tolist(), strict=True):
            if position != 0:
                continue
            self._trades[rows[i]] += 1
            self.target_position(int(tokens[i]), p.quantity if up[i] else -p.quantity)
