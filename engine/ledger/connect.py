"""Connecting to a ledger URL, and turning driver errors into ledger errors.

Everything that differs between SQLite and PostgreSQL at connection level lives
here: SQLite's sync engine, pragmas and data directory; PostgreSQL's async engine
and timeouts.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy
from sqlalchemy import event, exc, pool
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from engine.ledger.errors import LedgerError, LedgerUnavailable
from engine.ledger.runner import AsyncRunner, LoopRunner, Runner, ThreadRunner
from engine.ledger.urls import async_url, ensure_sqlite_dir, is_sqlite, redact, sync_url

SQLITE_BUSY_TIMEOUT_S = 10.0
"""How long an SQLite write waits for another writer (e.g. ``alphapt-tui migrate``)."""

# SQLSTATE classes meaning "cannot talk to the database": connection exception,
# invalid authorization, invalid catalog (no such database), insufficient
# resources, operator intervention (shutdown, statement timeout), system error.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "3D", "53", "57", "58"})


def open_runner(
    url: str | URL,
    *,
    sqlite_synchronous: str = "FULL",
    sqlite_on_loop: bool = False,
    connect_timeout_s: float = 5.0,
    statement_timeout_s: float = 30.0,
    pooled: bool = True,
) -> Runner:
    """A :class:`~engine.ledger.runner.Runner` on ``url`` with the ledger's connection settings.

    SQLite gets a worker thread over a sync engine (:func:`create_sqlite_engine`), or with
    ``sqlite_on_loop`` the event loop's own thread; PostgreSQL an async engine
    (:func:`create_server_engine`). ``pooled=False`` opens a connection per use
    (migrations, one-off checks).
    """
    if is_sqlite(url):
        sqlite = create_sqlite_engine(url, synchronous=sqlite_synchronous, pooled=pooled)
        return LoopRunner(sqlite) if sqlite_on_loop else ThreadRunner(sqlite)
    engine = create_server_engine(
        url,
        connect_timeout_s=connect_timeout_s,
        statement_timeout_s=statement_timeout_s,
        pooled=pooled,
    )
    return AsyncRunner(engine)


def create_sqlite_engine(
    url: str | URL, *, synchronous: str = "FULL", pooled: bool = True
) -> Engine:
    """A sync (``sqlite+pysqlite``) engine for the SQLite ledger at ``url``; creates its directory.

    Every connection runs in WAL mode with ``PRAGMA synchronous=<synchronous>`` and
    waits up to :data:`SQLITE_BUSY_TIMEOUT_S` for another writer. Use it from one
    thread only (:class:`~engine.ledger.runner.ThreadRunner`).
    """
    if synchronous not in ("NORMAL", "FULL"):
        raise ValueError(f"sqlite_synchronous must be NORMAL or FULL, not {synchronous!r}")
    try:
        ensure_sqlite_dir(url)
    except OSError as error:
        raise LedgerUnavailable(
            f"cannot create the ledger directory for {redact(url)}: {error}"
        ) from error
    kwargs: dict[str, Any] = {} if pooled else {"poolclass": pool.NullPool}
    engine = sqlalchemy.create_engine(
        sync_url(url), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S}, **kwargs
    )
    _install_sqlite_pragmas(engine, synchronous)
    return engine


def create_server_engine(
    url: str | URL,
    *,
    connect_timeout_s: float = 5.0,
    statement_timeout_s: float = 30.0,
    pooled: bool = True,
) -> AsyncEngine:
    """An async (``postgresql+asyncpg``) engine for a server ledger, with its timeouts.

    A pooled engine pings a connection before handing it out, so a server restart
    costs a reconnect rather than a failed write.
    """
    kwargs: dict[str, Any] = {}
    if pooled:
        kwargs["pool_pre_ping"] = True
    else:
        kwargs["poolclass"] = pool.NullPool
    connect_args = {"timeout": connect_timeout_s, "command_timeout": statement_timeout_s}
    return create_async_engine(async_url(url), connect_args=connect_args, **kwargs)


def _install_sqlite_pragmas(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
        finally:
            cursor.close()


def translate_error(error: BaseException, url: str | URL) -> LedgerError:
    """The ledger error for a driver or SQLAlchemy error raised while using ``url``."""
    if isinstance(error, LedgerError):
        return error
    where = redact(url)
    detail = _first_line(error)
    if _is_unavailable(error):
        return LedgerUnavailable(f"ledger database {where} is unavailable: {detail}")
    return LedgerError(f"ledger database {where} refused the operation: {detail}")


def _is_unavailable(error: BaseException) -> bool:
    if isinstance(error, OSError | exc.DisconnectionError | exc.TimeoutError | exc.InterfaceError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    # sqlite3 reports a missing table as OperationalError too; that is a schema
    # problem, not an unreachable database.
    return isinstance(error, exc.OperationalError) and not str(error.orig).startswith("no such")


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error) or type(error).__name__
    return text.strip().splitlines()[0]
