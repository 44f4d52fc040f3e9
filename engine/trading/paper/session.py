"""Exchange session times for the paper broker: market open, AMO windows, square-off."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from engine.clock import IST, NS_PER_SECOND, ns_to_ist


def is_market_open(now_ns: int, open_at: time, close_at: time) -> bool:
    """Whether ``now_ns`` falls on a weekday between open and close (IST)."""
    now = ns_to_ist(now_ns)
    return now.weekday() < 5 and open_at <= now.time() < close_at


def next_open_ns(now_ns: int, open_at: time) -> int:
    """The next weekday open strictly after ``now_ns`` (today's, if it is still ahead)."""
    now = ns_to_ist(now_ns)
    day = now.date()
    for _ in range(8):
        candidate = datetime.combine(day, open_at, tzinfo=IST)
        if candidate.weekday() < 5 and candidate > now:
            return int(candidate.timestamp()) * NS_PER_SECOND
        day += timedelta(days=1)
    raise RuntimeError("no weekday in the next eight days")


def seconds_until(now_ns: int, at: time) -> float:
    """Seconds from ``now_ns`` until ``at`` IST today (negative once it has passed)."""
    now = ns_to_ist(now_ns)
    target = datetime.combine(now.date(), at, tzinfo=IST)
    return (target - now).total_seconds()
