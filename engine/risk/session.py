"""Market hours for the session check, cached per IST day (no datetime work per order)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from engine.clock import IST, NS_PER_SECOND

_DAY_NS = 86_400 * NS_PER_SECOND
_IST_OFFSET_NS = int(5.5 * 3600) * NS_PER_SECOND


def ist_day(now_ns: int) -> int:
    """Days since the epoch, counted in IST (changes at IST midnight)."""
    return (now_ns + _IST_OFFSET_NS) // _DAY_NS


class MarketHours:
    """Weekday IST session, or always open. Exchange holidays are not known here."""

    def __init__(self, always_open: bool, market_open: time, market_close: time) -> None:
        self.always_open = always_open
        self._open = market_open
        self._close = market_close
        self._day = -1
        self._window: tuple[int, int] | None = None

    def is_open(self, now_ns: int) -> bool:
        """Whether the market is open at ``now_ns``."""
        if self.always_open:
            return True
        day = ist_day(now_ns)
        if day != self._day:
            self._day = day
            self._window = self._session(day)
        window = self._window
        return window is not None and window[0] <= now_ns < window[1]

    def _session(self, day: int) -> tuple[int, int] | None:
        midnight = datetime(1970, 1, 1, tzinfo=IST) + timedelta(days=day)
        if midnight.weekday() >= 5:
            return None
        start = datetime.combine(midnight.date(), self._open, IST)
        end = datetime.combine(midnight.date(), self._close, IST)
        return int(start.timestamp()) * NS_PER_SECOND, int(end.timestamp()) * NS_PER_SECOND
