"""Redis as the shared hot-state cache: last tick per instrument, instruments, positions.

Written from the engine at a bounded rate, never per tick: every ``flush_ms`` the
writer sends, in one pipeline, the instruments whose latest tick changed since the
last flush and the positions if trading moved. When Redis goes away the desk keeps
running on its in-process state; the writer backs off, reports ``state = "down"``,
and after the server is back rewrites everything (a restarted Redis may be empty).

Keys (``p`` = ``redis.key_prefix``): ``p:tick:NSE:RELIANCE`` (JSON tick),
``p:instruments`` (hash of key → JSON instrument), ``p:positions`` (JSON list).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress

import msgspec
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from engine.cache import MarketCache
from engine.clock import Clock
from engine.component import Component
from engine.distributed.connection import backoff
from engine.distributed.settings import RedisSettings
from engine.model import Instrument, Tick
from engine.trading.views import PositionView

log = structlog.get_logger("engine.distributed")

_json = msgspec.json.Encoder()


class RedisState:
    """What ``RedisCacheWriter.state`` can be."""

    CONNECTING = "connecting"
    UP = "up"
    DOWN = "down"
    STOPPED = "stopped"


class RedisCacheWriter(Component):
    """Mirrors the market cache and positions into Redis at a bounded rate."""

    name = "redis"

    def __init__(
        self,
        settings: RedisSettings,
        clock: Clock,
        cache: MarketCache,
        positions: Callable[[], Sequence[PositionView]] | None = None,
        trading_version: Callable[[], int] | None = None,
    ) -> None:
        if settings.url is None:
            raise ValueError("redis.url is not set")
        self.settings = settings
        self.clock = clock
        self.cache = cache
        self.positions = positions
        self.trading_version = trading_version
        self.state = RedisState.CONNECTING
        self.flushes = 0
        self.ticks_written = 0
        self.failures = 0
        self.outages = 0
        """Times Redis went from up to unreachable."""
        self.last_error = ""
        self.client = aioredis.from_url(
            settings.url,
            socket_timeout=settings.op_timeout_s,
            socket_connect_timeout=settings.op_timeout_s,
        )
        self._written: dict[int, Tick] = {}
        self._positions_version = -1
        self._need_full = True

    def key(self, *parts: str) -> str:
        """``alphapt:tick:NSE:RELIANCE`` from ``("tick", "NSE:RELIANCE")``."""
        return ":".join((self.settings.key_prefix, *parts))

    async def run(self) -> None:
        failures = 0
        interval = self.settings.flush_ms / 1000.0
        while True:
            if await self.flush():
                failures = 0
                await self.clock.sleep(interval)
            else:
                failures += 1
                s = self.settings
                await self.clock.sleep(
                    backoff(failures, s.reconnect_wait_s, s.reconnect_max_wait_s)
                )

    async def flush(self) -> bool:
        """Write what changed in one pipeline; ``False`` (and state ``down``) if Redis failed."""
        full = self._need_full
        changed = [
            (token, tick)
            for token, tick in self.cache.last.items()
            if full or self._written.get(token) is not tick
        ]
        version = self.trading_version() if self.trading_version is not None else 0
        positions_due = self.positions is not None and (full or version != self._positions_version)
        s = self.settings
        pipe = self.client.pipeline(transaction=False)
        if full:
            pipe.delete(self.key("instruments"))
            mapping = {i.key: _json.encode(i) for i in self.cache.instruments.values()}
            if mapping:
                pipe.hset(self.key("instruments"), mapping=mapping)
                pipe.expire(self.key("instruments"), s.instruments_ttl_s)
        for token, tick in changed:
            instrument = self.cache.instruments.get(token)
            name = instrument.key if instrument is not None else str(token)
            pipe.set(self.key("tick", name), _json.encode(tick), ex=s.tick_ttl_s)
        if positions_due:
            assert self.positions is not None
            pipe.set(self.key("positions"), _json.encode(self.positions()), ex=s.positions_ttl_s)
        if not len(pipe):
            return True
        try:
            await pipe.execute()
        except (RedisError, OSError, TimeoutError) as exc:
            self._failed(exc)
            return False
        if self.state != RedisState.UP:
            log.info("redis cache up")
        self.state = RedisState.UP
        self._need_full = False
        self._written.update(changed)
        self._positions_version = version
        self.ticks_written += len(changed)
        self.flushes += 1
        return True

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = type(exc).__name__
        if self.state == RedisState.UP:
            self.outages += 1
            log.warning("redis cache down; running on in-process state", error=self.last_error)
        self.state = RedisState.DOWN
        # A restarted Redis may have lost everything: write it all again once it is back.
        self._need_full = True

    async def stop(self) -> None:
        with suppress(Exception):
            await self.flush()
        self.state = RedisState.STOPPED
        with suppress(Exception):
            await self.client.aclose()


async def read_last_tick(client: aioredis.Redis, prefix: str, key: str) -> Tick | None:
    """The last tick Redis holds for ``NSE:RELIANCE``, or ``None``."""
    raw = await client.get(f"{prefix}:tick:{key}")
    return None if raw is None else msgspec.json.decode(raw, type=Tick)


async def read_instruments(client: aioredis.Redis, prefix: str) -> list[Instrument]:
    """The instrument registry Redis holds (empty if none)."""
    raw = await client.hgetall(f"{prefix}:instruments")
    return [msgspec.json.decode(value, type=Instrument) for value in raw.values()]


async def read_positions(client: aioredis.Redis, prefix: str) -> list[PositionView]:
    """The positions snapshot Redis holds (empty if none)."""
    raw = await client.get(f"{prefix}:positions")
    return [] if raw is None else msgspec.json.decode(raw, type=list[PositionView])
