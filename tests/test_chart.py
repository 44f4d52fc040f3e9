"""Charts: bars from the real tick store through the kernel, and the chart screen frozen."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

from engine.charts import ChartBar, ChartBars
from engine.clock import NS_PER_SECOND, TestClock
from engine.kernel import Kernel
from engine.settings import load_settings
from screens.chart import ChartScreen
from tests.conftest import FROZEN_START
from tests.test_market_watch import loaded, wait_until


async def test_kernel_serves_bars_from_the_tick_store(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path / "data",
        metrics={"enabled": False},
        storage={"retention_days": None, "batch_size": 1000},
        # The test emits every tick itself; the feed's own pacing loop must add none.
        feed={"ticks_per_second": 0.001},
    )
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings, clock)
    shutdown = asyncio.Event()
    task = asyncio.create_task(kernel.run(shutdown))
    await asyncio.wait_for(kernel.started.wait(), 30)
    try:
        for _ in range(180):  # three minutes of the mock market
            clock.advance(1.0)
            kernel.feed.emit(52)
        assert kernel.storage is not None and kernel.storage.writer is not None
        assert await asyncio.to_thread(kernel.storage.writer.flush, 30)
        chart = await kernel.bars("RELIANCE", "1m")
        reliance = next(t for t in kernel.cache.last.values() if t.instrument_token == 738561)
    finally:
        shutdown.set()
        await asyncio.wait_for(task, 30)
    assert chart.note == "" and len(chart.bars) in (3, 4)
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in chart.bars)
    assert chart.bars[-1].close == reliance.ltp
    starts = [b.ts_ns for b in chart.bars]
    assert all(b - a == 60 * NS_PER_SECOND for a, b in itertools.pairwise(starts))
    unknown = await kernel.bars("NOSUCH", "1m")
    assert unknown.bars == () and unknown.note == "unknown symbol: NOSUCH"


async def test_chart_without_a_tick_store_says_why(frozen_kernel) -> None:
    chart = await frozen_kernel.bars("RELIANCE", "5m")
    assert chart.bars == () and "tick store is off" in chart.note


def frozen_bars(key: str, timeframe: str) -> ChartBars:
    start = int(FROZEN_START.timestamp()) * NS_PER_SECOND - 60 * 60 * NS_PER_SECOND
    bars = []
    price = 1500.0
    for i in range(60):
        step = ((i * 7919) % 11 - 5) * 0.35
        open_, close = price, round(price + step, 2)
        high, low = max(open_, close) + 0.8, min(open_, close) - 0.6
        bars.append(ChartBar(start + i * 60 * NS_PER_SECOND, open_, high, low, close, 500 + i * 37))
        price = close
    return ChartBars(key, timeframe, tuple(bars))


class TestChartScreen:
    def test_candles_at_160x48(self, snap_compare, desk_app, monkeypatch) -> None:
        async def bars(key: str, timeframe: str) -> ChartBars:
            return frozen_bars(key, timeframe)

        monkeypatch.setattr(desk_app.client, "bars", bars)

        async def open_chart(pilot) -> None:
            await loaded(pilot)
            await pilot.press("c")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChartScreen))
            screen = pilot.app.screen
            await wait_until(pilot, lambda: len(screen.candles) == 60)
            await pilot.press("left", "left", "left")
            await pilot.pause(0.2)

        assert snap_compare(desk_app, terminal_size=(160, 48), run_before=open_chart)


async def test_chart_cursor_and_timeframe_keys(desk_app, monkeypatch) -> None:
    asked: list[str] = []

    async def bars(key: str, timeframe: str) -> ChartBars:
        asked.append(timeframe)
        return frozen_bars(key, timeframe)

    monkeypatch.setattr(desk_app.client, "bars", bars)
    async with desk_app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ChartScreen))
        screen = pilot.app.screen
        await wait_until(pilot, lambda: len(screen.candles) == 60)
        assert screen.key == "NSE:RELIANCE"
        await pilot.press("left", "left")
        chart = screen.query_one("#chart")
        assert chart.cursor == 57 and not screen.follow
        info = str(screen.query_one("#info").render())
        candle = screen.candles[57]
        assert f"C {candle.close:,.2f}" in info
        await pilot.press("t")
        await wait_until(pilot, lambda: "5m" in asked)
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, ChartScreen)
