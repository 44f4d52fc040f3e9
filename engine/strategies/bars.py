"""Tick → OHLCV bars on IST minute boundaries, shared by every strategy.

One :class:`BarAggregator` per timeframe is fed each tick once, on the hot path.
A bar covers ``[start, start + period)`` of the tick's *exchange* time, aligned to
IST midnight, and closes when the first tick of a later bucket arrives, or when
:meth:`BarAggregator.flush` finds it over (the timer's job, for quiet instruments).
Volume is the change in Kite's cumulative day volume between ticks.
"""

from __future__ import annotations

import msgspec

from engine.clock import NS_PER_SECOND
from engine.model import Tick

IST_OFFSET_NS = (5 * 3600 + 30 * 60) * NS_PER_SECOND
_NEVER = 2**63 - 1
TIMEFRAMES: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900}
"""Timeframe names and their length in seconds."""


class Bar(msgspec.Struct, frozen=True, gc=False):
    """One closed OHLCV bar. ``spread`` is the best ask minus best bid at the close (0 if unknown)."""

    instrument_token: int
    timeframe: str
    start_ns: int
    end_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    ticks: int
    spread: float = 0.0


def bucket_start(ts_ns: int, period_ns: int) -> int:
    """Start of the IST-aligned bucket of ``period_ns`` holding ``ts_ns``."""
    return ts_ns - (ts_ns + IST_OFFSET_NS) % period_ns


class _Building:
    """The open bar of one instrument (mutable, updated in place on the hot path)."""

    __slots__ = (
        "close",
        "end",
        "high",
        "last_volume",
        "low",
        "open",
        "spread",
        "start",
        "ticks",
        "volume",
    )

    def __init__(self, start: int, period: int, price: float, last_volume: int) -> None:
        self.last_volume = last_volume
        self.reopen(start, period, price)

    def reopen(self, start: int, period: int, price: float) -> None:
        """Start the next bar in place (the volume baseline carries over)."""
        self.start = start
        self.end = start + period
        self.open = self.high = self.low = self.close = price
        self.volume = 0
        self.ticks = 0
        self.spread = 0.0


class BarAggregator:
    """Builds bars of one timeframe for every instrument it is fed."""

    def __init__(self, timeframe: str) -> None:
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"unknown timeframe {timeframe!r} (known: {', '.join(TIMEFRAMES)})")
        self.timeframe = timeframe
        self.period_ns = TIMEFRAMES[timeframe] * NS_PER_SECOND
        self.late_ticks = 0
        self._open: dict[int, _Building] = {}
        self._last_volume: dict[int, int] = {}
        self._closed_until: dict[int, int] = {}
        # No open bar ends before this: the flush timer (every second, one pass over every
        # open bar) has nothing to look at until then.
        self._earliest_end = 0

    def update(self, tick: Tick) -> Bar | None:
        """Fold ``tick`` in; returns the bar it closed, if it started a new bucket."""
        token = tick.instrument_token
        ts = tick.exchange_ts_ns
        bar = self._open.get(token)
        closed = None
        # Most ticks fall in the open bar: two comparisons, no bucket arithmetic.
        if bar is None or not bar.start <= ts < bar.end:
            start = ts - (ts + IST_OFFSET_NS) % self.period_ns
            if bar is not None and start > bar.start:
                # The open bar is over and the next one opens at once: no baseline to keep aside.
                closed = self._bar(token, bar)
                bar.reopen(start, self.period_ns, tick.ltp)
                if bar.end < self._earliest_end:
                    self._earliest_end = bar.end
            elif bar is None:
                if start < self._closed_until.get(token, 0):
                    self.late_ticks += 1
                    return None
                last = self._last_volume.get(token, tick.volume)
                bar = self._open[token] = _Building(start, self.period_ns, tick.ltp, last)
                if bar.end < self._earliest_end:
                    self._earliest_end = bar.end
            else:
                self.late_ticks += 1
                return None
        price = tick.ltp
        if price > bar.high:
            bar.high = price
        elif price < bar.low:
            bar.low = price
        bar.close = price
        # A falling cumulative volume is a reset or a glitch: re-baseline, never invent volume.
        volume = tick.volume
        delta = volume - bar.last_volume
        if delta > 0:
            bar.volume += delta
        bar.last_volume = volume
        bar.ticks += 1
        bid = tick.bid_px
        if bid:
            ask = tick.ask_px
            if ask and bid[0] > 0 and ask[0] > 0:
                bar.spread = ask[0] - bid[0]
        return closed

    def flush(self, now_ns: int, grace_ns: int = 0) -> list[Bar]:
        """Close every open bar whose end is at least ``grace_ns`` before ``now_ns``."""
        if now_ns < self._earliest_end + grace_ns:
            return []
        due = [t for t, b in self._open.items() if b.start + self.period_ns + grace_ns <= now_ns]
        closed = [self._close(token, self._open[token]) for token in due]
        self._earliest_end = min((b.end for b in self._open.values()), default=_NEVER)
        return closed

    def forget(self, token: int) -> None:
        """Drop the open bar and volume baseline of ``token`` (no strategy wants it now)."""
        self._open.pop(token, None)
        self._last_volume.pop(token, None)
        self._closed_until.pop(token, None)

    def _close(self, token: int, b: _Building) -> Bar:
        del self._open[token]
        self._last_volume[token] = b.last_volume
        self._closed_until[token] = b.end
        return self._bar(token, b)

    def _bar(self, token: int, b: _Building) -> Bar:
        return Bar(
            token,
            self.timeframe,
            b.start,
            b.end,
            b.open,
            b.high,
            b.low,
            b.close,
            b.volume,
            b.ticks,
            b.spread,
        )
