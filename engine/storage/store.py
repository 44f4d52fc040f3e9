"""Open the tick store: one code path for embedded chDB and a ClickHouse server.

clickhouse-connect (1.12+) selects an in-process chDB engine from a ``chdb:///<dir>`` DSN
and returns the same ``Client`` class surface as for ``http://host:8123``, so everything
here and above (DDL, writer, queries) runs unchanged on both; no adapter is needed.

chDB hosts one engine per process and nothing stops a second process from opening the
same directory, which would corrupt it. :meth:`TickStore.open` therefore takes an
exclusive ``fcntl.flock`` on a lock file inside the directory and raises
:class:`TickStoreLocked` if another process holds it. A read-only open (replay) takes the
same lock: a chDB engine runs background merges and TTL even with ``mode=ro``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from engine.clock import Clock
from engine.storage.ddl import apply_ddl
from engine.storage.errors import TickStoreError, TickStoreLocked
from engine.storage.queries import TickQueries
from engine.storage.settings import StorageSettings, chdb_path, is_chdb, redact_dsn
from engine.storage.trim import release_clean_pages
from engine.storage.writer import TickWriter

LOCK_FILE = ".alphapt-tickstore.lock"


def _first_line(exc: BaseException) -> str:
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()[:300]
    return type(exc).__name__


def _lock_directory(path: Path) -> IO[str]:
    try:
        path.mkdir(parents=True, exist_ok=True)
        handle = open(path / LOCK_FILE, "a+")  # noqa: SIM115 (held until close)
    except OSError as exc:
        raise TickStoreError(
            f"tick store directory {path} is not usable: {exc.strerror or exc}"
        ) from None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        owner = handle.read().strip() or "unknown"
        handle.close()
        where = "this process" if owner == str(os.getpid()) else f"another process (pid {owner})"
        raise TickStoreLocked(
            f"tick store {path} is already open in {where}; chDB allows one process per directory"
        ) from None
    except OSError as exc:
        handle.close()
        raise TickStoreError(f"cannot lock tick store {path}: {exc.strerror or exc}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    if not os.access(path, os.W_OK):
        _unlock(handle)
        raise TickStoreError(f"tick store directory {path} is not writable")
    return handle


def _unlock(handle: IO[str]) -> None:
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


@contextlib.contextmanager
def _without_pyarrow() -> Iterator[None]:
    """Keep chDB from importing pyarrow while it connects.

    chDB imports pyarrow when present, only for its Arrow APIs; clickhouse-connect talks
    to it in Native format. That import is 34 MB of the desk's RSS for nothing. chDB
    supports pyarrow being absent; later imports of pyarrow elsewhere work as usual.
    """
    if "pyarrow" in sys.modules:
        yield
        return
    sys.modules["pyarrow"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        yield
    finally:
        if sys.modules.get("pyarrow", 0) is None:
            del sys.modules["pyarrow"]


WARM_UP_BATCHES = 6
"""Stored batches after which chDB's one-time start-up pages are dropped a second time."""


