"""Which instruments the feed carries: the watchlist, and whatever else still needs prices.

Adding an instrument to the watchlist subscribes its token; removing it unsubscribes the
token unless an open order, an open position or a strategy still needs its ticks (paper
fills, marks and signals come from them). Feeds without subscriptions (a NATS relay)
carry everything and are left alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import structlog

log = structlog.get_logger("engine.subscriptions")


@runtime_checkable
class Subscribable(Protocol):
    """A feed whose instruments are chosen (Kite's ticker, the mock market's options)."""

    def subscribe(self, tokens: Iterable[int], mode: str | None = None) -> None:
        """Start ticks for ``tokens``; raises ``ValueError`` (one line) when refused."""
        ...

    def unsubscribe(self, tokens: Iterable[int]) -> None:
        """Stop ticks for ``tokens``."""
        ...


class FeedSubscriptions:
    """Subscribes and releases feed tokens on behalf of the watchlist."""

    def __init__(self, feed: object, in_use: Callable[[], set[int]]) -> None:
        """``in_use`` names the tokens something other than the watchlist needs right now."""
        self.feed = feed if isinstance(feed, Subscribable) else None
        self._in_use = in_use

    def subscribe(self, tokens: Iterable[int]) -> str | None:
        """Subscribe ``tokens``; returns the feed's refusal in one line, or ``None``."""
        if self.feed is None:
            return None
        tokens = list(tokens)
        try:
            self.feed.subscribe(tokens)
        except ValueError as exc:
            # Kite's limits (3 × 3,000 instruments) and bad modes: refused, nothing changed.
            return (str(exc).splitlines() or [type(exc).__name__])[0]
        log.info("subscribed", tokens=len(tokens))
        return None

    def subscribe_in_use(self) -> str | None:
        """Subscribe what orders, positions and strategies need and the feed lacks."""
        if self.feed is None:
            return None
        missing = self._in_use() - set(getattr(self.feed, "subscribed", ()))
        return self.subscribe(missing) if missing else None

    def release(self, tokens: Iterable[int], watched: Iterable[int]) -> list[int]:
        """Unsubscribe those of ``tokens`` neither ``watched`` nor in use; returns them."""
        if self.feed is None:
            return []
        keep = set(watched) | self._in_use()
        gone = [token for token in dict.fromkeys(tokens) if token not in keep]
        if gone:
            self.feed.unsubscribe(gone)
            log.info("unsubscribed", tokens=len(gone))
        return gone
