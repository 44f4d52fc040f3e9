"""Kernel lifecycle: phased start, reverse stop within the bound, crashes made visible."""

from __future__ import annotations

import asyncio

import pytest

from engine.alerts import AlertRaised, Severity
from engine.clock import TestClock
from engine.component import Component
from engine.health import HealthState
from engine.kernel import EngineStartError, Kernel
from engine.snapshot import AddToWatchlist, RemoveFromWatchlist


class Recorder(Component):
    def __init__(self, name: str, log: list[str], fail: bool = False, critical: bool = False):
        self.name = name
        self.log = log
        self.fail = fail
        self.critical = critical

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def run(self) -> None:
        if self.fail:
            raise RuntimeError("boom")
        await asyncio.Event().wait()

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


async def run_until_started(kernel: Kernel) -> tuple[asyncio.Event, asyncio.Task[None]]:
    shutdown = asyncio.Event()
    task = asyncio.create_task(kernel.run(shutdown))
    await asyncio.wait_for(kernel.started.wait(), 5)
    await asyncio.sleep(0)
    return shutdown, task


async def test_components_start_in_order_and_stop_in_reverse(settings) -> None:
    kernel = Kernel(settings, TestClock())
    log: list[str] = []
    kernel.components = [Recorder("storage", log), Recorder("risk", log), Recorder("feed", log)]
    shutdown, task = await run_until_started(kernel)
    assert kernel.health.overall() == HealthState.RUNNING
    shutdown.set()
    await asyncio.wait_for(task, 5)
    assert log == [
        "start storage",
        "start risk",
        "start feed",
        "stop feed",
        "stop risk",
        "stop storage",
    ]
    assert {c.state for c in kernel.health.all()} == {HealthState.STOPPED}


async def test_crashed_component_is_failed_alerted_and_others_run_on(settings) -> None:
    kernel = Kernel(settings, TestClock())
    alerts = kernel.bus.subscribe("test", ["alerts."])
    log: list[str] = []
    kernel.components = [Recorder("strategy", log, fail=True), Recorder("feed", log)]
    shutdown, task = await run_until_started(kernel)
    failed = kernel.health.get("strategy")
    assert failed.state == HealthState.FAILED
    assert "RuntimeError: boom" in failed.detail
    assert kernel.health.get("feed").state == HealthState.RUNNING
    assert kernel.health.overall() == HealthState.FAILED
    raised = []
    while (item := alerts.get_nowait()) is not None:
        raised.append(item[1])
    failure = next(a for a in raised if "strategy failed" in a.message)
    assert isinstance(failure, AlertRaised) and failure.severity == Severity.WARNING
    assert kernel.readiness()[0] is False
    shutdown.set()
    await asyncio.wait_for(task, 5)
    assert "stop feed" in log


async def test_a_component_that_cannot_start_stops_the_others_and_names_itself(settings) -> None:
    kernel = Kernel(settings, TestClock())
    log: list[str] = []

    class Broken(Component):
        name = "ledger"

        async def start(self) -> None:
            raise ConnectionError("connection refused\nsecond line")

    kernel.components = [Recorder("storage", log), Broken(), Recorder("feed", log)]
    with pytest.raises(EngineStartError) as error:
        await kernel.run(asyncio.Event())
    assert str(error.value) == "ledger could not start: connection refused"
    assert log == ["start storage", "stop storage"]
    assert kernel.health.get("ledger").state == HealthState.FAILED


async def test_paper_trading_starts_halted_and_turns_active_once_the_ledger_loads(settings) -> None:
    kernel = Kernel(settings, TestClock())
    assert kernel.risk.state.value == "HALTED"
    shutdown, task = await run_until_started(kernel)
    assert kernel.status().trading_state == "ACTIVE"
    shutdown.set()
    await asyncio.wait_for(task, 5)


async def test_stop_is_bounded_by_the_shutdown_timeout(settings) -> None:
    settings = settings.model_copy(update={"shutdown_timeout_s": 0.2})
    kernel = Kernel(settings, TestClock())

    class Stuck(Component):
        name = "stuck"

        async def stop(self) -> None:
            await asyncio.Event().wait()

    kernel.components = [Stuck()]
    shutdown, task = await run_until_started(kernel)
    shutdown.set()
    await asyncio.wait_for(task, 2)


def test_snapshot_carries_only_what_changed(frozen_kernel: Kernel) -> None:
    full = frozen_kernel.snapshot(0)
    assert len(full.quotes) == 52
    assert full.watchlist[0] == "NSE:RELIANCE"
    assert frozen_kernel.snapshot(full.version).quotes == ()
    frozen_kernel.feed.emit(3)
    changed = frozen_kernel.snapshot(full.version)
    assert 1 <= len(changed.quotes) <= 3
    assert changed.status.mode == "PAPER"
    assert changed.status.ticks_per_second == 52.0


async def test_watchlist_commands(frozen_kernel: Kernel) -> None:
    result = await frozen_kernel.execute(RemoveFromWatchlist(symbol="infy"))
    assert result.ok and "NSE:INFY" not in frozen_kernel.snapshot(0).watchlist
    assert (await frozen_kernel.execute(AddToWatchlist(symbol="NSE:INFY"))).ok
    assert frozen_kernel.snapshot(0).watchlist[-1] == "NSE:INFY"
    duplicate = await frozen_kernel.execute(AddToWatchlist(symbol="INFY"))
    assert not duplicate.ok and "already" in duplicate.message
    unknown = await frozen_kernel.execute(AddToWatchlist(symbol="NOSUCH"))
    assert not unknown.ok and unknown.message == "unknown symbol: NOSUCH"


def test_live_mode_on_a_simulated_feed_is_refused(settings) -> None:
    live = settings.model_copy(update={"mode": "live"})
    with pytest.raises(EngineStartError, match="live mode trades on Kite's prices only"):
        Kernel(live, TestClock())
