"""Opening-range breakout: trade the first close outside the 09:15–09:30 IST range."""

from __future__ import annotations

from datetime import time

from pydantic import Field, model_validator

from engine.strategies.bars import IST_OFFSET_NS, Bar
from engine.strategies.base import Strategy, StrategyParams
from engine.strategies.indicators import NS_PER_DAY

NS_PER_MINUTE = 60_000_000_000
_NO_RANGE = float("-inf")


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


class _Day:
    __slots__ = ("day", "high", "low", "trades")

    def __init__(self, day: int) -> None:
        self.day = day
        self.high = float("-inf")
        self.low = float("inf")
        self.trades = 0


class OpeningRangeBreakout(Strategy):
    """On 1m bars: the range is the high and low of bars inside the window; after it, a
    close above the high goes long, below the low goes short; flat at ``exit_at``."""

    Params = OpeningRangeParams
    key = "opening_range"

    def on_start(self) -> None:
        self.subscribe_bars("1m")
        self._days: dict[int, _Day] = {}
        self._minutes_of: OpeningRangeParams | None = None
        self._minutes = (0, 0, 0)
        # Every instrument's bar of one minute has the same bounds: their calendar
        # arithmetic is done once per minute, not once per bar.
        self._bounds = (-1, -1)
        self._when = (0, 0, 0)

    def _window(self, p: OpeningRangeParams) -> tuple[int, int, int]:
        """``(range_start, range_end, exit_at)`` in minutes of the day, recomputed when params change."""
        if p is not self._minutes_of:
            self._minutes_of = p
            self._minutes = (_minute(p.range_start), _minute(p.range_end), _minute(p.exit_at))
        return self._minutes

    def on_bar(self, bar: Bar) -> None:
        token = bar.instrument_token
        bounds = (bar.start_ns, bar.end_ns)
        if bounds != self._bounds:
            self._bounds = bounds
            local = bar.start_ns + IST_OFFSET_NS
            minute = (local % NS_PER_DAY) // NS_PER_MINUTE
            end = minute + (bar.end_ns - bar.start_ns) // NS_PER_MINUTE
            self._when = (local // NS_PER_DAY, minute, end)
        day, minute, end_minute = self._when
        state = self._days.get(token)
        if state is None or state.day != day:
            state = self._days[token] = _Day(day)
        p = self.params
        range_start, range_end, exit_at = self._window(p)
        if range_start <= minute < range_end:
            if bar.high > state.high:
                state.high = bar.high
            if bar.low < state.low:
                state.low = bar.low
            return
        if end_minute >= exit_at:
            self.target_position(token, 0)
            return
        if minute < range_end or state.high == _NO_RANGE:
            return
        if state.trades >= p.max_trades_per_day or self.expected_position(token) != 0:
            return
        if bar.close > state.high:
            state.trades += 1
            self.target_position(token, p.quantity)
        elif bar.close < state.low:
            state.trades += 1
            self.target_position(token, -p.quantity)
