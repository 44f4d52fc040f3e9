"""The one DDL set of the tick store, for chDB and a ClickHouse server alike.

* ``ticks``: raw ticks, MergeTree partitioned by IST day, ordered by (instrument_token, ts).
* ``bars_1m``: AggregatingMergeTree of per-instrument, per-minute OHLCV states, fed by the
  materialized view ``ticks_to_bars_1m`` on every insert into ``ticks``.
* ``bars_5m``, ``bars_15m``, ``bars_1d``: plain views rolling ``bars_1m`` up (ad-hoc use;
  :mod:`engine.storage.queries` uses the same SQL with the filters pushed inside).

Bar volume is traded quantity from Kite's cumulative day ``volume``: a bar's volume is its
last cumulative volume minus the previous bar's (same IST day), and for a day's first bar
minus the cumulative volume just before its first tick (``volume - last_qty``).

Every statement is idempotent. The retention TTL is re-applied only when it changed.
"""

from __future__ import annotations

from clickhouse_connect.driver.client import Client

from engine.storage.schema import TICK_COLUMNS, TS_TYPE

IST_TZ = "Asia/Kolkata"

# Without a window a plain MergeTree ignores insert_deduplication_token.
DEDUP_WINDOW = 10_000

# Inserted batches stay compact parts (one file for all columns), which costs markedly
# less CPU per insert than wide parts; merges write wide parts past this size.
COMPACT_PART_BYTES = 128 * 1024 * 1024

# The writer stores a part a second per table, and each merge leaves its source parts
# outdated; ClickHouse keeps those (and their in-memory index and checksums) for 480 s and
# looks for them every 30-300 s, which held ~1,500 parts and grew the desk by 20-40 MB over
# minutes. 60 s still outlasts Linux's 30 s dirty-page writeback, the crash window the
# outdated parts are kept for (a merged part not yet on disk).
PART_CLEANUP: dict[str, int] = {
    "old_parts_lifetime": 60,
    "cleanup_delay_period": 10,
    "max_cleanup_delay_period": 30,
}
_PART_CLEANUP_SQL = ", ".join(f"{name} = {value}" for name, value in PART_CLEANUP.items())

TIMEFRAMES: dict[str, str] = {
    "1m": "minute",
    "5m": "toStartOfInterval(minute, INTERVAL 5 MINUTE)",
    "15m": "toStartOfInterval(minute, INTERVAL 15 MINUTE)",
    "1d": f"toDateTime(toStartOfDay(minute, '{IST_TZ}'), 'UTC')",
}
"""Bucket expression over ``bars_1m.minute`` per supported timeframe. 5m and 15m buckets
are aligned in UTC, which is also aligned in IST (+05:30 is a whole number of both)."""


def _ticks_ttl(days: int | None) -> str:
    return f"toDateTime(ts) + toIntervalDay({days})" if days else ""


def _bars_ttl(days: int | None) -> str:
    return f"minute + toIntervalDay({days})" if days else ""


def _ttl_clause(expr: str) -> str:
    return f"TTL {expr}" if expr else ""


def create_ticks(retention_days: int | None) -> str:
    """CREATE statement of the raw ``ticks`` table."""
    columns = ",\n  ".join(f"{c.name} {c.ch_type}" for c in TICK_COLUMNS)
    return f"""CREATE TABLE IF NOT EXISTS ticks (
  {columns}
) ENGINE = MergeTree
PARTITION BY toDate(ts, '{IST_TZ}')
ORDER BY (instrument_token, ts)
{_ttl_clause(_ticks_ttl(retention_days))}
SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}, {_PART_CLEANUP_SQL},
  min_bytes_for_wide_part = {COMPACT_PART_BYTES}"""


def create_bars_1m(retention_days: int | None) -> str:
    """CREATE statement of the ``bars_1m`` aggregate table."""
    return f"""CREATE TABLE IF NOT EXISTS bars_1m (
  instrument_token UInt32,
  minute DateTime('UTC'),
  open AggregateFunction(argMin, Float64, {TS_TYPE}),
  high SimpleAggregateFunction(max, Float64),
  low SimpleAggregateFunction(min, Float64),
  close AggregateFunction(argMax, Float64, {TS_TYPE}),
  vol_base AggregateFunction(argMin, Int64, {TS_TYPE}),
  vol_max SimpleAggregateFunction(max, Int64),
  qty SimpleAggregateFunction(sum, Int64),
  ticks SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (instrument_token, minute)
{_ttl_clause(_bars_ttl(retention_days))}
SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}, {_PART_CLEANUP_SQL}"""


