"""One NATS connection per process, shared by the bridge, the feed and the RPC server.

Reconnects never stop and back off exponentially (with jitter) up to a ceiling. A
server that is down at start does not stop the engine: :meth:`NatsConnection.run`
keeps trying while the rest of the desk runs on in-process state, and ``state`` tells
the header and the health screen where things stand.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext

from engine.component import Component
from engine.distributed.settings import NatsSettings

log = structlog.get_logger("engine.distributed")

Listener = Callable[[], Awaitable[None]]


class ConnState:
    """What ``NatsConnection.state`` can be."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


def backoff(attempt: int, first_s: float, max_s: float) -> float:
    """Wait before attempt ``attempt`` (1-based): doubling from ``first_s``, capped, ±20 % jitter."""
    base = min(max_s, first_s * (2 ** max(0, attempt - 1)))
    return base * random.uniform(0.8, 1.2)


class NatsConnection(Component):
    """Connects, reconnects forever, and tells listeners when a (re)connection is up."""

    name = "nats"

    def __init__(self, settings: NatsSettings, client_name: str = "alphapt") -> None:
        if settings.url is None:
            raise ValueError("nats.url is not set")
        self.settings = settings
        self.client_name = client_name
        self.state = ConnState.CONNECTING
        self.reconnects = 0
        self.disconnects = 0
        self.last_error = ""
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._listeners: list[Listener] = []
        self._up: asyncio.Event | None = None
        self._stopped = False

    @property
    def connected(self) -> bool:
        """Whether the connection is up right now."""
        return self.nc is not None and self.nc.is_connected

    def on_connected(self, listener: Listener) -> None:
        """Call ``listener`` after the first connection and after every reconnection."""
        self._listeners.append(listener)

    async def wait_connected(self) -> None:
        """Return once the connection is up (at once if it is)."""
        await self._event().wait()

    def _event(self) -> asyncio.Event:
        if self._up is None:
            self._up = asyncio.Event()
        return self._up

    async def start(self) -> None:
        """Try once, briefly; a server that is down leaves the retrying to :meth:`run`."""
        with suppress(Exception):
            await self._connect_once()

    async def run(self) -> None:
        attempt = 0
        while self.nc is None and not self._stopped:
            attempt += 1
            await asyncio.sleep(
                backoff(attempt, self.settings.reconnect_wait_s, self.settings.reconnect_max_wait_s)
            )
            with suppress(Exception):
                await self._connect_once()

    async def _connect_once(self) -> None:
        nc = Client()
        try:
            await asyncio.wait_for(nc.connect(**self._options()), self.settings.connect_timeout_s)
        except BaseException as exc:
            self.last_error = type(exc).__name__
            with suppress(Exception):
                await nc.close()
            raise
        self.nc = nc
        self.js = nc.jetstream(publish_async_max_pending=self.settings.max_pending_acks)
        self.state = ConnState.CONNECTED
        log.info("nats connected", server=self._server())
        await self._announce()

    def _options(self) -> dict[str, Any]:
        s = self.settings
        return {
            "servers": [s.url],
            "name": self.client_name,
            "allow_reconnect": True,
            "max_reconnect_attempts": -1,
            "reconnect_time_wait": s.reconnect_wait_s,
            "connect_timeout": s.connect_timeout_s,
            "reconnect_to_server_handler": self._pick_server,
            "disconnected_cb": self._on_disconnected,
            "reconnected_cb": self._on_reconnected,
            "error_cb": self._on_error,
            "closed_cb": self._on_closed,
        }

    def _pick_server(self, servers: list[Any], _info: dict[str, Any]) -> tuple[Any, float]:
        attempt = servers[0].reconnects + 1 if servers else 1
        wait = backoff(attempt, self.settings.reconnect_wait_s, self.settings.reconnect_max_wait_s)
        return (servers[0] if servers else None), wait

    def _server(self) -> str:
        url = self.nc.connected_url if self.nc is not None else None
        return f"{url.hostname}:{url.port}" if url is not None else "?"

    async def _announce(self) -> None:
        self._event().set()
        for listener in self._listeners:
            try:
                await listener()
            except Exception:
                log.exception("nats connect listener failed")

    async def _on_disconnected(self) -> None:
        if self.state != ConnState.CLOSED:
            self.state = ConnState.RECONNECTING
            self.disconnects += 1
            self._event().clear()
            log.warning("nats disconnected", server=self._server())

    async def _on_reconnected(self) -> None:
        self.state = ConnState.CONNECTED
        self.reconnects += 1
        log.info("nats reconnected", server=self._server(), reconnects=self.reconnects)
        # Listeners may issue requests: they must not block the client's reconnect task.
        asyncio.get_running_loop().create_task(self._announce())

    async def _on_error(self, exc: Exception) -> None:
        self.last_error = type(exc).__name__

    async def _on_closed(self) -> None:
        self.state = ConnState.CLOSED

    async def stop(self) -> None:
        self._stopped = True
        nc, self.nc = self.nc, None
        self.state = ConnState.CLOSED
        if nc is not None:
            # Flush what is written, bounded; drain() would wait out pending pulls for 30 s.
            with suppress(Exception):
                await nc.flush(timeout=self.settings.connect_timeout_s)
            with suppress(Exception):
                await nc.close()
