"""Async reads of the tick store for charts, stats and replay.

Each call runs the blocking clickhouse-connect query in a worker thread
(``asyncio.to_thread``), so the engine loop never waits on storage. All times are epoch
nanoseconds (UTC); days are IST trading days.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time
from typing import Any

import msgspec
from clickhouse_connect.driver.client import Client

from engine.clock import IST, NS_PER_SECOND
from engine.model import Tick
from engine.storage.ddl import IST_TZ, TIMEFRAMES, rollup_sql
from engine.storage.schema import TICK_COLUMNS, TICK_SELECT

NS_PER_DAY = 86_400 * NS_PER_SECOND
TIMEFRAME_NS = {"1m": 60 * NS_PER_SECOND, "5m": 300 * NS_PER_SECOND, "15m": 900 * NS_PER_SECOND}
TIMEFRAME_NS["1d"] = NS_PER_DAY


class Bar(msgspec.Struct, frozen=True, gc=False):
    """One OHLCV bar; ``ts_ns`` is the start of its bucket."""

    instrument_token: int
    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    """Traded quantity in the bar, from Kite's cumulative day volume."""
    ticks: int
    """Ticks aggregated into the bar."""


class DayStats(msgspec.Struct, frozen=True):
    """One instrument's IST trading day, computed from raw ticks."""

    instrument_token: int
    day: date
    open: float
    high: float
    low: float
    close: float
    volume: int
    ticks: int
    vwap: float | None
    first_ts_ns: int
    last_ts_ns: int


class Gap(msgspec.Struct, frozen=True):
    """A stretch with no ticks for an instrument."""

    start_ns: int
    end_ns: int

    @property
    def seconds(self) -> float:
        """Length of the gap in seconds."""
        return (self.end_ns - self.start_ns) / NS_PER_SECOND


class StoredRange(msgspec.Struct, frozen=True):
    """What the store holds: first and last tick time, tick and instrument counts."""

    first_ns: int
    last_ns: int
    ticks: int
    instruments: int


def ist_day_bounds(day: date) -> tuple[int, int]:
    """[start, end) of an IST calendar day in epoch nanoseconds."""
    start = datetime.combine(day, time(0), tzinfo=IST)
    start_ns = int(start.timestamp()) * NS_PER_SECOND
    return start_ns, start_ns + NS_PER_DAY


def ist_day_start_ns(ts_ns: int) -> int:
    """Start of the IST day containing ``ts_ns``."""
    day = datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=UTC).astimezone(IST).date()
    return ist_day_bounds(day)[0]


def _ts(param: str) -> str:
    return f"fromUnixTimestamp64Nano({{{param}:Int64}}, 'UTC')"


# Volume traded since the previous tick of the same IST day; a day's first tick (in the
# window read) counts its own last_qty. Same rule as the bars.
_DV = (
    "greatest(volume - lagInFrame(volume, 1, volume - last_qty) OVER ("
    f"PARTITION BY instrument_token, toDate(ts, '{IST_TZ}') ORDER BY ts "
    "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW), 0)"
)


def _row_to_tick(row: Sequence[Any], array_idx: tuple[int, ...]) -> Tick:
    values = list(row)
    for i in array_idx:
        values[i] = tuple(values[i])
    return Tick(*values)


_ARRAY_IDX = tuple(i for i, c in enumerate(TICK_COLUMNS) if c.is_array)


