"""The replay's store reader hands the quality monitor the columns it read, not re-read ticks."""

from __future__ import annotations

from pathlib import Path

import msgspec
import numpy as np

from engine.clock import TestClock
from engine.quality.columns import ColumnarTicks, TickColumns
from engine.replay import StoredTicks
from engine.storage import TickStore
from tests.test_tickstore import make_ticks, settings

FIELDS = [name for name in TickColumns.__slots__ if name not in ("depth_ok", "every_field")]


def assert_same_columns(got: TickColumns, expected: TickColumns) -> None:
    assert got.depth_ok == expected.depth_ok
    for name in FIELDS:
        left, right = getattr(got, name), getattr(expected, name)
        assert left.shape == right.shape, name
        assert np.array_equal(left, right), name


async def read_back(tmp_path: Path, ticks: list) -> list[ColumnarTicks]:
    store = TickStore.open(settings(), tmp_path)
    try:
        writer = store.writer(TestClock())
        writer.start()
        writer.enqueue_many(ticks)
        assert writer.flush(timeout=60)
        tokens = sorted({t.instrument_token for t in ticks})
        return [chunk async for chunk in StoredTicks(store, tokens, 0, 2**62).chunks()]
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
