"""Running one synchronous SQLAlchemy Core function per ledger operation, awaited once.

Each ledger operation (a write batch, a read, a ping) is written once as a plain
function of a sync :class:`~sqlalchemy.engine.Connection`. How it reaches the
database depends on the back-end:

- SQLite: a sync ``sqlite+pysqlite`` engine used only from one dedicated worker
  thread. The whole operation (checkout, BEGIN, every statement, COMMIT, return to
  the pool) runs there, so the event loop waits for one thread hop instead of one
  per DBAPI call (aiosqlite made ~15 of them, ~180 µs each on the desk's machines).
  Operations run one at a time in the order they were handed in.
- SQLite, a replay's throwaway ledger (``sqlite_on_loop``): the same sync engine,
  called on the event loop's own thread. Each operation blocks the loop for its
  duration (~0.1 ms without an fsync), which simulated time does not notice; a
  thread hop instead waits for the GIL, which the replay's store reader holds for up
  to a switch interval (5 ms) at a time, twice per operation.
- PostgreSQL: asyncpg's :class:`~sqlalchemy.ext.asyncio.AsyncEngine`, and the same
  function through :meth:`AsyncConnection.run_sync` (SQLAlchemy's greenlet adapter):
  the network round trips stay on the event loop, as before.

A runner passes SQLAlchemy and driver errors through untouched; the ledger
translates them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

T = TypeVar("T")

Work = Callable[[Connection], T]
"""One ledger operation: a function of a sync connection."""

WORKER_THREAD_PREFIX = "ledger-sqlite"
"""Name prefix of the SQLite worker thread (seen in thread dumps and by the tests)."""


class Runner(Protocol):
    """Runs ledger operations on one database."""

    async def run(self, work: Work[T], *, begin: bool = False) -> T:
        """Run ``work`` on a pooled connection, inside one transaction if ``begin``.

        Without ``begin`` the connection's implicit transaction is rolled back when it
        goes back to the pool, unless ``work`` commits it.
        """
        ...

    async def close(self) -> None:
        """Release every connection (and thread); later :meth:`run` calls fail."""
        ...


def _call(engine: Engine, work: Work[T], begin: bool) -> T:
    with engine.connect() as conn:
        if begin:
            with conn.begin():
                return work(conn)
        return work(conn)


class ThreadRunner:
    """A sync engine used only from one worker thread, one operation at a time.

    sqlite3 connections belong to the thread that opened them, and SQLite takes one
    writer at a time anyway: a single thread keeps both true without a lock.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=WORKER_THREAD_PREFIX)
        self._closed = False

    async def run(self, work: Work[T], *, begin: bool = False) -> T:
        loop = asyncio.get_running_loop()
        # A caller cancelled before the worker picks the operation up cancels it; one
        # cancelled while it runs leaves it to finish (and commit), as a cancelled COMMIT
        # round trip always could.
        return await loop.run_in_executor(self._worker, _call, self._engine, work, begin)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            # Queued behind every operation already handed in, which therefore finish first;
            # connections are closed by the thread that opened them.
            await loop.run_in_executor(self._worker, self._engine.dispose)
        finally:
            # The worker is idle now: joining it takes as long as its wake-up.
            self._worker.shutdown(wait=True)


class LoopRunner:
    """A sync engine used from the event loop's thread: each operation blocks the loop.

    Only for a ledger nobody waits on in real time (a replay's); operations run one at
    a time, in the order they are awaited.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._closed = False

    async def run(self, work: Work[T], *, begin: bool = False) -> T:
        if self._closed:
            raise RuntimeError("the ledger is closed")
        return _call(self._engine, work, begin)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._engine.dispose()


class AsyncRunner:
    """An async engine (asyncpg); each operation through ``run_sync`` on the event loop."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def run(self, work: Work[T], *, begin: bool = False) -> T:
        async with self._engine.connect() as conn:
            if begin:
                async with conn.begin():
                    return await conn.run_sync(work)
            return await conn.run_sync(work)

    async def close(self) -> None:
        await self._engine.dispose()
