"""The Kite Connect ticker as an engine feed: websockets in, engine Ticks on the bus.

:class:`KiteFeed` shards subscriptions over up to 3 websockets of at most 3,000
instruments each (Kite's limits), filling the first connection before opening the next.
Each binary frame becomes one batch of :class:`~engine.model.Tick` published with
``bus.publish_ticks``; 1-byte heartbeats keep the silence watchdog quiet; a malformed
frame is counted in :attr:`KiteFeed.stats` and skipped. Text messages: order updates
go to ``on_order_update`` (once, although every connection receives them), errors
become alerts.

When the ticker refuses the access token the session has expired: the feed state
becomes ``login required``, one alert is raised, and no connection is attempted until
a token that was not refused appears (``set_access_token`` or the provider, re-read
every ``token_poll_s``). The token is never logged, put in an exception, or shown in
a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog

from engine.alerts import AlertSource, Severity
from engine.bus import MessageBus
from engine.clock import Clock
from engine.component import Component
from engine.feeds.kite_backoff import Backoff
from engine.feeds.kite_connection import KiteConnection, ShardState
from engine.feeds.kite_convert import to_ticks
from engine.feeds.kite_protocol import KiteFrameError, parse_frame, parse_text
from engine.kite.settings import KiteSettings
from engine.logs import register_secret
from engine.model import Instrument, MarketDay

log = structlog.get_logger("engine.feeds.kite")

MODES = ("ltp", "quote", "full")
LOGIN_REQUIRED = "login required"
_SEEN_UPDATES = 2048
ERROR_ALERT_QUIET_S = 60.0


class KiteSubscriptionError(ValueError):
    """A subscription Kite would refuse (bad mode, or over 3 × 3,000 instruments)."""


@dataclass(slots=True)
class KiteFeedStats:
    """Counters of the feed (read by health and metrics)."""

    frames: int = 0
    ticks: int = 0
    heartbeats: int = 0
    malformed: int = 0
    """Binary frames or text messages that did not decode; each was skipped."""
    order_updates: int = 0
    ticker_errors: int = 0
    publish_errors: int = 0
    login_alerts: int = 0


class KiteFeed(Component):
    """Live market data from Kite's websocket ticker (component name ``feed``)."""

    name = "feed"

    def __init__(
        self,
        settings: KiteSettings,
        clock: Clock,
        bus: MessageBus,
        raise_alert: Callable[[Severity, AlertSource, str], Any],
        access_token_provider: Callable[[], str | None],
        *,
        instruments: Iterable[Instrument] = (),
        on_order_update: Callable[[dict[str, Any]], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not settings.api_key:
            raise ValueError("the Kite feed needs kite.api_key [ALPHAPT_KITE__API_KEY]")
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.stats = KiteFeedStats()
        self.on_order_update = on_order_update
        self._raise_alert = raise_alert
        self._provider = access_token_provider
        self._instruments = list(instruments)
        self._override: str | None = None
        self._rejected: set[str] = set()
        self._login_required = False
        self._stopped = False
        self._token_changed = asyncio.Event()
        self._stop_event: asyncio.Event | None = None
        self._done: asyncio.Event | None = None
        self._seen: deque[int] = deque(maxlen=_SEEN_UPDATES)
        self._seen_set: set[int] = set()
        self._error_alerted: dict[str, float] = {}
        rng = rng or random.Random()
        self.shards = [
            KiteConnection(
                i,
                ws_url=settings.ws_url,
                api_key=settings.api_key,
                clock=clock,
                hooks=self,
                backoff=Backoff(settings.reconnect_initial_s, settings.reconnect_max_s, rng),
                heartbeat_timeout_s=settings.heartbeat_timeout_s,
                connect_timeout_s=settings.connect_timeout_s,
                always_on=i == 0,
            )
            for i in range(settings.max_connections)
        ]

    def __repr__(self) -> str:
        return f"KiteFeed(state={self.state!r}, instruments={len(self.subscribed)})"

    # -- what the kernel and header read ---------------------------------------------------------

    @property
    def state(self) -> str:
        """``connecting``, ``live``, ``reconnecting``, ``login required`` or ``stopped``."""
        if self._stopped:
            return "stopped"
        if self._login_required:
            return LOGIN_REQUIRED
        active = [s for s in self.shards if s.wanted]
        if all(s.state == ShardState.LIVE for s in active):
            return "live"
        return "reconnecting" if any(s.connects for s in active) else "connecting"

    @property
    def subscribed(self) -> dict[int, str]:
        """Every subscribed token and its mode."""
        merged: dict[int, str] = {}
        for shard in self.shards:
            merged.update(shard.modes)
        return merged

    @property
    def capacity(self) -> int:
        """How many instruments the feed can carry."""
        return self.settings.max_connections * self.settings.max_instruments_per_connection

    def instruments(self) -> list[Instrument]:
        """The instruments this feed was given (from the instruments registry)."""
        return list(self._instruments)

    def market_days(self) -> list[MarketDay]:
        """Circuit limits come from quotes, not the ticker: none here."""
        return []

    # -- subscriptions ------------------------------------------------------------------------

    def subscribe(self, tokens: Iterable[int], mode: str | None = None) -> None:
        """Subscribe ``tokens`` (default mode from settings); already subscribed ones change mode.

        Raises :class:`KiteSubscriptionError` and changes nothing if the mode is unknown or
        the total would exceed the feed's capacity.
        """
        mode = mode or self.settings.default_mode
        if mode not in MODES:
            raise KiteSubscriptionError(f"unknown ticker mode {mode!r}: use ltp, quote or full")
        wanted = list(dict.fromkeys(int(t) for t in tokens))
        current = self.subscribed
        new = [t for t in wanted if t not in current]
        if len(current) + len(new) > self.capacity:
            raise KiteSubscriptionError(
                f"cannot subscribe {len(new)} more instruments: Kite carries at most "
                f"{self.capacity} ({self.settings.max_connections} connections × "
                f"{self.settings.max_instruments_per_connection}), {len(current)} subscribed"
            )
        self.set_mode([t for t in wanted if t in current], mode)
        per = self.settings.max_instruments_per_connection
        for shard in self.shards:
            room = per - len(shard.modes)
            if room > 0 and new:
                shard.add(new[:room], mode)
                new = new[room:]

    def unsubscribe(self, tokens: Iterable[int]) -> None:
        """Stop ticks for ``tokens`` (unknown tokens are ignored)."""
        wanted = set(tokens)
        for shard in self.shards:
            mine = [t for t in shard.modes if t in wanted]
            if mine:
                shard.remove(mine)

    def set_mode(self, tokens: Iterable[int], mode: str) -> None:
        """Change the mode of subscribed ``tokens``."""
        if mode not in MODES:
            raise KiteSubscriptionError(f"unknown ticker mode {mode!r}: use ltp, quote or full")
        wanted = set(tokens)
        for shard in self.shards:
            mine = [t for t in shard.modes if t in wanted and shard.modes[t] != mode]
            if mine:
                shard.set_mode(mine, mode)

    # -- the access token ---------------------------------------------------------------------

    def set_access_token(self, token: str) -> None:
        """Use ``token`` from now on (after a new login); resumes a ``login required`` feed."""
        register_secret(token)
        self._override = token
        self._rejected.discard(token)
        self._token_changed.set()

    def _current_token(self) -> str | None:
        for token in (self._override, self._provider()):
            if token and token not in self._rejected:
                register_secret(token)
                return token
        return None

    async def acquire_token(self, shard: KiteConnection) -> str:
        """A token not yet refused; waits (without connecting) while there is none."""
        while True:
            token = self._current_token()
            if token is not None:
                if self._login_required:
                    self._login_required = False
                    log.info("kite session resumed")
                return token
            self._require_login("no valid Kite access token")
            shard.state = ShardState.LOGIN_REQUIRED
            await self._wait_for_token()

    def token_rejected(self, token: str, detail: str) -> None:
        """The ticker refused ``token`` (called by a connection)."""
        self._rejected.add(token)
        if self._override == token:
            self._override = None
        self._require_login(detail)

    def _require_login(self, detail: str) -> None:
        if self._login_required:
            return
        self._login_required = True
        self.stats.login_alerts += 1
        log.warning("kite session expired", detail=detail)
        self._raise_alert(
            Severity.CRITICAL,
            AlertSource.FEED,
            f"Kite session expired ({detail}): run alphapt-tui login",
        )

    async def _wait_for_token(self) -> None:
        self._token_changed.clear()
        waiter = asyncio.ensure_future(self._token_changed.wait())
        poll = asyncio.ensure_future(self.clock.sleep(self.settings.token_poll_s))
        try:
            await asyncio.wait((waiter, poll), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            poll.cancel()

    # -- messages (hot path) ------------------------------------------------------------------

    def on_message(self, message: bytes | str) -> None:
        """One websocket message: a frame, a heartbeat, or a text message."""
        if isinstance(message, str):
            self._on_text(message)
            return
        if len(message) == 1:
            self.stats.heartbeats += 1
            return
        stats = self.stats
        try:
            dicts = parse_frame(message)
        except KiteFrameError as exc:
            stats.malformed += 1
            if stats.malformed == 1 or stats.malformed % 1000 == 0:
                log.warning("malformed kite frame skipped", error=str(exc), total=stats.malformed)
            return
        stats.frames += 1
        if not dicts:
            return
        ticks = to_ticks(dicts, self.clock.now_ns())
        stats.ticks += len(ticks)
        try:
            self.bus.publish_ticks(ticks)
        except Exception:
            stats.publish_errors += 1
            if stats.publish_errors == 1 or stats.publish_errors % 1000 == 0:
                log.exception("tick batch failed on the hot path", total=stats.publish_errors)

    def _on_text(self, message: str) -> None:
        try:
            obj = parse_text(message)
        except KiteFrameError as exc:
            self.stats.malformed += 1
            log.warning("malformed kite text message skipped", error=str(exc))
            return
        kind = obj["type"]
        if kind == "order":
            digest = hash(message)
            if digest in self._seen_set:
                return  # the same update, delivered on another connection
            if len(self._seen) == self._seen.maxlen:
                self._seen_set.discard(self._seen[0])
            self._seen.append(digest)
            self._seen_set.add(digest)
            self.stats.order_updates += 1
            if self.on_order_update is not None:
                self.on_order_update(obj["data"])
        elif kind == "error":
            self.stats.ticker_errors += 1
            text = str(obj.get("data"))[:200]
            now = self.clock.monotonic()
            # Every connection gets the same error: alert once per text and minute.
            if now - self._error_alerted.get(text, -ERROR_ALERT_QUIET_S) >= ERROR_ALERT_QUIET_S:
                self._error_alerted[text] = now
                self._raise_alert(Severity.WARNING, AlertSource.FEED, f"Kite ticker error: {text}")
        else:
            log.info("kite ticker message", kind=kind, data=str(obj.get("data"))[:200])

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        self._stop_event = asyncio.Event()
        self._done = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(shard.run()) for shard in self.shards]
                await self._stop_event.wait()
                for task in tasks:
                    task.cancel()
        finally:
            self._done.set()

    async def stop(self) -> None:
        self._stopped = True
        if self._stop_event is not None and self._done is not None:
            self._stop_event.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0):
                    await self._done.wait()
