"""``TickWriter``: the engine enqueues ticks, a thread of its own stores them in batches.

The engine's hot path only appends to a bounded deque (O(1), no lock, never blocks); when
the deque is full the tick is dropped and counted. A batch that carries every field as
arrays (the mock market's) is queued and encoded as those arrays, with no tick read. The writer thread takes a batch when
``batch_size`` ticks wait or the oldest has waited ``batch_max_age_ms``, encodes it as one
columnar Native block and inserts it with a dedup token unique to the batch, so a retry
after a lost acknowledgement cannot store it twice. Transient errors are retried with
backoff; a batch that still fails is counted in ``failed`` and the writer goes on.

Age is read from the injected clock, sampled by the writer thread when it first sees a
non-empty queue (so the hot path never reads the clock). Under a frozen test clock only
size, :meth:`TickWriter.flush` and :meth:`TickWriter.close` trigger writes.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

import msgspec
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from engine.clock import Clock
from engine.model import Tick
from engine.quality.columns import ColumnarTicks
from engine.storage.native import FieldArrays, encode_batch, field_rows
from engine.storage.schema import COLUMN_NAMES
from engine.storage.settings import StorageSettings

log = logging.getLogger(__name__)

# ClickHouse error codes worth retrying: timeouts, network, memory, too many parts,
# read-only table (replica catching up), unknown insert status, keeper hiccups.
TRANSIENT_CODES = frozenset({3, 159, 160, 202, 209, 210, 241, 242, 252, 319, 425, 999})
MAX_BACKOFF_S = 10.0
_POLL_S = 0.05


class Inserter(Protocol):
    """The part of a clickhouse-connect client the writer uses."""

    def raw_insert(
        self,
        table: str | None = None,
        column_names: Sequence[str] | None = None,
        insert_block: bytes | None = None,
        settings: dict | None = None,
        fmt: str | None = None,
    ) -> object: ...


class WriterStats(msgspec.Struct, frozen=True):
    """A snapshot of the writer's counters (ticks unless stated)."""

    enqueued: int
    """Accepted into the queue."""
    written: int
    """Stored (acknowledged by ClickHouse)."""
    dropped: int
    """Refused because the queue was full or the writer closed."""
    failed: int
    """Taken from the queue but not stored (insert failed after retries)."""
    batches: int
    """Batches stored."""
    retries: int
    """Insert attempts retried after a transient error."""
    pending: int
    """Waiting in the queue now."""
    last_batch_rows: int
    """Size of the last stored batch."""
    last_batch_latency_s: float
    """From taking the last stored batch off the queue to its insert acknowledged."""
    lag_s: float
    """How long the oldest waiting tick has been waiting (0 when the queue is empty)."""
    last_error: str | None
    """One line describing the last insert error, if any."""


