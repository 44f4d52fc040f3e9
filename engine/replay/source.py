"""What a replay plays: the instruments to trade and the stored ticks to read.

Instruments come from the same place the live feed takes them (the mock universe for
``feed.source=mock``, the cached Kite instruments dump for ``kite``), so tokens in the
store map to the same symbols, lot sizes and circuit limits as when they were recorded.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from engine.clock import LiveClock
from engine.model import DEPTH_LEVELS, Instrument, MarketDay, Tick
from engine.quality.columns import ColumnarTicks, TickColumns
from engine.settings import Settings
from engine.storage.errors import TickStoreError
from engine.storage.schema import TICK_COLUMNS
from engine.storage.settings import chdb_path, is_chdb


class ReplayInputError(ValueError):
    """A replay cannot run as asked; the message is one line for the trader."""


class Universe(msgspec.Struct, frozen=True):
    """Instruments and market days the live feed of these settings would have had."""

    instruments: tuple[Instrument, ...]
    market_days: tuple[MarketDay, ...]

    def resolve(self, symbols: Sequence[str]) -> list[Instrument]:
        """``EXCHANGE:SYMBOL`` or a bare symbol (NSE first) → instruments, in order given."""
        by_key = {i.key: i for i in self.instruments}
        by_symbol: dict[str, Instrument] = {}
        for instrument in self.instruments:
            known = by_symbol.get(instrument.tradingsymbol)
            if known is None or (instrument.exchange == "NSE" and known.exchange != "NSE"):
                by_symbol[instrument.tradingsymbol] = instrument
        found: list[Instrument] = []
        for raw in symbols:
            symbol = raw.strip().upper()
            instrument = by_key.get(symbol) or by_symbol.get(symbol)
            if instrument is None:
                raise ReplayInputError(f"unknown symbol: {raw.strip() or '(empty)'}")
            if instrument not in found:
                found.append(instrument)
        return found


def universe_of(settings: Settings) -> Universe:
    """The feed's instruments: the mock universe, or the cached Kite instruments dump."""
    if settings.feed.source == "kite":
        from engine.instruments import InstrumentsService

        registry = InstrumentsService(settings.data_dir, LiveClock(), rest=None).load_cached()
        if registry is None:
            raise ReplayInputError(
                "no Kite instruments dump is cached: run `alphapt-tui login` first"
            )
        return Universe(tuple(registry.all()), ())
    from engine.feeds.mock_market import MockMarket
    from engine.feeds.universe import build_universe

    feed = settings.feed
    market = MockMarket(build_universe(feed.universe_size), feed.scenario, feed.seed)
    if feed.source != "mock":
        # A NATS feed carries the mock universe's instruments but no circuit limits.
        return Universe(tuple(market.instruments), ())
    return Universe(tuple(market.instruments), tuple(market.market_days()))


class StoredWindow(msgspec.Struct, frozen=True):
    """The stored ticks a replay will play: how many, first and last time."""

    ticks: int
    first_ns: int
    last_ns: int


def check_store_exists(settings: Settings) -> None:
    """Refuse an embedded store directory that does not exist (opening it would create it)."""
    dsn = settings.storage.resolved_dsn(Path(settings.data_dir))
    if is_chdb(dsn):
        path = chdb_path(dsn)
        if not path.is_dir():
            raise ReplayInputError(f"no tick store at {path}: nothing has been recorded there")


class StoredTicks:
    """Reads one window of the tick store (opened read-only by the caller)."""

    def __init__(self, store: object, tokens: Sequence[int], from_ns: int, to_ns: int) -> None:
        self._store = store
        self.tokens = list(tokens)
        self.from_ns = from_ns
        self.to_ns = to_ns

    def window(self) -> StoredWindow:
        """Count the ticks in the window (blocking; call in a thread)."""
        sql = (
            "SELECT count(), min(toUnixTimestamp64Nano(ts)), max(toUnixTimestamp64Nano(ts))"
            " FROM ticks WHERE instrument_token IN {tokens:Array(UInt32)}"
            " AND ts >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')"
            " AND ts < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')"
        )
        params = {"tokens": self.tokens, "from_ns": self.from_ns, "to_ns": self.to_ns}
        client = self._store.client()  # type: ignore[attr-defined]
        try:
            count, first, last = client.query(sql, parameters=params).result_rows[0]
        except Exception as exc:
            text = next((line for line in str(exc).splitlines() if line.strip()), repr(exc))
            raise TickStoreError(f"tick store query failed: {text.strip()[:300]}") from None
        finally:
            client.close()
        return StoredWindow(int(count), int(first or 0), int(last or 0))

    def chunks(self) -> AsyncIterator[Sequence[Tick]]:
        """The window's ticks in time order, one stored block (tens of thousands) at a time.

        A thread of its own streams and decodes the next blocks while the engine works
        on this one (at most ``PREFETCH`` ahead); leaving the ``async for`` stops it.
        The window is read in slices of about ``SLICE_ROWS`` ticks, cut at whole minutes:
        time order needs a sort, and sorting a whole day before the first tick kept the
        engine waiting (~0.5–1 s for a million ticks; ~0.09 s for a slice).
        """
        sql = (
            f"SELECT {_FLAT_SELECT} FROM ticks WHERE instrument_token IN {{tokens:Array(UInt32)}}"
            " AND ts >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')"
            " AND ts < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')"
            " ORDER BY ts, instrument_token"
        )
        client = self._store.client()  # type: ignore[attr-defined]
        return _prefetched(client, sql, self.tokens, self.slices)

    def slices(self, client: Any) -> list[tuple[int, int]]:
        """``[from, to)`` cut into consecutive slices of at least ``SLICE_ROWS`` ticks (the
        last may hold fewer), at whole minutes of stored time; one slice if nothing is stored."""
        sql = (
            f"SELECT intDiv(toUnixTimestamp64Nano(ts), {_MINUTE_NS}) AS minute, count()"
            " FROM ticks WHERE instrument_token IN {tokens:Array(UInt32)}"
            " AND ts >= fromUnixTimestamp64Nano({from_ns:Int64}, 'UTC')"
            " AND ts < fromUnixTimestamp64Nano({to_ns:Int64}, 'UTC')"
            " GROUP BY minute ORDER BY minute"
        )
        params = {"tokens": self.tokens, "from_ns": self.from_ns, "to_ns": self.to_ns}
        cuts = [self.from_ns]
        rows = 0
        for minute, count in client.query(sql, parameters=params).result_rows:
            rows += count
            end = (int(minute) + 1) * _MINUTE_NS
            if rows >= SLICE_ROWS and end < self.to_ns:
                cuts.append(end)
                rows = 0
        cuts.append(self.to_ns)
        return list(itertools.pairwise(cuts))