class TickQueries:
    """Async queries on one client; :meth:`ticks` streams on a client of its own."""

    def __init__(
        self,
        client: Client,
        stream_client: Callable[[], Client] | None = None,
        *,
        query_threads: int = 1,
    ):
        self._client = client
        self._stream_client = stream_client
        self._settings = {"max_threads": query_threads} if query_threads else {}

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        result = await asyncio.to_thread(
            self._client.query, sql, parameters=params, settings=self._settings
        )
        return result.result_rows

    async def ohlc(self, token: int, timeframe: str, from_ns: int, to_ns: int) -> list[Bar]:
        """Bars of ``timeframe`` (1m, 5m, 15m, 1d) overlapping [from_ns, to_ns), oldest first.

        Each bar covers its whole bucket (``ts_ns`` is the bucket start; a 1d bucket is an
        IST day), even where the bucket sticks out of the range.
        """
        bars = await self.ohlc_many([token], timeframe, from_ns, to_ns)
        return bars.get(token, [])

    async def ohlc_many(
        self, tokens: Sequence[int], timeframe: str, from_ns: int, to_ns: int
    ) -> dict[int, list[Bar]]:
        """:meth:`ohlc` for several instruments in one query, keyed by token."""
        if timeframe not in TIMEFRAMES:
            raise ValueError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, got {timeframe!r}")
        span_ns = TIMEFRAME_NS[timeframe]
        # Inner bounds cover every bucket touching the range whole (from its IST day start,
        # so a bar's volume can see the bar before it).
        where = (
            "instrument_token IN {tokens:Array(UInt32)}"
            " AND minute >= toDateTime(intDiv({day_from:Int64}, 1000000000), 'UTC')"
            " AND minute < toDateTime(intDiv({inner_to:Int64}, 1000000000), 'UTC')"
        )
        outer = "ts_ns > {from_ns:Int64} - {span:Int64} AND ts_ns < {to_ns:Int64}"
        params = {
            "tokens": list(tokens),
            "day_from": ist_day_start_ns(from_ns),
            "inner_to": to_ns + span_ns + NS_PER_SECOND,
            "from_ns": from_ns,
            "to_ns": to_ns,
            "span": span_ns,
        }
        out: dict[int, list[Bar]] = {}
        for row in await self._rows(rollup_sql(timeframe, where, outer), params):
            bar = Bar(*row)
            out.setdefault(bar.instrument_token, []).append(bar)
        return out

    async def day_stats(self, token: int, day: date) -> DayStats | None:
        """OHLC, volume, tick count and VWAP of ``token`` over IST ``day``; None if no ticks."""
        start, end = ist_day_bounds(day)
        sql = f"""SELECT argMin(ltp, ts), max(ltp), min(ltp), argMax(ltp, ts), sum(dv), count(),
  sum(ltp * dv) / nullIf(sum(dv), 0), min(ts_ns), max(ts_ns)
FROM (SELECT ts, ltp, toUnixTimestamp64Nano(ts) AS ts_ns, {_DV} AS dv
      FROM ticks WHERE instrument_token = {{tok:UInt32}} AND ts >= {_ts("start")}
        AND ts < {_ts("end")})"""
        rows = await self._rows(sql, {"tok": token, "start": start, "end": end})
        if not rows or rows[0][5] == 0:
            return None
        o, h, lo, c, vol, n, vwap, first, last = rows[0]
        return DayStats(token, day, o, h, lo, c, int(vol), int(n), vwap, int(first), int(last))

    async def vwap(self, token: int, from_ns: int, to_ns: int) -> float | None:
        """Volume-weighted LTP over [from_ns, to_ns); None if nothing traded.

        Each tick weighs the volume traded since the previous tick in the window (the
        window's first tick of each day weighs its own ``last_qty``).
        """
        sql = f"""SELECT sum(ltp * dv) / nullIf(sum(dv), 0)
FROM (SELECT ltp, {_DV} AS dv FROM ticks
      WHERE instrument_token = {{tok:UInt32}} AND ts >= {_ts("from_ns")} AND ts < {_ts("to_ns")})"""
        rows = await self._rows(sql, {"tok": token, "from_ns": from_ns, "to_ns": to_ns})
        return rows[0][0] if rows else None

    async def session_gaps(
        self,
        token: int,
        day: date,
        min_gap_s: float,
        session: tuple[time, time] | None = None,
    ) -> list[Gap]:
        """Stretches of at least ``min_gap_s`` without ticks for ``token`` on IST ``day``.

        Gaps are between consecutive ticks; with ``session`` (IST open and close times,
        e.g. 09:15–15:30) the stretch from the open to the first tick and from the last
        tick to the close count too, and a day with no ticks is one whole-session gap.
        """
        start, end = ist_day_bounds(day)
        min_gap_ns = int(min_gap_s * NS_PER_SECOND)
        sql = f"""SELECT prev_ns, ts_ns FROM (
  SELECT toUnixTimestamp64Nano(ts) AS ts_ns,
    lagInFrame(toUnixTimestamp64Nano(ts), 1, toInt64(0)) OVER (
      ORDER BY ts ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_ns
  FROM ticks WHERE instrument_token = {{tok:UInt32}} AND ts >= {_ts("start")}
    AND ts < {_ts("end")})
WHERE prev_ns > 0 AND ts_ns - prev_ns >= {{gap:Int64}}
ORDER BY ts_ns"""
        params = {"tok": token, "start": start, "end": end, "gap": min_gap_ns}
        gaps = [Gap(int(a), int(b)) for a, b in await self._rows(sql, params)]
        if session is None:
            return gaps
        open_ns = int(datetime.combine(day, session[0], tzinfo=IST).timestamp() * NS_PER_SECOND)
        close_ns = int(datetime.combine(day, session[1], tzinfo=IST).timestamp() * NS_PER_SECOND)
        bounds = await self._rows(
            "SELECT count(), min(toUnixTimestamp64Nano(ts)), max(toUnixTimestamp64Nano(ts))"
            f" FROM ticks WHERE instrument_token = {{tok:UInt32}} AND ts >= {_ts('start')}"
            f" AND ts < {_ts('end')}",
            {"tok": token, "start": open_ns, "end": close_ns},
        )
        count, first, last = bounds[0]
        if not count:
            return [Gap(open_ns, close_ns)] if close_ns - open_ns >= min_gap_ns else []
        inside = [g for g in gaps if g.end_ns > open_ns and g.start_ns < close_ns]
        if first - open_ns >= min_gap_ns:
            inside.insert(0, Gap(open_ns, int(first)))
        if close_ns - last >= min_gap_ns:
            inside.append(Gap(int(last), close_ns))
        return inside

    async def available_range(self, token: int | None = None) -> StoredRange | None:
        """First and last stored tick (of ``token``, or of all); None if the store is empty."""
        where = "instrument_token = {tok:UInt32}" if token is not None else "1"
        rows = await self._rows(
            "SELECT count(), min(toUnixTimestamp64Nano(ts)), max(toUnixTimestamp64Nano(ts)),"
            f" uniqExact(instrument_token) FROM ticks WHERE {where}",
            {"tok": token} if token is not None else {},
        )
        count, first, last, instruments = rows[0]
        if not count:
            return None
        return StoredRange(int(first), int(last), int(count), int(instruments))

    async def ticks(
        self,
        tokens: Sequence[int] | None,
        from_ns: int,
        to_ns: int,
        chunk_size: int = 10_000,
    ) -> AsyncIterator[list[Tick]]:
        """Stored ticks in [from_ns, to_ns) in time order, as lists of up to ``chunk_size``.

        ``tokens`` None means every instrument. The query streams on a client and thread
        of its own, so a long replay never holds up other queries; ``aclose()`` (or
        leaving an ``async for``) ends it.
        """
        where = f"ts >= {_ts('from_ns')} AND ts < {_ts('to_ns')}"
        params: dict[str, Any] = {"from_ns": from_ns, "to_ns": to_ns}
        if tokens is not None:
            where += " AND instrument_token IN {tokens:Array(UInt32)}"
            params["tokens"] = list(tokens)
        sql = f"SELECT {TICK_SELECT} FROM ticks WHERE {where} ORDER BY ts, instrument_token"
        # One thread for the whole stream: chDB binds an open stream to its thread.
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tick-replay")
        loop = asyncio.get_running_loop()
        client = self._stream_client() if self._stream_client else self._client
        own_client = client is not self._client
        context: Any = None

        def next_block() -> list | None:
            return next(blocks, None)

        try:
            context = await loop.run_in_executor(
                executor, lambda: client.query_row_block_stream(sql, parameters=params)
            )
            blocks = iter(await loop.run_in_executor(executor, context.__enter__))
            chunk: list[Tick] = []
            while (block := await loop.run_in_executor(executor, next_block)) is not None:
                for row in block:
                    chunk.append(_row_to_tick(row, _ARRAY_IDX))
                    if len(chunk) >= chunk_size:
                        yield chunk
                        chunk = []
            if chunk:
                yield chunk
        finally:

            def cleanup() -> None:
                if context is not None:
                    context.__exit__(None, None, None)
                if own_client:
                    client.close()

            await loop.run_in_executor(executor, cleanup)
            executor.shutdown(wait=False)
