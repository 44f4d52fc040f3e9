"""Does a server answer at this URL? Quick, bounded checks for PostgreSQL, Redis and NATS.

Every probe returns False on any failure: refused, timed out, wrong protocol, starting
up, or lacking what the tests need. None of them retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import asyncpg
import nats
import redis
from sqlalchemy.engine import make_url

PROBE_TIMEOUT = 2.0
T = TypeVar("T")


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion from sync code, even from inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(make))
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(_awaited(make))).result()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def asyncpg_dsn(url: str) -> str:
    """The asyncpg form of a ``postgresql+asyncpg://`` SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redacted(url: str) -> str:
    """``url`` with any password masked, fit for a message."""
    return make_url(url).render_as_string(hide_password=True)


def postgres_answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True if PostgreSQL accepts ``url`` and its role may create databases."""

    async def probe() -> bool:
        conn = await asyncpg.connect(asyncpg_dsn(url), timeout=timeout)
        try:
            sql = "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            return bool(await conn.fetchval(sql))
        finally:
            await conn.close()

    try:
        return run_async(lambda: asyncio.wait_for(probe(), timeout * 2))
    except Exception:
        return False


def redis_answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True if Redis at ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


def nats_answers(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """True if NATS at ``url`` accepts a connection and JetStream reports the account."""

    async def quiet(_error: Exception) -> None:
        pass

    async def probe() -> bool:
        # max_reconnect_attempts=0 means "retry forever" to nats-py, even on first connect.
        nc = await nats.connect(
            url,
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0,
            error_cb=quiet,
        )
        try:
            await nc.jetstream(timeout=timeout).account_info()
            return True
        finally:
            await nc.close()

    try:
        return run_async(lambda: asyncio.wait_for(probe(), timeout * 2))
    except Exception:
        return False
