"""Market hours for the sweep checks (silence outside the session is not a fault)."""

from __future__ import annotations

from datetime import time

from engine.clock import NS_PER_SECOND, ns_to_ist

_MARGIN_NS = NS_PER_SECOND // 1000


class Session:
    """Weekday IST trading hours, or a market that never closes (development).

    Exchange holidays are not known here; on a holiday the feed is silent all day
    and the gap check says so once.
    """

    def __init__(self, always_open: bool, market_open: time, market_close: time) -> None:
        self.always_open = always_open
        self.market_open = market_open
        self.market_close = market_close
        self._open_span = (0, 0, 0)
        """``(from_ns, until_ns, opened_ns)``: every instant in ``[from_ns, until_ns)`` is in
        the session that opened at ``opened_ns`` (sweeps ask every second; a datetime
        conversion costs more than the sweep's own work)."""

    def opened_ns(self, now_ns: int) -> int | None:
        """When the current session opened, or ``None`` if the market is closed at ``now_ns``."""
        if self.always_open:
            return 0
        since, until, opened = self._open_span
        if since <= now_ns < until:
            return opened
        now = ns_to_ist(now_ns)
        if now.weekday() >= 5:
            return None
        start = now.replace(
            hour=self.market_open.hour,
            minute=self.market_open.minute,
            second=self.market_open.second,
            microsecond=0,
        )
        end = now.replace(
            hour=self.market_close.hour,
            minute=self.market_close.minute,
            second=self.market_close.second,
            microsecond=0,
        )
        if not start <= now < end:
            return None
        opened = int(start.timestamp()) * NS_PER_SECOND
        # ``ns_to_ist`` rounds to the microsecond: stop the span well short of the close.
        self._open_span = (now_ns, int(end.timestamp()) * NS_PER_SECOND - _MARGIN_NS, opened)
        return opened
