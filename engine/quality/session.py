"""Market hours for the sweep checks (silence outside the session is not a fault)."""

from __future__ import annotations

from datetime import time

from engine.clock import NS_PER_SECOND, ns_to_ist


class Session:
    """Weekday IST trading hours, or a market that never closes (development).

    Exchange holidays are not known here; on a holiday the feed is silent all day
    and the gap check says so once.
    """

    def __init__(self, always_open: bool, market_open: time, market_close: time) -> None:
        self.always_open = always_open
        self.market_open = market_open
        self.market_close = market_close

    def opened_ns(self, now_ns: int) -> int | None:
        """When the current session opened, or ``None`` if the market is closed at ``now_ns``."""
        if self.always_open:
            return 0
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
        return int(start.timestamp()) * NS_PER_SECOND