def is_transient(exc: BaseException) -> bool:
    """Whether an insert error is worth retrying with the same batch."""
    if isinstance(exc, OperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(exc, DatabaseError) and getattr(exc, "code", None) in TRANSIENT_CODES


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class TickWriter:
    """Batches ticks into the ``ticks`` table from a thread of its own.

    Call :meth:`enqueue`/:meth:`enqueue_many` (or register :meth:`hot_path` on the bus)
    from one thread, the engine loop. :meth:`start` once; :meth:`close` at shutdown.
    ``on_batch_stored`` is called on the insert thread with the number of batches stored
    so far, after each batch is acknowledged.
    """

    def __init__(
        self,
        client: Inserter,
        settings: StorageSettings,
        clock: Clock,
        *,
        table: str = "ticks",
        name: str = "tick-writer",
        on_batch_stored: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._table = table
        self._name = name
        self._on_batch_stored = on_batch_stored
        self._batch_size = settings.batch_size
        self._max_age_s = settings.batch_max_age_ms / 1000
        self._capacity = settings.queue_capacity
        self._retries_allowed = settings.insert_retries
        self._backoff_s = settings.retry_backoff_ms / 1000
        # Tokens must differ across writers and restarts, and repeat only on a retry.
        self._token_prefix = uuid.uuid4().hex[:16]
        self._seq = 0

        # What was enqueued, a piece per call: ticks, or a batch's field arrays when the
        # producer built it from arrays (encoding those is numpy's copy, not a Python call
        # per value). Pieces keep the writer thread's work per call, not per tick.
        self._queue: deque[Sequence[Tick] | FieldArrays] = deque()
        self._wake = threading.Event()
        self._progress = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._stopping = False
        self._force_until = 0
        self._pending_since: float | None = None
        self._inserter = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-insert")
        self._inflight: Future[None] | None = None

        self._enqueued = 0
        self._taken = 0
        """Rows taken off the queue by the writer thread (``_enqueued`` is the engine's)."""
        self._dropped = 0
        self._written = 0
        self._failed = 0
        self._batches = 0
        self._retries = 0
        self._last_rows = 0
        self._last_latency = 0.0
        self._last_error: str | None = None

    # ---- hot path -------------------------------------------------------------

    def enqueue(self, tick: Tick) -> bool:
        """Queue one tick; False (and counted as dropped) if the queue is full or closed."""
        if self._closed or self._enqueued - self._taken >= self._capacity:
            self._dropped += 1
            return False
        self._queue.append((tick,))
        self._enqueued += 1
        if self._enqueued - self._taken >= self._batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def enqueue_many(self, ticks: Sequence[Tick]) -> int:
        """Queue a batch; returns how many were accepted (the rest are counted as dropped)."""
        n = len(ticks)
        room = 0 if self._closed else self._capacity - (self._enqueued - self._taken)
        if n > room:
            accepted = max(room, 0)
            self._dropped += n - accepted
            ticks = ticks[:accepted]
            n = accepted
        if not n:
            return 0
        every = ticks.columns.every_field if isinstance(ticks, ColumnarTicks) else None
        if every is not None:
            self._queue.append(every)
        else:
            # A tuple cannot change under the writer thread; a caller's list might.
            self._queue.append(ticks if isinstance(ticks, tuple) else tuple(ticks))
        self._enqueued += n
        if self._enqueued - self._taken >= self._batch_size and not self._wake.is_set():
            self._wake.set()
        return n

    def hot_path(self, ticks: Sequence[Tick]) -> Sequence[Tick]:
        """A bus hot-path stage (``bus.add_hot_path``): enqueue and pass the batch on."""
        self.enqueue_many(ticks)
        return ticks

    # ---- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        """Start the writer thread."""
        if self._thread is not None:
            raise RuntimeError("TickWriter already started")
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the writer thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def flush(self, timeout: float | None = None) -> bool:
        """Write everything enqueued before this call; True once it is stored or failed.

        Blocking: from async code call it through ``asyncio.to_thread``.
        """
        target = self._enqueued
        if not self.running:
            self._drain(force=True)
            return self._settled(target)
        with self._progress:
            self._force_until = max(self._force_until, target)
        self._wake.set()
        with self._progress:
            return self._progress.wait_for(lambda: self._settled(target), timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Refuse new ticks, write every queued one, stop the thread. True if all settled."""
        self._closed = True
        target = self._enqueued
        thread = self._thread
        if thread is None or not thread.is_alive():
            self._drain(force=True)
            self._inserter.shutdown(wait=False)
            return self._settled(target)
        self._stopping = True
        self._wake.set()
        thread.join(timeout)
        self._inserter.shutdown(wait=False)
        return not thread.is_alive() and self._settled(target)

    def stats(self) -> WriterStats:
        """Current counters."""
        since = self._pending_since
        pending = max(self._enqueued - self._taken, 0)
        lag = self._clock.monotonic() - since if pending and since is not None else 0.0
        return WriterStats(
            enqueued=self._enqueued,
            written=self._written,
            dropped=self._dropped,
            failed=self._failed,
            batches=self._batches,
            retries=self._retries,
            pending=pending,
            last_batch_rows=self._last_rows,
            last_batch_latency_s=self._last_latency,
            lag_s=max(lag, 0.0),
            last_error=self._last_error,
        )

    # ---- writer thread ---------------------------------------------------------

    def _settled(self, target: int) -> bool:
        return self._written + self._failed >= target

    def _run(self) -> None:
        poll = min(self._max_age_s / 2, _POLL_S)
        while True:
            self._wake.wait(poll)
            self._wake.clear()
            stopping = self._stopping
            try:
                self._drain(force=stopping or not self._settled(self._force_until))
            except Exception as exc:  # never let the thread die with ticks queued
                self._last_error = _one_line(exc)
                log.exception("tick writer loop error")
            if stopping and not self._queue:
                self._wait_inflight()
                return

    def _drain(self, force: bool) -> None:
        queue = self._queue
        size = self._batch_size
        while queue:
            now = self._clock.monotonic()
            if self._pending_since is None:
                self._pending_since = now
            waiting = self._enqueued - self._taken
            if not (force or waiting >= size or now - self._pending_since >= self._max_age_s):
                return
            batch: list[Sequence[Tick] | FieldArrays] = []
            ticks: list[Tick] = []
            rows = 0
            popleft = queue.popleft
            while queue and rows < size:
                piece = popleft()
                # Batches keep their size: the rest of a piece that would overflow one
                # opens the next.
                if isinstance(piece, Mapping):
                    n = field_rows(piece)
                    if rows + n > size:
                        n = size - rows
                        queue.appendleft({k: v[n:] for k, v in piece.items()})
                        piece = {k: v[:n] for k, v in piece.items()}
                    if ticks:
                        batch.append(ticks)
                        ticks = []
                    batch.append(piece)
                else:
                    n = len(piece)
                    if rows + n > size:
                        n = size - rows
                        queue.appendleft(piece[n:])
                        piece = piece[:n]
                    ticks.extend(piece)
                rows += n
            if ticks:
                batch.append(ticks)
            self._taken += rows
            self._pending_since = now if queue else None
            self._write(batch, rows)
        self._pending_since = None
        if force:
            self._wait_inflight()

    def _write(self, batch: list[Sequence[Tick] | FieldArrays], rows: int) -> None:
        token = f"{self._token_prefix}-{self._seq}"
        self._seq += 1
        started = self._clock.monotonic()
        try:
            block = encode_batch(batch)
        except Exception as exc:
            self._lost(rows, exc)
            return
        # Encoding holds the GIL, inserting does not: encode the next batch while the
        # previous one is being inserted, with at most one insert in flight.
        self._wait_inflight()
        self._inflight = self._inserter.submit(self._insert, block, rows, token, started)

    def _wait_inflight(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.result()

    def _insert(self, block: bytes, rows: int, token: str, started: float) -> None:
        attempt = 0
        while True:
            try:
                self._client.raw_insert(
                    self._table,
                    COLUMN_NAMES,
                    block,
                    settings={
                        "insert_deduplication_token": token,
                        "deduplicate_blocks_in_dependent_materialized_views": 1,
                    },
                    fmt="Native",
                )
                break
            except Exception as exc:
                self._last_error = _one_line(exc)
                if attempt >= self._retries_allowed or not is_transient(exc):
                    self._lost(rows, exc)
                    return
                attempt += 1
                self._retries += 1
                delay = min(self._backoff_s * 2 ** (attempt - 1), MAX_BACKOFF_S)
                log.warning("tick insert retry %d in %.2fs: %s", attempt, delay, exc)
                threading.Event().wait(delay)
        with self._progress:
            self._written += rows
            self._batches += 1
            self._last_rows = rows
            self._last_latency = self._clock.monotonic() - started
            batches = self._batches
        if self._on_batch_stored is not None:
            try:
                self._on_batch_stored(batches)
            except Exception:  # the batch is stored; a failing observer must not lose the next
                log.exception("tick writer: on_batch_stored failed")
        with self._progress:
            self._progress.notify_all()

    def _lost(self, rows: int, exc: BaseException) -> None:
        self._last_error = _one_line(exc)
        log.error("tick batch of %d lost: %s", rows, self._last_error)
        with self._progress:
            self._failed += rows
            self._progress.notify_all()
