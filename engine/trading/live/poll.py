"""Polling Kite's order book while the ticker websocket, which carries order updates, is down.

Kite pushes order updates only on the ticker websocket and does not replay the ones a
disconnected client missed. While the socket is down, :class:`OrderBookPoll` fetches
``GET /orders`` every ``interval_s`` and hands each row of one of our working orders to
the broker's update queue, the same path a websocket update takes; once the socket is
back it polls one last time (updates between the last poll and the reconnect were lost
too) and stops. Applying a row is idempotent (fills by trade id, states by comparison),
so a row seen by several polls, or again on the websocket, changes the order once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from engine.clock import Clock
from engine.kite.rest import KiteApiError

log = structlog.get_logger("engine.trading.live")


class OrderBookPoll:
    """The poll loop; the broker supplies the fetch, the filter and the update queue."""

    def __init__(
        self,
        clock: Clock,
        socket_up: Callable[[], bool],
        fetch: Callable[[], Awaitable[Any]],
        has_work: Callable[[], bool],
        wanted: Callable[[str], bool],
        apply: Callable[[dict[str, Any]], None],
        interval_s: float = 2.0,
    ) -> None:
        self.clock = clock
        self.socket_up = socket_up
        self.fetch = fetch
        self.has_work = has_work
        self.wanted = wanted
        self.apply = apply
        self.interval_s = interval_s
        self.polling = False
        """Whether the socket was down at the last check."""
        self.checks = 0
        """Times the loop looked at the socket."""
        self.polls = 0
        """Order-book fetches that succeeded."""
        self.rows_applied = 0
        """Rows of our orders handed to the update queue."""
        self.failures = 0
        """Order-book fetches that failed in a row."""
        self._behind = False

    async def run(self) -> None:
        """Check the socket every ``interval_s``; poll while it is down and once after."""
        while True:
            await self.clock.sleep(self.interval_s)
            await self.check()

    async def check(self) -> None:
        """One turn of the loop."""
        self.checks += 1
        up = self.socket_up()
        if up != (not self.polling):
            log.info("order updates " + ("back on the ticker" if up else "polled: ticker down"))
        self.polling = not up
        if up and not self._behind:
            return
        self._behind = not await self.poll_once() or not up

    async def poll_once(self) -> bool:
        """Fetch the order book and queue our working orders' rows; False if the fetch failed."""
        if not self.has_work():
            return True  # no working order: no update to miss
        try:
            rows = await self.fetch()
        except KiteApiError as exc:
            self.failures += 1
            if self.failures == 1 or self.failures % 30 == 0:  # an expired session fails each time
                log.warning("order book poll failed", error=exc.message, failures=self.failures)
            return False
        self.failures = 0
        self.polls += 1
        for row in rows or ():
            if isinstance(row, dict) and self.wanted(str(row.get("tag") or "")):
                self.rows_applied += 1
                self.apply(row)
        return True