# Depth arrays are read as five scalar columns plus a length: clickhouse-connect decodes
# numeric columns straight from the buffer, arrays row by row (about 3x slower in all).
_FLAT_SELECT = ", ".join(
    ", ".join([*(f"{c.name}[{k}]" for k in range(1, DEPTH_LEVELS + 1)), f"length({c.name})"])
    if c.is_array
    else c.select_expr()
    for c in TICK_COLUMNS
)
PREFETCH = 2
SLICE_ROWS = 50_000
"""Ticks per query the replay reader aims at: one ClickHouse block (65,409 rows) or less."""
_MINUTE_NS = 60_000_000_000


def _decode(block: Sequence[Any]) -> ColumnarTicks:
    fields: list[Sequence[Any]] = []
    by_field: dict[str, Any] = {}
    j = 0
    full_depth = True
    for column in TICK_COLUMNS:
        if not column.is_array:
            fields.append(block[j])
            by_field[column.field] = block[j]
            j += 1
            continue
        lengths = block[j + DEPTH_LEVELS]
        levels = list(zip(*block[j : j + DEPTH_LEVELS], strict=True))
        if lengths.count(DEPTH_LEVELS) != len(lengths):
            # Missing levels read back as zeros: cut them off again (an empty book stays empty).
            full_depth = False
            cut = zip(levels, lengths, strict=True)
            levels = [lv if n == DEPTH_LEVELS else lv[:n] for lv, n in cut]
        fields.append(levels)
        by_field[column.field] = block[j : j + DEPTH_LEVELS]
        j += DEPTH_LEVELS + 1
    ticks = list(map(Tick, *fields))
    return ColumnarTicks(ticks, _columns(by_field, len(ticks), full_depth))


def _columns(by_field: dict[str, Any], n: int, full_depth: bool) -> TickColumns:
    """The quality monitor's columns, straight from the store's buffers (no tick is read)."""

    def col(name: str, dtype: type) -> np.ndarray:
        return np.asarray(by_field[name], dtype=dtype)

    def depth(name: str) -> np.ndarray:
        if not full_depth:
            return np.zeros((n, 0))
        return np.column_stack([np.asarray(level, dtype=np.float64) for level in by_field[name]])

    return TickColumns.from_fields(col, depth("bid_px"), depth("ask_px"), full_depth)


async def _prefetched(
    client: Any,
    sql: str,
    tokens: list[int],
    slices: Callable[[Any], list[tuple[int, int]]],
) -> AsyncIterator[Sequence[Tick]]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Sequence[Tick] | BaseException | None] = asyncio.Queue(PREFETCH)
    stop = threading.Event()

    def hand_over(item: Sequence[Tick] | BaseException | None) -> bool:
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while not stop.is_set():
            try:
                future.result(0.1)
                return True
            except concurrent.futures.TimeoutError:
                continue
        future.cancel()
        return False

    def read() -> None:
        # chDB binds an open stream to the thread that opened it: all of it happens here.
        try:
            for lo, hi in slices(client):
                params = {"tokens": tokens, "from_ns": lo, "to_ns": hi}
                with client.query_column_block_stream(sql, parameters=params) as stream:
                    for block in stream:
                        if not hand_over(_decode(list(block))):
                            return
            hand_over(None)
        except BaseException as exc:
            hand_over(exc)
        finally:
            with contextlib.suppress(Exception):
                client.close()

    thread = threading.Thread(target=read, name="replay-reader", daemon=True)
    thread.start()
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                text = next((ln for ln in str(item).splitlines() if ln.strip()), repr(item))
                raise TickStoreError(f"reading the tick store failed: {text.strip()[:300]}")
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
