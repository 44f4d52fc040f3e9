"""The replay's store reader hands the quality monitor the columns it read, not re-read ticks."""

from __future__ import annotations

import itertools
from pathlib import Path

import msgspec
import numpy as np
import pytest

from engine.clock import TestClock
from engine.quality.columns import ColumnarTicks, TickColumns
from engine.replay import StoredTicks, source
from engine.storage import TickStore
from tests.test_tickstore import make_ticks, settings

FIELDS = [name for name in TickColumns.__slots__ if name not in ("depth_ok", "every_field")]


def assert_same_columns(got: TickColumns, expected: TickColumns) -> None:
    assert got.depth_ok == expected.depth_ok
    for name in FIELDS:
        left, right = getattr(got, name), getattr(expected, name)
        assert left.shape == right.shape, name
        assert np.array_equal(left, right), name


async def read_back(
    tmp_path: Path, ticks: list, slices: list[tuple[int, int]] | None = None
) -> list[ColumnarTicks]:
    store = TickStore.open(settings(), tmp_path)
    try:
        writer = store.writer(TestClock())
        writer.start()
        writer.enqueue_many(ticks)
        assert writer.flush(timeout=60)
        tokens = sorted({t.instrument_token for t in ticks})
        reader = StoredTicks(store, tokens, 0, 2**62)
        if slices is not None:
            client = store.client()
            slices += reader.slices(client)
            client.close()
        return [chunk async for chunk in reader.chunks()]
    finally:
        store.close()


async def test_stored_ticks_come_back_in_time_order_with_their_columns(tmp_path: Path) -> None:
    ticks = make_ticks(per_day=300)
    chunks = await read_back(tmp_path, ticks)
    assert all(isinstance(chunk, ColumnarTicks) for chunk in chunks)
    for chunk in chunks:
        assert_same_columns(chunk.columns, ColumnarTicks.from_ticks(list(chunk)).columns)
    assert [t for chunk in chunks for t in chunk] == ticks
    assert chunks[0].columns.depth_ok


async def test_a_block_with_a_short_book_says_its_depth_columns_are_not_whole(
    tmp_path: Path,
) -> None:
    ticks = make_ticks(per_day=40)
    short = msgspec.structs.replace(
        ticks[5],
        bid_px=ticks[5].bid_px[:2],
        bid_qty=ticks[5].bid_qty[:2],
        bid_orders=ticks[5].bid_orders[:2],
    )
    ticks[5] = short
    chunks = await read_back(tmp_path, ticks)
    assert [t for chunk in chunks for t in chunk] == ticks
    block = next(chunk for chunk in chunks if short in chunk)
    assert not block.columns.depth_ok and block.columns.bid_px.shape == (len(block), 0)
    assert_same_columns(block.columns, ColumnarTicks.from_ticks(list(block)).columns)


def test_rows_keep_ticks_and_columns_together() -> None:
    ticks = make_ticks(per_day=20)
    batch = ColumnarTicks.from_ticks(ticks)
    part = batch.rows(7, 19)
    assert isinstance(part, ColumnarTicks) and list(part) == ticks[7:19]
    assert_same_columns(part.columns, ColumnarTicks.from_ticks(ticks[7:19]).columns)


async def test_the_window_is_read_in_slices_of_whole_minutes_that_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(source, "SLICE_ROWS", 100)
    ticks = make_ticks(per_day=300)  # 1,800 ticks over two days
    slices: list[tuple[int, int]] = []
    chunks = await read_back(tmp_path, ticks, slices)
    assert [t for chunk in chunks for t in chunk] == ticks
    assert len(slices) >= 10 and slices[0][0] == 0 and slices[-1][1] == 2**62
    assert all(hi == lo for (_, hi), (lo, _) in itertools.pairwise(slices))
    assert all(hi % 60_000_000_000 == 0 for _, hi in slices[:-1])
    counts = [sum(lo <= t.exchange_ts_ns < hi for t in ticks) for lo, hi in slices]
    assert min(counts[:-1]) >= 100 and sum(counts) == len(ticks)
