"""One Kite ticker websocket (a shard of at most 3,000 instruments) and its reconnect loop.

The connection owns its subscriptions (token → mode). Each time it connects it sends
all of them again, so a reconnect resubscribes by construction; changes made while it
is up go out at once. It reads until the socket closes or falls silent for the
heartbeat timeout (Kite sends a 1-byte heartbeat every second), then waits a
backed-off delay and reconnects. A handshake refused with 401/403 hands the token back
to the feed as rejected, and the loop then waits for a new token instead of retrying.

The access token exists here only as a local variable and inside the URL passed to
``websockets``; every error text is scrubbed of it before it goes anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Protocol
from urllib.parse import quote

import structlog
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from engine.clock import Clock
from engine.feeds.kite_backoff import Backoff

log = structlog.get_logger("engine.feeds.kite")
# websockets logs the handshake request line (with the token) at debug level: never emit it.
_WS_LOG = logging.getLogger("engine.feeds.kite.websocket")
_WS_LOG.setLevel(logging.INFO)

MAX_MESSAGE_BYTES = 4 * 1024 * 1024  # a full-mode frame of 3,000 instruments is ~560 kB
AUTH_STATUSES = (400, 401, 403)


class ShardState:
    """Connection states; the feed's state is derived from its shards'."""

    IDLE = "idle"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    LOGIN_REQUIRED = "login required"


class ConnectionHooks(Protocol):
    """What a connection needs from its feed."""

    async def acquire_token(self, shard: KiteConnection) -> str:
        """A token to connect with; waits (``shard`` in login-required state) while there is none."""
        ...

    def token_rejected(self, token: str, detail: str) -> None:
        """The ticker refused ``token``: the session expired."""
        ...

    def on_message(self, message: bytes | str) -> None:
        """Handle one websocket message (frame, heartbeat or text)."""
        ...


class KiteConnection:
    """One websocket: subscriptions, connect/read/reconnect loop, silence watchdog."""

    def __init__(
        self,
        index: int,
        *,
        ws_url: str,
        api_key: str,
        clock: Clock,
        hooks: ConnectionHooks,
        backoff: Backoff,
        heartbeat_timeout_s: float,
        connect_timeout_s: float,
        always_on: bool = False,
    ) -> None:
        self.index = index
        self.modes: dict[int, str] = {}
        """Subscribed tokens and their modes."""
        self.state = ShardState.IDLE
        self.always_on = always_on
        """The primary connection stays up without subscriptions (order updates arrive on it)."""
        self.connects = 0
        """Successful handshakes."""
        self.attempts = 0
        """Handshakes tried."""
        self.last_error = ""
        """Why the last connection ended or failed (never contains the token)."""
        self._ws_url = ws_url
        self._api_key = api_key
        self._clock = clock
        self._hooks = hooks
        self._backoff = backoff
        self._timeout_s = heartbeat_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._ws: ClientConnection | None = None
        self._outbox: list[str] = []
        self._changed = asyncio.Event()
        self._last_rx = 0.0

    def __repr__(self) -> str:
        return f"KiteConnection({self.index}, {self.state}, {len(self.modes)} instruments)"

    @property
    def wanted(self) -> bool:
        """Whether this connection should be up."""
        return self.always_on or bool(self.modes)

    # -- subscriptions (called on the engine loop at any time) ----------------------------------

    def add(self, tokens: list[int], mode: str) -> None:
        """Subscribe ``tokens`` in ``mode`` (sent now if connected, else on connect)."""
        for token in tokens:
            self.modes[token] = mode
        self._queue({"a": "subscribe", "v": tokens}, {"a": "mode", "v": [mode, tokens]})

    def set_mode(self, tokens: list[int], mode: str) -> None:
        """Change the mode of already subscribed ``tokens``."""
        for token in tokens:
            self.modes[token] = mode
        self._queue({"a": "mode", "v": [mode, tokens]})

    def remove(self, tokens: list[int]) -> None:
        """Unsubscribe ``tokens``."""
        for token in tokens:
            self.modes.pop(token, None)
        self._queue({"a": "unsubscribe", "v": tokens})

    def _queue(self, *messages: dict) -> None:
        if self._ws is not None:
            self._outbox.extend(json.dumps(m) for m in messages)
        self._changed.set()

    def _full_state(self) -> list[str]:
        by_mode: dict[str, list[int]] = {}
        for token, mode in self.modes.items():
            by_mode.setdefault(mode, []).append(token)
        messages = [json.dumps({"a": "subscribe", "v": list(self.modes)})] if self.modes else []
        messages += [json.dumps({"a": "mode", "v": [m, t]}) for m, t in by_mode.items()]
        return messages

    # -- the loop -------------------------------------------------------------------------------

    def _url(self, token: str) -> str:
        sep = "&" if "?" in self._ws_url else "?"
        return f"{self._ws_url}{sep}api_key={quote(self._api_key)}&access_token={quote(token)}"

    async def run(self) -> None:
        """Connect, serve, reconnect with backoff; forever, until cancelled."""
        while True:
            if not self.wanted:
                self.state = ShardState.IDLE
                self._changed.clear()
                await self._changed.wait()
                continue
            token = await self._hooks.acquire_token(self)
            self.attempts += 1
            self.state = ShardState.RECONNECTING if self.connects else ShardState.CONNECTING
            try:
                ws = await connect(
                    self._url(token),
                    open_timeout=self._connect_timeout_s,
                    close_timeout=1.0,
                    max_size=MAX_MESSAGE_BYTES,
                    max_queue=64,
                    compression=None,
                    logger=_WS_LOG,
                )
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in AUTH_STATUSES:
                    self.last_error = f"ticker refused the access token (HTTP {status})"
                    self.state = ShardState.LOGIN_REQUIRED
                    self._hooks.token_rejected(token, self.last_error)
                    continue
                self.last_error = f"ticker refused the connection (HTTP {status})"
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                self.last_error = _scrub(f"cannot connect: {type(exc).__name__}: {exc}", token)
            else:
                self.last_error = _scrub(await self._serve(ws), token)
            if not self.wanted:
                continue
            self.state = ShardState.RECONNECTING
            delay = self._backoff.next()
            log.warning(
                "kite ticker disconnected",
                shard=self.index,
                reason=self.last_error,
                retry_in_s=round(delay, 2),
            )
            await self._clock.sleep(delay)

    async def _serve(self, ws: ClientConnection) -> str:
        self.connects += 1
        self._ws = ws
        self._outbox.clear()
        self._last_rx = self._clock.monotonic()
        tasks = [
            asyncio.create_task(self._read(ws)),
            asyncio.create_task(self._write(ws, self._full_state())),
            asyncio.create_task(self._watch()),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = done.pop()
            exc = finished.exception()
            return f"{type(exc).__name__}: {exc}" if exc else finished.result()
        finally:
            self._ws = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await ws.close()

    async def _read(self, ws: ClientConnection) -> str:
        on_message = self._hooks.on_message
        first = True
        try:
            async for message in ws:
                self._last_rx = self._clock.monotonic()
                if first:
                    first = False
                    self.state = ShardState.LIVE
                    self._backoff.reset()  # only a connection that delivers proves healthy
                on_message(message)
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            return f"connection lost (code {code})"
        code = ws.close_code if ws.close_code is not None else 1000
        return f"closed by the server (code {code})"

    async def _write(self, ws: ClientConnection, initial: list[str]) -> str:
        for message in initial:
            await ws.send(message)
        self.state = ShardState.LIVE
        while True:
            while self._outbox:
                await ws.send(self._outbox.pop(0))
            if not self.wanted:
                return "no subscriptions left"
            self._changed.clear()
            await self._changed.wait()

    async def _watch(self) -> str:
        step = min(self._timeout_s / 4, 1.0)
        while True:
            await self._clock.sleep(step)
            silent = self._clock.monotonic() - self._last_rx
            if silent >= self._timeout_s:
                return f"no heartbeat for {silent:.1f}s"


def _scrub(text: str, token: str) -> str:
    return text.replace(token, "***") if token else text