CREATE_BARS_1M_MV = """CREATE MATERIALIZED VIEW IF NOT EXISTS ticks_to_bars_1m TO bars_1m AS
SELECT
  instrument_token,
  toStartOfMinute(ts) AS minute,
  argMinState(ltp, ts) AS open,
  max(ltp) AS high,
  min(ltp) AS low,
  argMaxState(ltp, ts) AS close,
  argMinState(volume - last_qty, ts) AS vol_base,
  max(volume) AS vol_max,
  sum(last_qty) AS qty,
  toUInt64(count()) AS ticks
FROM ticks
GROUP BY instrument_token, minute"""


def rollup_sql(timeframe: str, where: str = "1", outer_where: str = "1") -> str:
    """Bars of ``timeframe`` from ``bars_1m``.

    ``where`` filters ``bars_1m`` rows before merging (push token and time filters here,
    starting at the IST day start so each bar's volume can see the bar before it);
    ``outer_where`` filters the finished bars (columns: instrument_token, ts_ns, …).
    Output columns: instrument_token, ts_ns, open, high, low, close, volume, ticks.
    """
    bucket = TIMEFRAMES[timeframe]
    return f"""SELECT instrument_token, ts_ns, open, high, low, close,
  greatest(vol_max - if(prev_max < 0, vol_base, prev_max), 0) AS volume, ticks
FROM (
  SELECT instrument_token, toInt64(toUnixTimestamp(bucket)) * 1000000000 AS ts_ns,
    open, high, low, close, vol_base, vol_max, ticks,
    lagInFrame(vol_max, 1, toInt64(-1)) OVER (
      PARTITION BY instrument_token, toDate(bucket, '{IST_TZ}') ORDER BY bucket
      ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_max
  FROM (
    SELECT instrument_token, {bucket} AS bucket,
      argMinMerge(open) AS open, max(high) AS high, min(low) AS low,
      argMaxMerge(close) AS close, argMinMerge(vol_base) AS vol_base,
      max(vol_max) AS vol_max, sum(ticks) AS ticks
    FROM bars_1m
    WHERE {where}
    GROUP BY instrument_token, bucket
  )
)
WHERE {outer_where}
ORDER BY instrument_token, ts_ns"""


def create_rollup_views() -> list[str]:
    """CREATE VIEW statements ``bars_5m``, ``bars_15m``, ``bars_1d`` (and ``bars_1m_final``)."""
    names = {"1m": "bars_1m_final", "5m": "bars_5m", "15m": "bars_15m", "1d": "bars_1d"}
    return [f"CREATE VIEW IF NOT EXISTS {names[tf]} AS {rollup_sql(tf)}" for tf in TIMEFRAMES]


def statements(retention_days: int | None) -> list[str]:
    """Every CREATE statement, in dependency order."""
    return [
        create_ticks(retention_days),
        create_bars_1m(retention_days),
        CREATE_BARS_1M_MV,
        *create_rollup_views(),
    ]


def _engine_full(client: Client, table: str) -> str:
    return str(
        client.command(
            "SELECT engine_full FROM system.tables "
            "WHERE database = currentDatabase() AND name = {t:String}",
            parameters={"t": table},
        )
    )


def _current_ttl(engine_full: str) -> str:
    _, sep, rest = engine_full.partition(" TTL ")
    return rest.split(" SETTINGS ")[0].strip() if sep else ""


def _normalise(expr: str) -> str:
    return "".join(expr.split())


def apply_ddl(client: Client, retention_days: int | None) -> None:
    """Create whatever is missing and bring the retention TTL and part cleanup in line."""
    for stmt in statements(retention_days):
        client.command(stmt)
    for table, wanted in (
        ("ticks", _ticks_ttl(retention_days)),
        ("bars_1m", _bars_ttl(retention_days)),
    ):
        engine_full = _engine_full(client, table)
        # Tables created before PART_CLEANUP existed get it once.
        if any(f"{name} = {value}" not in engine_full for name, value in PART_CLEANUP.items()):
            client.command(f"ALTER TABLE {table} MODIFY SETTING {_PART_CLEANUP_SQL}")
        if _normalise(_current_ttl(engine_full)) == _normalise(wanted):
            continue
        # Old parts are trimmed by the next merges rather than rewritten now.
        if wanted:
            client.command(
                f"ALTER TABLE {table} MODIFY TTL {wanted}",
                settings={"materialize_ttl_after_modify": 0},
            )
        else:
            client.command(f"ALTER TABLE {table} REMOVE TTL")
