"""Strategies added, run, stopped, removed and loaded from new files while the engine runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import TestClock
from engine.kernel import Kernel
from engine.orders.model import OrderStatus
from engine.settings import Settings
from engine.snapshot import CommandResult
from engine.strategies import StrategyState
from engine.strategies.commands import (
    AddStrategy,
    ReloadStrategies,
    RemoveStrategy,
    StartStrategy,
    StopStrategy,
    UpdateStrategyParams,
)
from tests.conftest import FROZEN_START

THREE = ("RELIANCE", "NSE:INFY", "TCS")
FAST = {"fast": 2, "slow": 3}

TICK_BUYER = '''
from engine.strategies import Strategy, StrategyParams


class OnceBuyer(Strategy):
    """Buys once on its first tick."""

    key = "once_buyer"

    class Params(StrategyParams):
        note: str = "hello"
        """Free text."""

    def on_start(self) -> None:
        self.done = False

    def on_tick(self, tick) -> None:
        if not self.done:
            self.done = True
            self.buy(tick.instrument_token)
'''


async def started(settings: Settings) -> tuple[Kernel, TestClock]:
    """A kernel with the ledger open, risk ACTIVE and strategies loaded; the feed has ticked once."""
    clock = TestClock(FROZEN_START)
    kernel = Kernel(settings, clock)
    await kernel.trading.start()
    kernel.reconcile()
    assert kernel.strategies is not None
    await kernel.strategies.start()
    kernel.feed.emit(len(kernel.feed.market.tokens))
    return kernel, clock


async def run_minutes(kernel: Kernel, clock: TestClock, minutes: int) -> None:
    """Ticks every 10 s of engine time; orders reach the trading service, fills come back."""
    universe = len(kernel.feed.market.tokens)
    manager = kernel.strategies
    assert manager is not None
    for _ in range(minutes * 6):
        clock.advance(10)
        kernel.feed.emit(universe)
        await manager.settle()
        manager.drain_events()


def view(kernel: Kernel, name: str):
    return next(v for v in kernel.strategy_views() if v.name == name)


def strategy_orders(kernel: Kernel, name: str):
    return [o for o in kernel.trading.orders() if o.strategy_id == name]


async def add(kernel: Kernel, name: str = "xo", **kw: object) -> CommandResult:
    kw.setdefault("class_name", "sma_crossover")
    kw.setdefault("instruments", THREE)
    kw.setdefault("params", FAST)
    return await kernel.execute(AddStrategy(name=name, **kw))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"name": "Bad Name"}, "invalid strategy name 'Bad Name': 1-32 lowercase letters"),
        ({"name": "kill-switch"}, "strategy name 'kill-switch' is reserved"),
        ({"name": "manual"}, "strategy name 'manual' is reserved"),
        ({"name": "x" * 33}, "invalid strategy name"),
        ({"class_name": "nope"}, "unknown strategy class 'nope' (available: bollinger_breakout,"),
        ({"instruments": ("RELIANCE", "NOSUCH")}, "unknown instrument 'NOSUCH'"),
        ({"instruments": (" ",)}, "a strategy needs at least one instrument"),
        ({"params": {"fast": 0}}, "strategy xo: params.fast: Input should be greater than"),
        ({"params": {"speed": 3}}, "strategy xo: params.speed: unknown parameter"),
        ({"params": {"fast": 5, "slow": 4}}, "fast (5) must be less than slow (4)"),
    ],
)
async def test_add_refuses_bad_input_with_one_line(settings: Settings, kw, message) -> None:
    kernel, _ = await started(settings)
    result = await add(kernel, **kw)
    assert not result.ok
    assert message in result.message
    assert "\n" not in result.message
    assert kernel.strategy_views() == ()
    await kernel.trading.stop()


async def test_names_are_unique_and_may_use_hyphens(settings: Settings) -> None:
    kernel, _ = await started(settings)
    assert (await add(kernel, "trend-1")).ok
    again = await add(kernel, "trend-1", class_name="ema_crossover")
    assert again.message == "a strategy named 'trend-1' already exists"
    (shown,) = kernel.strategy_views()
    assert (shown.name, shown.class_name, shown.state, shown.mode) == (
        "trend-1",
        "sma_crossover",
        "stopped",
        "paper",
    )
    assert shown.instruments == ("NSE:RELIANCE", "NSE:INFY", "NSE:TCS")
    assert dict(shown.params)["fast"] == "2"
    await kernel.trading.stop()


async def test_crossover_on_three_symbols_trades_paper_then_stops(settings: Settings) -> None:
    kernel, clock = await started(settings)
    result = await add(kernel, start=True)
    assert (result.ok, result.message) == (True, "strategy xo added and started")
    assert view(kernel, "xo").state == "running"

    await run_minutes(kernel, clock, 30)
    shown = view(kernel, "xo")
    orders = strategy_orders(kernel, "xo")
    assert shown.signals > 0 and shown.orders == len(orders)
    assert {o.tradingsymbol for o in orders} == {"RELIANCE", "INFY", "TCS"}
    assert all(o.status is OrderStatus.COMPLETE for o in orders)
    assert {p.tradingsymbol for p in shown.positions} == {"RELIANCE", "INFY", "TCS"}
    assert shown.realized_pnl != 0.0
    fills = [f for f in kernel.trading.fills() if f.strategy_id == "xo"]
    assert len(fills) == len(orders)

    stopped = await kernel.execute(StopStrategy(name="xo"))
    assert (stopped.ok, view(kernel, "xo").state) == (True, "stopped")
    count = len(strategy_orders(kernel, "xo"))
    await run_minutes(kernel, clock, 10)
    assert len(strategy_orders(kernel, "xo")) == count
    await kernel.trading.stop()


async def test_orders_pass_risk_a_halt_refuses_them(settings: Settings) -> None:
    kernel, clock = await started(settings)
    kernel.risk.halt("test halt", "tester")
    assert (await add(kernel, start=True)).ok
    await run_minutes(kernel, clock, 30)
    shown = view(kernel, "xo")
    assert shown.signals > 0
    assert shown.rejected == shown.signals
    assert shown.positions == () or all(p.net_qty == 0 for p in shown.positions)
    assert all(o.status is OrderStatus.REJECTED for o in strategy_orders(kernel, "xo"))
    await kernel.trading.stop()


async def test_params_update_names_the_bad_field(settings: Settings) -> None:
    kernel, _ = await started(settings)
    assert (await add(kernel)).ok
    bad = await kernel.execute(UpdateStrategyParams(name="xo", params={"slow": "many"}))
    assert not bad.ok and bad.message.startswith("strategy xo: params.slow:")
    good = await kernel.execute(UpdateStrategyParams(name="xo", params={"slow": 5}))
    assert good.ok and dict(view(kernel, "xo").params)["slow"] == "5"
    await kernel.trading.stop()


async def test_remove_only_a_stopped_strategy(settings: Settings) -> None:
    kernel, clock = await started(settings)
    assert (await add(kernel, start=True)).ok
    refused = await kernel.execute(RemoveStrategy(name="xo"))
    assert refused.message == "strategy xo is running; stop it first"
    assert (await kernel.execute(StopStrategy(name="xo"))).ok
    removed = await kernel.execute(RemoveStrategy(name="xo"))
    assert (removed.ok, removed.message) == (True, "strategy xo removed")
    assert kernel.strategy_views() == ()
    await run_minutes(kernel, clock, 5)
    assert strategy_orders(kernel, "xo") == []
    unknown = await kernel.execute(RemoveStrategy(name="xo"))
    assert unknown.message == "unknown strategy 'xo'"
    assert (await add(kernel)).ok  # the name is free again
    await kernel.trading.stop()


async def test_file_dropped_in_while_running_is_used_after_reload(settings: Settings) -> None:
    kernel, clock = await started(settings)
    directory = settings.data_dir / "strategies"
    directory.mkdir(parents=True, exist_ok=True)
    before = await add(kernel, "once", class_name="once_buyer", instruments=("INFY",), params={})
    assert not before.ok and "unknown strategy class 'once_buyer'" in before.message

    (directory / "once.py").write_text(TICK_BUYER)
    reloaded = await kernel.execute(ReloadStrategies())
    assert (reloaded.ok, reloaded.message) == (True, "strategies reloaded: new once_buyer")
    assert ("once_buyer", "Buys once on its first tick [note=hello]") in kernel.strategy_classes()

    added = await add(
        kernel, "once", class_name="once_buyer", instruments=("INFY",), params={}, start=True
    )
    assert added.ok, added.message
    await run_minutes(kernel, clock, 1)
    orders = strategy_orders(kernel, "once")
    assert [(o.tradingsymbol, o.side.value, o.status) for o in orders] == [
        ("INFY", "BUY", OrderStatus.COMPLETE)
    ]
    assert kernel.strategies is not None
    assert kernel.strategies.state("once") is StrategyState.RUNNING
    await kernel.trading.stop()


async def test_reload_reports_each_broken_file_on_one_line(settings: Settings) -> None:
    kernel, _ = await started(settings)
    directory: Path = settings.data_dir / "strategies"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "good.py").write_text(TICK_BUYER)
    (directory / "broken.py").write_text("def oops(:\n")
    (directory / "empty.py").write_text("x = 1\n")
    result = await kernel.execute(ReloadStrategies())
    assert not result.ok
    assert result.message == (
        "strategies reloaded: new once_buyer; "
        "strategy file broken.py: SyntaxError: invalid syntax (line 1); "
        "strategy file empty.py: defines no Strategy subclass"
    )
    assert "once_buyer" in dict(kernel.strategy_classes())
    again = await kernel.execute(ReloadStrategies())
    assert again.message.startswith("strategies reloaded: no new class;")
    await kernel.trading.stop()


async def test_a_changed_file_applies_to_strategies_added_after_reload(settings: Settings) -> None:
    kernel, _ = await started(settings)
    directory = settings.data_dir / "strategies"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "once.py"
    path.write_text(TICK_BUYER)
    assert (await kernel.execute(ReloadStrategies())).ok
    assert (await add(kernel, "a", class_name="once_buyer", instruments=("TCS",), params={})).ok
    path.write_text(TICK_BUYER.replace('"hello"', '"changed"'))
    assert (await kernel.execute(ReloadStrategies())).ok
    assert (await add(kernel, "b", class_name="once_buyer", instruments=("TCS",), params={})).ok
    assert dict(view(kernel, "a").params)["note"] == '"hello"'
    assert dict(view(kernel, "b").params)["note"] == '"changed"'
    assert (await kernel.execute(StartStrategy(name="a"))).ok
    await kernel.trading.stop()
