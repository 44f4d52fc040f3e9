"""The tick store on embedded chDB: schema, bars, writer, dedup, locking, queries."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import textwrap
import threading
from collections import defaultdict
from datetime import date, datetime, time
from itertools import pairwise
from pathlib import Path

import msgspec
import numpy as np
import pytest
from clickhouse_connect.driver.exceptions import OperationalError, ProgrammingError

from engine.clock import IST, NS_PER_SECOND, TestClock
from engine.feeds.mock_market import MockMarket
from engine.feeds.universe import build_universe
from engine.model import Tick
from engine.quality.columns import ColumnarTicks
from engine.storage import (
    Bar,
    DayStats,
    Gap,
    StorageSettings,
    StoredRange,
    TickStore,
    TickStoreComponent,
    TickStoreError,
    TickStoreLocked,
)
from engine.storage.component import WATCH_INTERVAL_S
from engine.storage.ddl import PART_CLEANUP
from engine.storage.native import encode_batch, encode_ticks
from engine.storage.schema import COLUMN_NAMES
from engine.storage.store import WARM_UP_BATCHES
from engine.storage.trim import clean_mappings

REPO = Path(__file__).resolve().parents[1]
DAY1 = date(2026, 11, 23)
DAY2 = date(2026, 11, 24)
TOKENS = (256265, 738561, 2953217)
MINUTE_NS = 60 * NS_PER_SECOND


def ist_ns(day: date, hh: int, mm: int, ss: float = 0.0) -> int:
    start = datetime.combine(day, time(hh, mm), tzinfo=IST)
    return int(start.timestamp()) * NS_PER_SECOND + int(ss * NS_PER_SECOND)


def make_ticks(seed: int = 7, per_day: int = 400) -> list[Tick]:
    """Ticks for three instruments over two IST days, in time order across instruments.

    Cumulative volume resets each day and sometimes jumps by more than ``last_qty``
    (trades the feed did not tick), as Kite's does.
    """
    rng = random.Random(seed)
    ticks: list[Tick] = []
    for day in (DAY1, DAY2):
        open_ns = ist_ns(day, 9, 15)
        for token in TOKENS:
            offsets = sorted(rng.sample(range(0, 75 * 60 * 1000), per_day))  # ms in 75 min
            ltp = rng.uniform(100, 3000)
            volume = 0
            for ms in offsets:
                ts = open_ns + ms * 1_000_000 + rng.randrange(1_000_000)
                ltp = round(max(1.0, ltp + rng.gauss(0, 1.5)), 2)
                qty = rng.randint(1, 500)
                volume += qty + (rng.randint(1, 2000) if rng.random() < 0.2 else 0)
                bids = tuple(round(ltp - 0.05 * (i + 1), 2) for i in range(5))
                asks = tuple(round(ltp + 0.05 * (i + 1), 2) for i in range(5))
                ticks.append(
                    Tick(
                        instrument_token=token,
                        ltp=ltp,
                        last_qty=qty,
                        avg_price=ltp,
                        volume=volume,
                        buy_qty=rng.randint(0, 10**6),
                        sell_qty=rng.randint(0, 10**6),
                        open=ltp,
                        high=ltp,
                        low=ltp,
                        close=1000.0,
                        exchange_ts_ns=ts,
                        last_trade_ts_ns=ts - 1000,
                        bid_px=bids,
                        bid_qty=tuple(rng.randint(1, 999) for _ in range(5)),
                        bid_orders=tuple(rng.randint(1, 9) for _ in range(5)),
                        ask_px=asks,
                        ask_qty=tuple(rng.randint(1, 999) for _ in range(5)),
                        ask_orders=tuple(rng.randint(1, 9) for _ in range(5)),
                        oi=0,
                        received_ns=ts + 5000,
                    )
                )
    ticks.sort(key=lambda t: (t.exchange_ts_ns, t.instrument_token))
    return ticks


def ist_day(ts_ns: int) -> date:
    return datetime.fromtimestamp(ts_ns / NS_PER_SECOND, tz=IST).date()


def traded(ticks: list[Tick]) -> dict[int, list[tuple[Tick, int]]]:
    """Per instrument, each tick with the quantity traded since the previous tick that day."""
    out: dict[int, list[tuple[Tick, int]]] = defaultdict(list)
    last: dict[int, Tick] = {}
    for t in sorted(ticks, key=lambda t: t.exchange_ts_ns):
        prev = last.get(t.instrument_token)
        same_day = prev is not None and ist_day(prev.exchange_ts_ns) == ist_day(t.exchange_ts_ns)
        dv = max(t.volume - prev.volume, 0) if same_day else t.last_qty
        out[t.instrument_token].append((t, dv))
        last[t.instrument_token] = t
    return out


def python_bars(ticks: list[Tick], timeframe: str) -> dict[int, list[Bar]]:
    """OHLCV bars computed straight from the ticks, independently of ClickHouse."""
    span = {"1m": 60, "5m": 300, "15m": 900}

    def bucket(ts: int) -> int:
        if timeframe == "1d":
            day = ist_day(ts)
            return int(datetime.combine(day, time(0), tzinfo=IST).timestamp()) * NS_PER_SECOND
        width = span[timeframe] * NS_PER_SECOND
        return ts - ts % width

    out: dict[int, list[Bar]] = {}
    for token, rows in traded(ticks).items():
        groups: dict[int, list[tuple[Tick, int]]] = defaultdict(list)
        for t, dv in rows:
            groups[bucket(t.exchange_ts_ns)].append((t, dv))
        out[token] = [
            Bar(
                instrument_token=token,
                ts_ns=b,
                open=g[0][0].ltp,
                high=max(t.ltp for t, _ in g),
                low=min(t.ltp for t, _ in g),
                close=g[-1][0].ltp,
                volume=sum(dv for _, dv in g),
                ticks=len(g),
            )
            for b, g in sorted(groups.items())
        ]
    return out


def settings(**overrides: object) -> StorageSettings:
    # Test ticks are dated near the real "now" but retention TTL would drop anything
    # older than it on insert, so keep them forever unless a test says otherwise.
    values: dict[object, object] = {"retention_days": None, "batch_size": 97}
    values.update(overrides)
    return StorageSettings(**values)


@pytest.fixture
def store(tmp_path: Path):
    opened = TickStore.open(settings(), tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def loaded(tmp_path: Path):
    """A store holding :func:`make_ticks`, written through the writer in small batches."""
    ticks = make_ticks()
    opened = TickStore.open(settings(), tmp_path)
    writer = opened.writer(TestClock())
    writer.start()
    for i in range(0, len(ticks), 50):
        writer.enqueue_many(ticks[i : i + 50])
    assert writer.flush(timeout=60)
    yield opened, ticks
    opened.close()


def count(store: TickStore, table: str = "ticks") -> int:
    return int(store.client().command(f"SELECT count() FROM {table}"))


# ---- schema -------------------------------------------------------------------------


def test_ddl_is_idempotent_and_creates_tables_and_views(tmp_path: Path) -> None:
    TickStore.open(settings(), tmp_path).close()
    with TickStore.open(settings(), tmp_path) as store:
        names = store.client().query("SELECT name, engine FROM system.tables").result_rows
    engines = dict(names)
    assert engines["ticks"] == "MergeTree"
    assert engines["bars_1m"] == "AggregatingMergeTree"
    assert engines["ticks_to_bars_1m"] == "MaterializedView"
    assert {"bars_5m", "bars_15m", "bars_1d", "bars_1m_final"} <= engines.keys()


def test_retention_ttl_follows_settings(tmp_path: Path) -> None:
    def ttl(store: TickStore) -> str:
        return str(
            store.client().command("SELECT engine_full FROM system.tables WHERE name='ticks'")
        )

    with TickStore.open(settings(retention_days=30), tmp_path) as store:
        assert "toIntervalDay(30)" in ttl(store)
    with TickStore.open(settings(retention_days=90), tmp_path) as store:
        assert "toIntervalDay(90)" in ttl(store)
        assert "toIntervalDay(90)" in str(
            store.client().command("SELECT engine_full FROM system.tables WHERE name='bars_1m'")
        )
    with TickStore.open(settings(retention_days=None), tmp_path) as store:
        assert " TTL " not in ttl(store)


def test_outdated_parts_are_cleaned_up_within_a_minute_on_new_and_old_tables(
    tmp_path: Path,
) -> None:
    def engine_full(store: TickStore, table: str) -> str:
        return str(
            store.client().command(
                "SELECT engine_full FROM system.tables WHERE name = {t:String}",
                parameters={"t": table},
            )
        )

    with TickStore.open(settings(), tmp_path) as store:
        for table in ("ticks", "bars_1m"):
            assert "old_parts_lifetime = 60" in engine_full(store, table)
            assert "max_cleanup_delay_period = 30" in engine_full(store, table)
            # A store created before the setting existed: ClickHouse's defaults.
            store.client().command(
                f"ALTER TABLE {table} MODIFY SETTING old_parts_lifetime = 480, "
                "cleanup_delay_period = 30, max_cleanup_delay_period = 300"
            )
            assert "old_parts_lifetime = 480" in engine_full(store, table)
    with TickStore.open(settings(), tmp_path) as store:
        for table in ("ticks", "bars_1m"):
            full = engine_full(store, table)
            assert all(f"{name} = {value}" in full for name, value in PART_CLEANUP.items())
            assert "non_replicated_deduplication_window = 10000" in full


def test_partitioned_by_ist_day_and_ordered_by_token_then_time(store: TickStore) -> None:
    key = store.client().query(
        "SELECT partition_key, sorting_key FROM system.tables WHERE name = 'ticks'"
    )
    partition_key, sorting_key = key.result_rows[0]
    assert "toDate(ts, 'Asia/Kolkata')" in partition_key
    assert sorting_key == "instrument_token, ts"


# ---- bars from the materialized view ----------------------------------------------------


@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "1d"])
async def test_bars_equal_ohlc_computed_from_raw_ticks(loaded, timeframe: str) -> None:
    store, ticks = loaded
    expected = python_bars(ticks, timeframe)
    queries = store.queries()
    start, end = ist_day_bounds_ns(DAY1)[0], ist_day_bounds_ns(DAY2)[1]
    got = await queries.ohlc_many(TOKENS, timeframe, start, end)
    assert got == expected
    assert await queries.ohlc(TOKENS[1], timeframe, start, end) == expected[TOKENS[1]]


async def test_bars_cover_whole_buckets_overlapping_the_range(loaded) -> None:
    store, ticks = loaded
    expected = python_bars(ticks, "15m")[TOKENS[0]]
    mid = expected[3].ts_ns + 7 * MINUTE_NS  # inside the fourth bar
    got = await store.queries().ohlc(TOKENS[0], "15m", mid, expected[5].ts_ns)
    assert got == expected[3:5]


def ist_day_bounds_ns(day: date) -> tuple[int, int]:
    start = ist_ns(day, 0, 0)
    return start, start + 86_400 * NS_PER_SECOND


# ---- other queries ----------------------------------------------------------------------


async def test_day_stats_match_python(loaded) -> None:
    store, ticks = loaded
    token = TOKENS[2]
    rows = [(t, dv) for t, dv in traded(ticks)[token] if ist_day(t.exchange_ts_ns) == DAY2]
    stats = await store.queries().day_stats(token, DAY2)
    assert isinstance(stats, DayStats)
    volume = sum(dv for _, dv in rows)
    assert (stats.open, stats.close) == (rows[0][0].ltp, rows[-1][0].ltp)
    assert stats.high == max(t.ltp for t, _ in rows)
    assert stats.low == min(t.ltp for t, _ in rows)
    assert (stats.volume, stats.ticks) == (volume, len(rows))
    assert stats.vwap == pytest.approx(sum(t.ltp * dv for t, dv in rows) / volume)
    assert (stats.first_ts_ns, stats.last_ts_ns) == (
        rows[0][0].exchange_ts_ns,
        rows[-1][0].exchange_ts_ns,
    )
    assert await store.queries().day_stats(token, date(2026, 11, 22)) is None


async def test_vwap_matches_python(loaded) -> None:
    store, ticks = loaded
    token = TOKENS[0]
    lo, hi = ist_ns(DAY1, 9, 30), ist_ns(DAY1, 10, 0)
    window = [t for t in ticks if t.instrument_token == token and lo <= t.exchange_ts_ns < hi]
    weights = [window[0].last_qty] + [max(b.volume - a.volume, 0) for a, b in pairwise(window)]
    expected = sum(t.ltp * w for t, w in zip(window, weights, strict=True)) / sum(weights)
    assert await store.queries().vwap(token, lo, hi) == pytest.approx(expected)
    assert await store.queries().vwap(token, hi + 10**15, hi + 2 * 10**15) is None


async def test_session_gaps_between_ticks_and_at_session_edges(store: TickStore) -> None:
    token = 408065
    times = [ist_ns(DAY1, 10, 0, s) for s in (0, 1, 2, 30, 31, 100)]
    ticks = [replace_ts(make_ticks(per_day=1)[0], token, ts, i) for i, ts in enumerate(times)]
    writer = store.writer(TestClock())
    writer.enqueue_many(ticks)
    assert writer.flush()
    queries = store.queries()
    gaps = await queries.session_gaps(token, DAY1, min_gap_s=20)
    assert gaps == [Gap(times[2], times[3]), Gap(times[4], times[5])]
    assert gaps[1].seconds == 69
    session = (time(9, 59, 30), time(10, 2))
    edged = await queries.session_gaps(token, DAY1, min_gap_s=20, session=session)
    assert edged[0] == Gap(ist_ns(DAY1, 9, 59, 30), times[0])
    assert edged[-1] == Gap(times[5], ist_ns(DAY1, 10, 2))
    assert await queries.session_gaps(token, DAY2, 20, session=session) == [
        Gap(ist_ns(DAY2, 9, 59, 30), ist_ns(DAY2, 10, 2))
    ]


def replace_ts(tick: Tick, token: int, ts: int, volume: int) -> Tick:
    return msgspec.structs.replace(
        tick, instrument_token=token, exchange_ts_ns=ts, volume=volume, last_qty=1
    )


async def test_available_range(loaded) -> None:
    store, ticks = loaded
    whole = await store.queries().available_range()
    assert whole == StoredRange(
        first_ns=ticks[0].exchange_ts_ns,
        last_ns=ticks[-1].exchange_ts_ns,
        ticks=len(ticks),
        instruments=len(TOKENS),
    )
    one = await store.queries().available_range(TOKENS[1])
    assert one is not None and one.instruments == 1 and one.ticks == len(ticks) // 3


async def test_ticks_stream_in_time_order_chunks_and_round_trip(loaded) -> None:
    store, ticks = loaded
    wanted = {TOKENS[0], TOKENS[2]}
    lo, hi = ist_ns(DAY1, 9, 20), ist_ns(DAY2, 9, 40)
    expected = [t for t in ticks if t.instrument_token in wanted and lo <= t.exchange_ts_ns < hi]
    chunks = [c async for c in store.queries().ticks(sorted(wanted), lo, hi, chunk_size=64)]
    assert all(0 < len(c) <= 64 for c in chunks)
    assert [t for c in chunks for t in c] == expected


async def test_ticks_stream_can_stop_early_and_store_keeps_working(loaded) -> None:
    store, ticks = loaded
    queries = store.queries()
    stream = queries.ticks(None, 0, 2**62, chunk_size=10)
    first = await anext(stream)
    await stream.aclose()
    assert first == ticks[:10]
    assert (await queries.available_range()).ticks == len(ticks)


async def test_ticks_without_full_depth_round_trip(store: TickStore) -> None:
    full = make_ticks(per_day=2)[:4]
    odd = [
        msgspec.structs.replace(full[0], bid_px=(), bid_qty=(), bid_orders=()),
        msgspec.structs.replace(full[1], ask_px=(1.5,), ask_qty=(3,), ask_orders=(1,)),
        msgspec.structs.replace(full[2], bid_px=(), ask_px=(), bid_qty=(), ask_qty=()),
        full[3],
    ]
    odd = [msgspec.structs.replace(t, volume=float(t.volume)) for t in odd[:1]] + odd[1:]
    writer = store.writer(TestClock())
    writer.enqueue_many(odd)
    assert writer.flush()
    got = [t async for chunk in store.queries().ticks(None, 0, 2**62) for t in chunk]
    assert got == sorted(odd, key=lambda t: (t.exchange_ts_ns, t.instrument_token))


async def test_a_batch_encoded_as_several_native_blocks_round_trips(store: TickStore) -> None:
    ticks = make_ticks(per_day=5)  # 30 ticks: blocks of 7, the last one short
    client = store.client()
    for batch in (ticks, []):
        client.raw_insert("ticks", COLUMN_NAMES, encode_ticks(batch, block_rows=7), fmt="Native")
    got = [t async for chunk in store.queries().ticks(None, 0, 2**62) for t in chunk]
    assert got == sorted(ticks, key=lambda t: (t.exchange_ts_ns, t.instrument_token))


async def test_queries_on_an_empty_store(store: TickStore) -> None:
    queries = store.queries()
    assert await queries.available_range() is None
    assert await queries.ohlc(1, "1m", 0, 2**62) == []
    assert [c async for c in queries.ticks([1], 0, 2**62)] == []
    with pytest.raises(ValueError, match="timeframe"):
        await queries.ohlc(1, "2h", 0, 1)


# ---- writer -------------------------------------------------------------------------------


def test_writer_batches_and_close_loses_nothing(store: TickStore) -> None:
    ticks = make_ticks(seed=1, per_day=500)
    writer = store.writer(TestClock())
    writer.start()
    for i, tick in enumerate(ticks):
        if i % 3:
            writer.enqueue(tick)
        else:
            writer.enqueue_many([tick])
    assert writer.close(timeout=60)
    stats = writer.stats()
    assert stats.enqueued == stats.written == len(ticks) == count(store)
    assert stats.dropped == stats.failed == stats.pending == 0
    assert stats.batches >= len(ticks) // 97
    assert int(store.client().command("SELECT sum(ticks) FROM bars_1m")) == len(ticks)


def circuit_batches(steps: int, universe: int = 40) -> list[ColumnarTicks]:
    """Mock-market batches near the circuit limits: some ticks lack depth levels."""
    market = MockMarket(build_universe(universe), "circuit", 3)
    every = np.arange(len(market.tokens))
    start = ist_ns(DAY1, 10, 0)
    return [
        market.step_columns(every, start + step * NS_PER_SECOND, 45.0 + step / 60)
        for step in range(steps)
    ]


def test_a_batch_with_every_field_as_arrays_encodes_exactly_as_its_ticks() -> None:
    batches = circuit_batches(60)
    mended = 0
    for batch in batches:
        fields = batch.columns.every_field
        assert fields is not None
        assert encode_batch([fields]) == encode_ticks(list(batch))
        prices = [t.bid_px + t.ask_px for t in batch]
        mended += sum(0.0 in p and max(p) > 0 for p in prices)
    assert mended  # ticks with absent levels (zero quantities) were among them


def test_rows_cut_from_a_columnar_batch_carry_their_own_field_arrays() -> None:
    (batch,) = circuit_batches(1)
    part = batch.rows(7, 23)
    fields = part.columns.every_field
    assert fields is not None and len(fields["ltp"]) == 16
    assert encode_batch([fields]) == encode_ticks(list(batch)[7:23])


async def test_columnar_batches_and_single_ticks_are_stored_once_each(tmp_path: Path) -> None:
    batches = circuit_batches(12)
    singles = make_ticks(per_day=20)
    with TickStore.open(settings(batch_size=97), tmp_path) as store:
        writer = store.writer(TestClock())
        writer.start()
        sent: list[Tick] = []
        for i, (batch, tick) in enumerate(zip(batches, singles, strict=False)):
            # 40 rows as arrays, or as a list of ticks: batches of 97 cut through both.
            writer.enqueue_many(batch if i % 2 else list(batch))
            writer.enqueue(tick)
            sent += [*batch, tick]
        assert writer.close(timeout=60)
        stats = writer.stats()
        assert stats.enqueued == stats.written == len(sent) == count(store)
        assert stats.batches == -(-len(sent) // 97)
        assert stats.pending == stats.dropped == stats.failed == 0
        got = [t async for chunk in store.queries().ticks(None, 0, 2**62) for t in chunk]
    assert sorted(map(msgspec.structs.astuple, got)) == sorted(map(msgspec.structs.astuple, sent))


def test_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    with TickStore.open(settings(queue_capacity=100), tmp_path) as store:
        writer = store.writer(TestClock())  # not started: nothing drains the queue
        ticks = make_ticks(per_day=50)[:150]
        assert writer.enqueue_many(ticks[:80]) == 80
        assert writer.enqueue_many(ticks[80:130]) == 20
        assert writer.enqueue(ticks[130]) is False
        stats = writer.stats()
        assert (stats.enqueued, stats.dropped, stats.pending) == (100, 31, 100)
        assert writer.close()
        assert writer.enqueue(ticks[140]) is False
        assert count(store) == 100
        assert writer.stats().dropped == 32


def test_writer_writes_a_partial_batch_once_it_is_old_enough(tmp_path: Path) -> None:
    clock = TestClock()
    with TickStore.open(settings(batch_size=1000, batch_max_age_ms=200), tmp_path) as store:
        writer = store.writer(clock)
        writer.start()
        writer.enqueue_many(make_ticks(per_day=5)[:7])
        waiter = threading.Event()
        for _ in range(1000):  # bounded wait for the writer thread, not a timing check
            if writer.stats().written == 7:
                break
            clock.advance(0.05)
            waiter.wait(0.01)
        assert writer.stats().written == 7
        assert writer.stats().batches == 1
        writer.close()


def test_hot_path_stage_enqueues_and_passes_the_batch_on(store: TickStore) -> None:
    writer = store.writer(TestClock())
    batch = make_ticks(per_day=3)
    assert writer.hot_path(batch) is batch
    assert writer.stats().enqueued == len(batch)


class LostAck:
    """A client whose first insert is stored but reported as a network error."""

    def __init__(self, client) -> None:
        self.client = client
        self.tokens: list[str] = []

    def raw_insert(self, *args, **kwargs):
        self.tokens.append(kwargs["settings"]["insert_deduplication_token"])
        result = self.client.raw_insert(*args, **kwargs)
        if len(self.tokens) == 1:
            raise OperationalError("connection reset while reading the response")
        return result


def test_dedup_token_makes_a_retried_batch_count_once(store: TickStore) -> None:
    from engine.storage.writer import TickWriter

    flaky = LostAck(store.client())
    writer = TickWriter(flaky, settings(retry_backoff_ms=1), TestClock())
    ticks = make_ticks(per_day=30)
    writer.enqueue_many(ticks)
    assert writer.close()
    stats = writer.stats()
    assert stats.retries == 1 and stats.failed == 0
    assert flaky.tokens[0] == flaky.tokens[1]
    assert len(set(flaky.tokens)) == stats.batches
    assert stats.written == len(ticks) == count(store)
    assert int(store.client().command("SELECT sum(ticks) FROM bars_1m")) == len(ticks)


def test_dedup_is_by_token(store: TickStore) -> None:
    client = store.client()
    block = encode_ticks(make_ticks(per_day=4))
    for token in ("a", "a", "b"):
        client.raw_insert(
            "ticks",
            COLUMN_NAMES,
            block,
            settings={"insert_deduplication_token": token},
            fmt="Native",
        )
    assert count(store) == 2 * 24


def test_a_permanent_insert_error_is_counted_and_the_writer_goes_on(store: TickStore) -> None:
    from engine.storage.writer import TickWriter

    class Refuses:
        calls = 0

        def raw_insert(self, *args, **kwargs):
            Refuses.calls += 1
            if Refuses.calls == 1:
                raise ProgrammingError("Code: 60. Unknown table")
            return store.client().raw_insert(*args, **kwargs)

    writer = TickWriter(Refuses(), settings(batch_size=10), TestClock())
    writer.enqueue_many(make_ticks(per_day=10)[:25])
    assert writer.close()
    stats = writer.stats()
    assert (stats.failed, stats.written, stats.retries) == (10, 15, 0)
    assert stats.last_error is not None and "Unknown table" in stats.last_error


async def test_component_stores_what_the_bus_publishes(tmp_path: Path) -> None:
    from engine.bus import MessageBus

    bus = MessageBus()
    component = TickStoreComponent(settings(), tmp_path, TestClock(), bus)
    await component.start()
    ticks = make_ticks(per_day=20)
    for i in range(0, len(ticks), 7):
        bus.publish_ticks(ticks[i : i + 7])
    await component.stop()
    stats = component.stats()
    assert stats is not None and stats.written == len(ticks)
    with TickStore.open(settings(), tmp_path) as store:
        assert count(store) == len(ticks)


async def test_component_watch_ends_quietly_when_the_component_stops(tmp_path: Path) -> None:
    clock = TestClock()
    component = TickStoreComponent(settings(), tmp_path, clock)
    await component.start()
    watch = asyncio.create_task(component.run())
    await asyncio.sleep(0)
    await component.stop()  # closes the writer while the watch still runs, as at shutdown
    clock.advance(WATCH_INTERVAL_S)
    await asyncio.wait_for(watch, 5)  # returns; raised "tick writer stopped" before
    assert watch.exception() is None


async def test_component_watch_fails_when_the_writer_dies(tmp_path: Path) -> None:
    clock = TestClock()
    component = TickStoreComponent(settings(), tmp_path, clock)
    await component.start()
    try:
        watch = asyncio.create_task(component.run())
        await asyncio.sleep(0)
        assert component.writer is not None
        component.writer.close(timeout=10)  # the thread is gone, nobody asked to stop
        clock.advance(WATCH_INTERVAL_S)
        with pytest.raises(RuntimeError, match="tick writer stopped"):
            await asyncio.wait_for(watch, 5)
    finally:
        await component.stop()


# ---- opening: lock, bad directories -------------------------------------------------------

OPEN_SCRIPT = textwrap.dedent(
    """
    import sys
    from engine.storage import StorageSettings, TickStore, TickStoreError
    try:
        TickStore.open(StorageSettings(retention_days=None), sys.argv[1]).close()
    except TickStoreError as exc:
        print(type(exc).__name__, exc, sep="|")
    else:
        print("opened")
    """
)


def open_in_subprocess(data_dir: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", OPEN_SCRIPT, str(data_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.slow
def test_a_second_process_gets_one_clear_lock_error(tmp_path: Path) -> None:
    with TickStore.open(settings(), tmp_path):
        out = open_in_subprocess(tmp_path)
    kind, message = out.split("|")
    assert kind == "TickStoreLocked"
    assert str(tmp_path / "ticks") in message
    assert "\n" not in message
    assert open_in_subprocess(tmp_path) == "opened"  # the lock went with the store


def test_a_second_open_in_the_same_process_is_locked_too(store: TickStore, tmp_path: Path) -> None:
    with pytest.raises(TickStoreLocked, match="this process"):
        TickStore.open(settings(), tmp_path)


def test_an_unusable_directory_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(TickStoreError) as info:
        TickStore.open(settings(), blocker)
    assert str(blocker / "ticks") in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.slow
def test_a_corrupt_directory_is_one_clear_error(tmp_path: Path) -> None:
    TickStore.open(settings(), tmp_path).close()
    for sql in (tmp_path / "ticks" / "store").rglob("*.sql"):
        sql.write_text("garbage(((")
    kind, message = open_in_subprocess(tmp_path).split("|")
    assert kind == "TickStoreError"
    assert "corrupt" in message and str(tmp_path / "ticks") in message


async def test_read_only_open_reads_but_cannot_write(loaded, tmp_path: Path) -> None:
    store, ticks = loaded
    store.close()
    with TickStore.open(settings(), tmp_path, read_only=True) as reader:
        assert (await reader.queries().available_range()).ticks == len(ticks)
        with pytest.raises(TickStoreError, match="read-only"):
            reader.writer(TestClock())
        with pytest.raises(Exception, match="readonly"):
            reader.client().command("DROP TABLE ticks")


def test_default_dsn_is_chdb_under_the_data_dir(tmp_path: Path) -> None:
    assert StorageSettings().resolved_dsn(tmp_path) == f"chdb://{tmp_path.resolve()}/ticks"
    server = StorageSettings(dsn="http://u:p@h:8123/db")
    assert server.resolved_dsn(tmp_path) == "http://u:p@h:8123/db"
    with pytest.raises(ValueError, match="batch_sise"):
        StorageSettings(batch_sise=10)


def test_server_dsn_errors_are_one_line_and_hide_the_password(tmp_path: Path) -> None:
    bad = settings(dsn="http://desk:s3cret@127.0.0.1:9/ticks")
    with pytest.raises(TickStoreError) as info:
        TickStore.open(bad, tmp_path)
    assert "s3cret" not in str(info.value)
    assert "desk:***@127.0.0.1:9" in str(info.value)
    assert "\n" not in str(info.value)


# ---- memory -------------------------------------------------------------------------

SMAPS = """\
7f0000000000-7f0000100000 r--p 00000000 fe:00 11 /venv/chdb/_chdb.abi3.so
Rss:                 800 kB
Anonymous:             0 kB
7f0000100000-7f0000300000 r-xp 00100000 fe:00 11 /venv/chdb/_chdb.abi3.so
Rss:                1500 kB
Anonymous:             0 kB
7f0000300000-7f0000310000 r--p 00300000 fe:00 11 /venv/chdb/_chdb.abi3.so
Rss:                  64 kB
Anonymous:            64 kB
7f0000310000-7f0000320000 rw-p 00310000 fe:00 11 /venv/chdb/_chdb.abi3.so
Rss:                  64 kB
Anonymous:             0 kB
7f0000400000-7f0000500000 r-xp 00000000 fe:00 12 /usr/lib/libc.so.6
Rss:                 900 kB
Anonymous:             0 kB
7f0000600000-7f0000700000 r-xp 00000000 fe:00 13 /venv/chdb/_chdb.abi3.so
Rss:                   0 kB
Anonymous:             0 kB
7f0000700000-7f0000800000 rw-p 00000000 00:00 0
Rss:                 400 kB
Anonymous:           400 kB
"""


def test_only_unmodified_read_only_pages_of_the_library_are_released() -> None:
    # Relocated (copy-on-write) and writable mappings, other libraries, and mappings
    # with nothing resident are left alone.
    assert clean_mappings("_chdb", SMAPS) == [
        (0x7F0000000000, 0x7F0000100000, 800),
        (0x7F0000100000, 0x7F0000300000, 1500),
    ]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_store_gives_back_library_pages_and_keeps_working(tmp_path: Path) -> None:
    opened = TickStore.open(settings(), tmp_path)
    try:
        assert opened.released_bytes > 0
        ticks = make_ticks(seed=3, per_day=300)
        writer = opened.writer(TestClock())
        writer.start()
        writer.enqueue_many(ticks)
        assert writer.close(timeout=60)
        assert count(opened) == len(ticks)
        assert int(opened.client().command("SELECT sum(ticks) FROM bars_1m")) == len(ticks)
    finally:
        opened.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/smaps")
def test_store_gives_back_warm_up_pages_once_after_its_first_batches(tmp_path: Path) -> None:
    opened = TickStore.open(settings(), tmp_path)
    try:
        at_open = opened.released_bytes
        ticks = make_ticks(seed=4, per_day=150)
        writer = opened.writer(TestClock())
        writer.start()
        batches = [ticks[i : i + 50] for i in range(0, len(ticks), 50)]
        assert len(batches) > WARM_UP_BATCHES + 1
        released = []
        for batch in batches:
            writer.enqueue_many(batch)
            assert writer.flush(timeout=60)
            released.append(opened.released_bytes)
        # Nothing more before the warm-up batch, something at it, nothing after.
        assert released[: WARM_UP_BATCHES - 1] == [at_open] * (WARM_UP_BATCHES - 1)
        assert released[WARM_UP_BATCHES - 1] > at_open
        assert set(released[WARM_UP_BATCHES - 1 :]) == {released[WARM_UP_BATCHES - 1]}
        assert writer.close(timeout=60)
        assert count(opened) == len(ticks)
    finally:
        opened.close()


def test_releasing_library_pages_can_be_turned_off(tmp_path: Path) -> None:
    opened = TickStore.open(settings(release_library_pages=False), tmp_path)
    try:
        writer = opened.writer(TestClock())
        writer.start()
        for tick in make_ticks(seed=4, per_day=20)[: WARM_UP_BATCHES + 1]:
            writer.enqueue(tick)
            assert writer.flush(timeout=60)
        assert writer.stats().batches > WARM_UP_BATCHES
        assert opened.released_bytes == 0
    finally:
        opened.close()
