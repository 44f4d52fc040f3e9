"""The health screen: pulled once a second, updated in place, frozen in snapshots."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from msgspec.structs import replace

from engine.clock import TestClock
from engine.feeds.mock import BadData, Silences
from engine.kernel import Kernel
from engine.quality import names
from engine.settings import Settings
from screens.health import HealthScreen, KeyedTable
from tests.conftest import FROZEN_START

SILENCES = Silences(instrument_every_s=30, instrument_for_s=65, feed_every_s=60, feed_for_s=7)


def bad_data_kernel(settings: Settings, seconds: int = 150) -> Kernel:
    """Like ``warm_kernel``, on the bad-data feed, sweeping every second; then frozen."""
    feed = settings.feed.model_copy(update={"scenario": "bad-data", "fault_rate": 0.03})
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings.model_copy(update={"feed": feed}), clock)
    # Silences often enough that the stale and gap rows have counts in the snapshot.
    kernel.feed.bad_data = BadData(0.03, feed.seed, kernel.feed.market, SILENCES, clock.now_ns())
    universe = len(kernel.feed.market.tokens)
    for _ in range(seconds):
        clock.advance(1.0)
        kernel.feed.emit(universe)
        kernel.quality.sweep()
        kernel.cache.sample_history()
        kernel.update_rates()
    return kernel


@pytest.fixture
def bad_app(settings: Settings) -> Iterator[object]:
    """The desk app over a frozen kernel that was fed bad data."""
    from alphapt_tui.app import DeskApp
    from engine.client import LocalEngineClient
    from engine.runner import EngineThread

    kernel = bad_data_kernel(settings)
    engine = EngineThread(kernel)
    engine.start()
    try:
        yield DeskApp(LocalEngineClient(engine), kernel.settings)
    finally:
        engine.stop()


async def open_health(pilot) -> HealthScreen:
    screen = HealthScreen()
    await pilot.app.push_screen(screen)
    for _ in range(100):
        await pilot.pause(0.05)
        if screen.report is not None and pilot.app.status is not None:
            break
    await pilot.pause(0.1)
    assert screen.report is not None
    return screen


def cell(screen: HealthScreen, table: str, row: str, column: str) -> str:
    value = screen.query_one(f"#{table}", KeyedTable).get_cell(row, column)
    return getattr(value, "plain", str(value))


async def test_shows_every_check_with_counts_and_policies(bad_app) -> None:
    async with bad_app.run_test(size=(160, 48)) as pilot:
        screen = await open_health(pilot)
        report = screen.report
        checks = screen.query_one("#checks", KeyedTable)
        assert checks.row_count == len(names.ALL_CHECKS)
        for summary in report.quality.checks:
            assert cell(screen, "checks", summary.name, "count") == f"{summary.count:,}"
            assert cell(screen, "checks", summary.name, "policy") == summary.policy
        assert cell(screen, "checks", names.PRICE_SPIKE, "count") != "0"
        assert cell(screen, "checks", names.FEED_GAP, "count") != "0"
        worst = report.quality.worst[0]
        assert cell(screen, "worst", str(worst.instrument_token), "score") == f"{worst.score:.1f}"
        assert cell(screen, "components", "feed", "state") == "running"
        assert cell(screen, "connections", "feed", "state") == "live"
        summary = str(screen.query_one("#summary").render())
        assert f"{report.quality.score:.2f}%" in summary


async def test_pulls_at_most_one_report_in_flight(desk_app) -> None:
    async with desk_app.run_test(size=(100, 30)) as pilot:
        client = desk_app.client
        calls = 0
        real = client.health

        async def slow_health():
            nonlocal calls
            calls += 1
            return await real()

        client.health = slow_health
        screen = await open_health(pilot)
        before = calls
        screen._pulling = True  # a request is in flight
        await screen.refresh_health()
        await screen.refresh_health()
        assert calls == before
        screen._pulling = False
        await screen.refresh_health()
        assert calls == before + 1


async def test_updates_cells_in_place(bad_app) -> None:
    async with bad_app.run_test(size=(100, 30)) as pilot:
        screen = await open_health(pilot)
        checks = screen.query_one("#checks", KeyedTable)
        cleared = []
        checks.clear = lambda *a, **k: cleared.append(a)  # a rebuild would call this
        report = screen.report
        bumped = report.quality.checks[0].name
        changed = tuple(
            replace(c, count=9999) if c.name == bumped else c for c in report.quality.checks
        )
        screen.show(replace(report, quality=replace(report.quality, checks=changed)))
        assert cleared == []
        assert cell(screen, "checks", bumped, "count") == "9,999"


async def test_engine_unreachable_is_one_line(desk_app) -> None:
    async with desk_app.run_test(size=(100, 30)) as pilot:
        screen = await open_health(pilot)

        async def down():
            raise ConnectionError("gone")

        desk_app.client.health = down
        await screen.refresh_health()
        await pilot.pause(0.05)
        assert "engine unreachable: ConnectionError" in str(screen.query_one("#summary").render())


class TestHealthSnapshots:
    def test_wide_terminal(self, snap_compare, bad_app) -> None:
        async def run_before(pilot) -> None:
            await open_health(pilot)

        assert snap_compare(bad_app, terminal_size=(160, 48), run_before=run_before)

    def test_narrow_terminal(self, snap_compare, bad_app) -> None:
        async def run_before(pilot) -> None:
            await open_health(pilot)

        assert snap_compare(bad_app, terminal_size=(100, 30), run_before=run_before)
