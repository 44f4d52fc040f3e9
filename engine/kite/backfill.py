"""Backfill minute candles from Kite's historical API into the tick store's bars.

Choice: candles go into their own table, ``kite_candles_1m``, and a materialized view
(``kite_candles_to_bars_1m``) turns each candle into the same aggregate states the
tick view writes into ``bars_1m``. So every 1m/5m/15m/1d bar query returns backfilled
minutes unchanged, and live ticks in the same minute merge with them. Synthetic ticks
were rejected: they would pollute the raw ``ticks`` table that replay, VWAP, day
stats and gap detection read as real trades.

How a candle maps onto a bar: open/close are stamped at the first/last nanosecond of
the minute (a candle covers the whole minute, so it wins ties with live ticks), and
volume is carried as Kite's cumulative day volume (the sum of the day's candles up to
and including this one), which is how ``bars_1m`` derives per-bar volume. To get that
sum right the fetch always starts at the IST day start of ``start``. Backfilled bars
count 0 ticks. Re-running a backfill is harmless: the candle table replaces rows per
(token, minute), and the bar aggregates (argMin/argMax at fixed stamps, max, min)
give the same bars.

Kite serves at most 60 days of minute candles per call and 3 historical calls a
second; a 429 is retried after a second, at most :data:`RETRIES_429` times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from engine.clock import IST, Clock
from engine.kite.ratelimit import RateLimiter
from engine.kite.rest import KiteApiError, KiteRest
from engine.model import Instrument
from engine.storage.schema import TS_TYPE

MAX_DAYS_PER_CALL = 60
RETRIES_429 = 3
KITE_QUERY_TIME = "%Y-%m-%d %H:%M:%S"
CANDLE_COLUMNS = ("instrument_token", "minute", "open", "high", "low", "close", "volume")
CANDLE_COLUMNS += ("day_volume", "oi", "fetched_ts")

CREATE_CANDLES = f"""CREATE TABLE IF NOT EXISTS kite_candles_1m (
  instrument_token UInt32,
  minute DateTime('UTC'),
  open Float64,
  high Float64,
  low Float64,
  close Float64,
  volume Int64,
  day_volume Int64,
  oi Int64,
  fetched_ts {TS_TYPE}
) ENGINE = ReplacingMergeTree(fetched_ts)
PARTITION BY toYYYYMM(minute)
ORDER BY (instrument_token, minute)"""

CREATE_CANDLES_MV = """CREATE MATERIALIZED VIEW IF NOT EXISTS kite_candles_to_bars_1m TO bars_1m AS
SELECT
  instrument_token,
  minute,
  argMinState(open, toDateTime64(minute, 9, 'UTC')) AS open,
  max(high) AS high,
  min(low) AS low,
  argMaxState(close, addNanoseconds(toDateTime64(minute, 9, 'UTC'), 59999999999)) AS close,
  argMinState(day_volume - volume, toDateTime64(minute, 9, 'UTC')) AS vol_base,
  max(day_volume) AS vol_max,
  sum(volume) AS qty,
  toUInt64(0) AS ticks
FROM kite_candles_1m
GROUP BY instrument_token, minute"""


class BackfillError(Exception):
    """The backfill could not complete (one line); candles already written stay."""


def ensure_backfill_schema(client: Any) -> None:
    """Create the candle table and its view into ``bars_1m`` (idempotent; needs the store's DDL)."""
    client.command(CREATE_CANDLES)
    client.command(CREATE_CANDLES_MV)


def _ist_day_start(dt: datetime) -> datetime:
    local = dt.astimezone(IST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    while start < end:
        stop = min(end, start + timedelta(days=MAX_DAYS_PER_CALL))
        out.append((start, stop))
        start = stop
    return out


def candle_rows(
    token: int, candles: Sequence[Sequence[Any]], fetched_ns: int
) -> list[tuple[Any, ...]]:
    """Kite candles (``[time, o, h, l, c, v(, oi)]``) as rows of ``kite_candles_1m``.

    Candles are de-duplicated by minute and sorted; ``day_volume`` accumulates per IST day.
    """
    by_minute: dict[datetime, Sequence[Any]] = {}
    for candle in candles:
        when = datetime.strptime(candle[0], "%Y-%m-%dT%H:%M:%S%z")
        by_minute[when.astimezone(UTC).replace(second=0, microsecond=0)] = candle
    rows = []
    day, cumulative = None, 0
    for minute in sorted(by_minute):
        c = by_minute[minute]
        ist_day = minute.astimezone(IST).date()
        if ist_day != day:
            day, cumulative = ist_day, 0
        volume = int(c[5])
        cumulative += volume
        oi = int(c[6]) if len(c) > 6 else 0
        row = (token, minute, float(c[1]), float(c[2]), float(c[3]), float(c[4]), volume)
        rows.append((*row, cumulative, oi, fetched_ns))
    return rows


async def _fetch(
    rest: KiteRest, limiter: RateLimiter, clock: Clock, token: int, lo: datetime, hi: datetime
) -> list[Sequence[Any]]:
    params = {
        "from": lo.astimezone(IST).strftime(KITE_QUERY_TIME),
        "to": hi.astimezone(IST).strftime(KITE_QUERY_TIME),
    }
    for attempt in range(RETRIES_429 + 1):
        await limiter.acquire()
        try:
            data = await rest.request(
                "GET", f"/instruments/historical/{token}/minute", params=params
            )
        except KiteApiError as exc:
            if exc.status == 429 and attempt < RETRIES_429:
                await clock.sleep(1.0)
                continue
            raise BackfillError(f"historical candles of {token} failed: {exc}") from None
        candles = data.get("candles") if isinstance(data, dict) else None
        if not isinstance(candles, list):
            raise BackfillError(f"historical answer for {token} has no candles")
        return candles
    raise AssertionError("unreachable")


async def backfill_minutes(
    store_client: Any,
    instrument: Instrument | int,
    start: datetime,
    end: datetime,
    *,
    rest: KiteRest,
    limiter: RateLimiter,
    clock: Clock,
) -> int:
    """Write ``instrument``'s minute candles in [IST day start of ``start``, ``end``) into bars.

    ``store_client`` is a clickhouse-connect client of an open tick store. Returns how
    many candles were written. Raises :class:`BackfillError` (one line) on a Kite error;
    windows already fetched stay written.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("backfill needs timezone-aware start and end")
    token = instrument if isinstance(instrument, int) else instrument.instrument_token
    await asyncio.to_thread(ensure_backfill_schema, store_client)
    first = _ist_day_start(start)
    candles: list[Sequence[Any]] = []
    for lo, hi in _windows(first, end):
        candles += await _fetch(rest, limiter, clock, token, lo, hi)
    end_utc = end.astimezone(UTC)
    rows = [r for r in candle_rows(token, candles, clock.now_ns()) if r[1] < end_utc]
    rows = [r for r in rows if r[1] >= first.astimezone(UTC)]
    if not rows:
        return 0
    await asyncio.to_thread(
        store_client.insert, "kite_candles_1m", rows, column_names=list(CANDLE_COLUMNS)
    )
    return len(rows)
