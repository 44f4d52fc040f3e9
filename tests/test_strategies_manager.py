"""The manager: isolation of failures, runtime control, parameters, latency, timers, workers."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from prometheus_client import generate_latest

from engine.alerts import Severity
from engine.model import Tick
from engine.orders.events import OrderEvent
from engine.orders.model import Fill
from engine.strategies import Strategy, StrategyParams, StrategyState
from engine.strategies.testing import Harness

AAA, BBB = 101, 102


class Boom(Strategy):
    """Raises on every tick."""

    def on_tick(self, tick: Tick) -> None:
        raise RuntimeError(f"bad tick {tick.ltp}")


class EveryTick(Strategy):
    """Buys on every tick and records its callbacks."""

    def on_start(self) -> None:
        self.seen: list[str] = []

    def on_tick(self, tick: Tick) -> None:
        self.buy(tick.instrument_token)

    def on_order_update(self, event: OrderEvent) -> None:
        self.seen.append(type(event).__name__)

    def on_fill(self, fill: Fill) -> None:
        self.seen.append(f"fill {fill.quantity}@{fill.price:g}")


CLASSES = {"boom": Boom, "every": EveryTick}


def make(tmp_path: Path, *entries: dict, **settings: object) -> Harness:
    return Harness(list(entries), tmp_path, builtins=CLASSES, **settings)


def e(name: str, cls: str, *symbols: str, **extra: object) -> dict:
    return {"name": name, "class": cls, "instruments": list(symbols or ("AAA",)), **extra}


async def test_failing_strategy_is_isolated_after_one_alert(tmp_path: Path) -> None:
    h = make(tmp_path, e("boom", "boom"), e("good", "every"))
    await h.manager.start()
    for second in range(5):
        await h.step(AAA, 100 + second, h.at(0, second))
    assert h.manager.state("boom") is StrategyState.FAILED
    assert h.manager.state("good") is StrategyState.RUNNING
    assert h.alerts == [
        (
            Severity.CRITICAL,
            h.alerts[0][1],
            "strategy boom failed in on_tick: RuntimeError: bad tick 100; "
            "its open orders are being cancelled",
        )
    ]
    assert [(c.strategy_id, c.reason) for c in h.gateway.cancel_alls] == [
        ("boom", "strategy boom failed")
    ]
    assert h.orders() == [("good", "BUY", "AAA", 1)] * 5
    views = {v.name: v for v in h.manager.views()}
    assert views["boom"].last_error == "on_tick: RuntimeError: bad tick 100"
    assert views["good"].signals == 5


async def test_failure_with_keep_policy_cancels_nothing(tmp_path: Path) -> None:
    h = make(tmp_path, e("boom", "boom", on_failure="keep"))
    await h.manager.start()
    await h.step(AAA, 100, h.at(0))
    assert h.gateway.cancel_alls == []
    assert h.alerts[0][2].endswith("its open orders are kept")


async def test_order_events_and_fills_reach_the_strategy_and_its_positions(tmp_path: Path) -> None:
    h = make(tmp_path, e("good", "every", "AAA", "BBB"))
    await h.manager.start()
    await h.step(AAA, 100, h.at(0))
    await h.step(BBB, 50, h.at(0, 2))
    await h.step(AAA, 110, h.at(0, 3))
    strategy = h.manager.strategy("good")
    assert strategy.seen == [
        "OrderInitialized", "OrderAccepted", "OrderFilled", "fill 1@100",
        "OrderInitialized", "OrderAccepted", "OrderFilled", "fill 1@50",
        "OrderInitialized", "OrderAccepted", "OrderFilled", "fill 1@110",
    ]  # fmt: skip
    assert strategy.positions() == {AAA: 2, BBB: 1}
    assert strategy.open_orders() == []
    (view,) = h.manager.views()
    # AAA: 2 at avg 105, marked at 110 → +10; BBB flat to its 50 → 0.
    assert view.unrealized_pnl == 10.0
    assert view.open_orders == 0
    assert view.orders == 3


async def test_stop_start_enable_disable_at_runtime(tmp_path: Path) -> None:
    h = make(tmp_path, e("a", "every"), e("b", "every", enabled=False), fill=False)
    await h.manager.start()
    assert h.manager.state("a") is StrategyState.RUNNING
    assert h.manager.state("b") is StrategyState.DISABLED
    await h.step(AAA, 100, h.at(0))
    assert h.orders() == [("a", "BUY", "AAA", 1)]

    assert h.manager.stop_strategy("a") is None
    assert h.manager.state("a") is StrategyState.STOPPED
    await h.settle()
    # Unfilled orders of a stopped strategy are cancelled.
    assert [c.strategy_id for c in h.gateway.cancel_alls] == ["a"]
    await h.step(AAA, 101, h.at(0, 2))
    assert len(h.gateway.submits) == 1

    assert h.manager.start_strategy("b") == "strategy b is disabled; enable it first"
    assert h.manager.enable("b") is None
    assert h.manager.start_strategy("a") is None
    await h.step(AAA, 102, h.at(0, 3))
    assert h.orders()[1:] == [("a", "BUY", "AAA", 1), ("b", "BUY", "AAA", 1)]

    assert h.manager.disable("a") is None
    assert h.manager.state("a") is StrategyState.DISABLED
    assert h.manager.stop_strategy("a") == "strategy a is not running (disabled)"
    assert h.manager.start_strategy("zz") == "unknown strategy 'zz'"
    await h.step(AAA, 103, h.at(0, 4))
    assert h.orders()[3:] == [("b", "BUY", "AAA", 1)]


async def test_failed_strategy_can_be_restarted_by_hand(tmp_path: Path) -> None:
    h = make(tmp_path, e("boom", "boom"))
    await h.manager.start()
    await h.step(AAA, 100, h.at(0))
    assert h.manager.start_strategy("boom") is None
    assert h.manager.state("boom") is StrategyState.RUNNING
    await h.step(AAA, 101, h.at(0, 2))
    assert h.manager.state("boom") is StrategyState.FAILED
    assert len(h.alerts) == 2


async def test_engine_stop_stops_strategies_and_flushes_their_commands(tmp_path: Path) -> None:
    h = make(tmp_path, e("a", "every"), fill=False)
    await h.manager.start()
    h.tick(AAA, 100, h.at(0))
    await h.manager.stop()
    assert h.orders() == [("a", "BUY", "AAA", 1)]
    assert [c.strategy_id for c in h.gateway.cancel_alls] == ["a"]
    assert h.manager.state("a") is StrategyState.STOPPED


class Tunable(Strategy):
    class Params(StrategyParams):
        level: int = 5
        """A level."""

    def on_params_changed(self, old: StrategyParams) -> None:
        self.changed = (old.level, self.params.level)


async def test_update_params_validates_and_applies(tmp_path: Path) -> None:
    h = Harness([e("t", "tunable")], tmp_path, builtins={"tunable": Tunable})
    await h.manager.start()
    assert h.manager.update_params("t", {"level": 9}) is None
    assert h.manager.strategy("t").changed == (5, 9)
    assert h.manager.update_params("t", {"level": "high"}) == (
        "strategy t: params.level: Input should be a valid integer, unable to parse string as "
        "an integer (got 'high')"
    )
    assert h.manager.update_params("t", {"levl": 1}) == (
        "strategy t: params.levl: unknown parameter (got 1)"
    )
    assert h.manager.update_params("t", {"quantity": 0}) == (
        "strategy t: params.quantity: Input should be greater than 0 (got 0)"
    )
    assert dict(h.manager.views()[0].params)["level"] == "9"
    assert h.manager.update_params("nope", {}) == "unknown strategy 'nope'"


async def test_invalid_params_and_unknowns_at_load_are_one_line_alerts(tmp_path: Path) -> None:
    entries = [
        {"name": "x1", "class": "sma_crossover", "instruments": ["AAA"], "params": {"fast": 0}},
        {"name": "x2", "class": "sma_crossover", "params": {"fast": 30, "slow": 10}},
        {"name": "x3", "class": "nope"},
        {"name": "x4", "class": "sma_crossover", "instruments": ["NSE:ZZZ"]},
        {"name": "x5", "class": "sma_crossover", "mode": "live"},
        {"name": "ok", "class": "sma_crossover", "instruments": ["AAA"]},
    ]
    h = Harness(entries, tmp_path)
    await h.manager.start()
    messages = [m for _, _, m in h.alerts]
    assert messages[0] == (
        "strategy x1: params.fast: Input should be greater than or equal to 1 (got 0)"
    )
    assert messages[1] == "strategy x2: params: Value error, fast (30) must be less than slow (10)"
    assert messages[2].startswith("strategy x3: unknown class 'nope' (known: bollinger_breakout,")
    assert messages[3] == "strategy x4: unknown instrument 'NSE:ZZZ'"
    assert messages[4] == (
        "strategy x5: mode live cannot run: the engine trades paper and has no live route"
    )
    assert all("\n" not in m for m in messages)
    assert [v.name for v in h.manager.views()] == ["ok"]
    assert h.manager.state("ok") is StrategyState.RUNNING


async def test_latency_histogram_and_rate_limited_budget_alert(tmp_path: Path) -> None:
    h = make(tmp_path, e("a", "every"), fill=False, tick_budget_ms=1e-9)
    await h.manager.start()
    for second in range(10):
        h.tick(AAA, 100, h.at(0, second))
    slow = [m for _, _, m in h.alerts if "budget" in m]
    assert len(slow) == 1
    assert slow[0].startswith("strategy a: a market-data callback took ")
    h.clock.advance(61)
    h.tick(AAA, 100, h.at(0, 11))
    assert len([m for _, _, m in h.alerts if "budget" in m]) == 2
    text = generate_latest(h.registry).decode()
    assert 'alphapt_strategy_tick_seconds_count{strategy="a"} 11.0' in text
    assert 'alphapt_strategy_tick_seconds_bucket{le="+Inf",strategy="a"} 11.0' in text
    assert h.manager.views()[0].latency_p99_s is not None
    assert h.manager.views()[0].over_budget == 11


class Timed(Strategy):
    def on_start(self) -> None:
        self.fired = asyncio.Event()
        self.count = 0
        self.set_timer("beat", 5.0, self._beat)

    def _beat(self) -> None:
        self.count += 1
        self.fired.set()
        if self.count == 2:
            raise ValueError("timer broke")


async def test_timers_run_on_the_engine_clock_and_fail_in_isolation(tmp_path: Path) -> None:
    h = Harness([e("t", "timed")], tmp_path, builtins={"timed": Timed})
    await h.manager.start()
    strategy = h.manager.strategy("t")
    await asyncio.sleep(0)  # let the timer task reach its clock sleep
    h.clock.advance(5)
    await asyncio.wait_for(strategy.fired.wait(), 2)
    assert strategy.count == 1
    strategy.fired.clear()
    h.clock.advance(5)
    await asyncio.wait_for(strategy.fired.wait(), 2)
    assert h.manager.state("t") is StrategyState.FAILED
    assert h.alerts[-1][2].startswith("strategy t failed in timer beat: ValueError: timer broke")
    assert h.manager.strategy("t")._slot.timers == {}


class Worker(Strategy):
    def on_start(self) -> None:
        self.release = threading.Event()
        self.results: list[int] = []
        self.run_in_thread(self.release.wait, 30, budget_s=0.05)
        self.run_in_thread(lambda: 42, on_result=self.results.append)


async def test_worker_threads_return_results_and_respect_their_budget(tmp_path: Path) -> None:
    h = Harness([e("w", "worker")], tmp_path, builtins={"worker": Worker})
    await h.manager.start()
    strategy = h.manager.strategy("w")
    try:
        await h.settle()
    finally:
        strategy.release.set()
    assert strategy.results == [42]
    assert [m for _, _, m in h.alerts] == [
        "strategy w: worker job wait exceeded its 0.05 s budget; dropped"
    ]
    assert h.manager.state("w") is StrategyState.RUNNING


async def test_run_delivers_bus_events_and_ignores_foreign_ones(tmp_path: Path) -> None:
    h = make(tmp_path, e("good", "every"))
    await h.manager.start()
    runner = asyncio.create_task(h.manager.run())
    try:
        h.bus.publish("orders.good", "not an order event")
        h.bus.publish("fills.someone_else", object())
        h.tick(AAA, 100, h.at(0))
        strategy = h.manager.strategy("good")
        async with asyncio.timeout(2):
            while strategy.position(AAA) != 1:
                await asyncio.sleep(0)
        assert strategy.seen[-1] == "fill 1@100"
        assert not runner.done()
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