class TickStore:
    """An open tick store. Hands out clients, the :class:`TickWriter` and :class:`TickQueries`.

    Use :meth:`open`; :meth:`close` closes every client it handed out and drops the lock.
    """

    def __init__(self, dsn: str, settings: StorageSettings, lock: IO[str] | None, read_only: bool):
        self._dsn = dsn
        self.settings = settings
        self.read_only = read_only
        self._lock = lock
        # Weak: stream clients closed by their readers must not pile up here.
        self._clients: weakref.WeakSet[Client] = weakref.WeakSet()
        self._writer: TickWriter | None = None
        self._closed = False
        self.released_bytes = 0
        """Resident bytes of chDB's library given back after start-up (see ``engine.storage.trim``)."""

    @classmethod
    def open(
        cls, settings: StorageSettings, data_dir: Path | str, *, read_only: bool = False
    ) -> TickStore:
        """Connect, lock (chDB) and create the schema (unless ``read_only``).

        Raises :class:`TickStoreLocked` if another process holds a chDB directory, and
        :class:`TickStoreError` (one line) for any other reason the store cannot open.
        """
        dsn = settings.resolved_dsn(Path(data_dir))
        lock = None
        if is_chdb(dsn):
            try:
                path = chdb_path(dsn)
            except ValueError as exc:
                raise TickStoreError(str(exc)) from None
            lock = _lock_directory(path)
        store = cls(dsn, settings, lock, read_only)
        try:
            client = store.client()
            if not read_only:
                apply_ddl(client, settings.retention_days)
            if store.embedded and settings.release_library_pages:
                store.released_bytes = release_clean_pages("_chdb")
        except TickStoreError:
            store.close()
            raise
        except Exception as exc:
            store.close()
            raise TickStoreError(
                f"tick store {store.where} failed to set up: {_first_line(exc)}"
            ) from None
        return store

    @property
    def where(self) -> str:
        """The DSN with any password hidden, for logs and messages."""
        return redact_dsn(self._dsn)

    @property
    def embedded(self) -> bool:
        """Whether this store runs chDB in-process."""
        return is_chdb(self._dsn)

    def client(self) -> Client:
        """A new clickhouse-connect client on the store (its own connection or chDB handle)."""
        if self._closed:
            raise TickStoreError(f"tick store {self.where} is closed")
        kwargs: dict[str, Any] = {}
        if self.embedded:
            if self.read_only:
                kwargs["chdb_options"] = {"mode": "ro"}
        else:
            # Sessions serialize queries; the writer and readers run concurrently.
            kwargs["autogenerate_session_id"] = False
        try:
            with _without_pyarrow() if self.embedded else contextlib.nullcontext():
                client = clickhouse_connect.get_client(dsn=self._dsn, **kwargs)
        except Exception as exc:
            raise TickStoreError(self._describe_open_error(exc)) from None
        self._clients.add(client)
        return client

    def _describe_open_error(self, exc: BaseException) -> str:
        text = str(exc)
        if "already initialized with path" in text:
            return (
                f"cannot open tick store {self.where}: chDB already hosts another directory "
                "in this process"
            )
        if self.embedded:
            return (
                f"cannot open tick store {self.where} (corrupt data directory?): {_first_line(exc)}"
            )
        return f"cannot reach ClickHouse at {self.where}: {_first_line(exc)}"

    def writer(self, clock: Clock) -> TickWriter:
        """The store's :class:`TickWriter` (created on first call, not started)."""
        if self.read_only:
            raise TickStoreError(f"tick store {self.where} is open read-only")
        if self._writer is None:
            after = None
            if self.embedded and self.settings.release_library_pages:
                after = self._release_after_warm_up
            self._writer = TickWriter(self.client(), self.settings, clock, on_batch_stored=after)
        return self._writer

    def _release_after_warm_up(self, batches: int) -> None:
        # ClickHouse initialises its insert pipeline on the first insert and its merge
        # machinery on the first merge (after five parts): ~35 MB of library code that its
        # steady inserts and merges never run again. The first merge starts as the fifth part
        # lands, and merging five small parts takes milliseconds: the sixth batch comes after.
        if batches == WARM_UP_BATCHES:
            self.released_bytes += release_clean_pages("_chdb")

    def queries(self) -> TickQueries:
        """Async queries over the store, on a client of their own."""
        return TickQueries(self.client(), self.client, query_threads=self.settings.query_threads)

    def close(self, timeout: float | None = None) -> None:
        """Close the writer (flushing it), every client, and release the directory lock."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._writer is not None:
                self._writer.close(timeout)
        finally:
            for client in list(self._clients):
                # Closing is best effort; the lock must still go.
                with contextlib.suppress(Exception):
                    client.close()
            self._clients.clear()
            if self._lock is not None:
                _unlock(self._lock)
                self._lock = None

    def __enter__(self) -> TickStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
