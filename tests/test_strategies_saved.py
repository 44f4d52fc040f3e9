"""Strategies added at runtime survive a restart of the desk (saved in the data directory)."""

from __future__ import annotations

import json

from engine.kernel import Kernel
from engine.settings import Settings
from engine.strategies.commands import (
    AddStrategy,
    DisableStrategy,
    RemoveStrategy,
    StopStrategy,
    UpdateStrategyParams,
)
from engine.strategies.persist import FILE_NAME
from tests.test_strategies_runtime import THREE, run_minutes, started, strategy_orders, view

FAST = {"fast": 2, "slow": 3}


async def add(kernel: Kernel, name: str, start: bool = False, **params: object) -> None:
    command = AddStrategy(
        name=name,
        class_name="sma_crossover",
        instruments=THREE,
        params={**FAST, **params},
        start=start,
    )
    result = await kernel.execute(command)
    assert result.ok, result.message


async def shut_down(kernel: Kernel) -> None:
    assert kernel.strategies is not None
    await kernel.strategies.stop()  # stops every strategy, as an engine shutdown does
    await kernel.trading.stop()


def alerts(kernel: Kernel) -> list[str]:
    """Alerts about strategies (trading raises its own when the ledger is restored)."""
    return [e.alert.message for e in kernel.alert_log.entries() if "strateg" in e.alert.message]


async def test_a_restarted_desk_brings_back_what_was_added_as_it_was_left(
    settings: Settings,
) -> None:
    kernel, _ = await started(settings)
    await add(kernel, "xo", start=True)
    await add(kernel, "idle")
    await add(kernel, "off", start=True)
    await add(kernel, "gone")
    assert (await kernel.execute(DisableStrategy(name="off"))).ok
    assert (await kernel.execute(RemoveStrategy(name="gone"))).ok
    assert (await kernel.execute(UpdateStrategyParams(name="xo", params={"slow": 5}))).ok
    await shut_down(kernel)
    saved = json.loads((settings.data_dir / FILE_NAME).read_text())
    assert [(s["name"], s["state"]) for s in saved["strategies"]] == [
        ("xo", "running"),
        ("idle", "stopped"),
        ("off", "disabled"),
    ]

    again, clock = await started(settings)
    shown = {v.name: v for v in again.strategy_views()}
    assert {name: v.state for name, v in shown.items()} == {
        "xo": "running",
        "idle": "stopped",
        "off": "disabled",
    }
    assert shown["xo"].instruments == ("NSE:RELIANCE", "NSE:INFY", "NSE:TCS")
    assert dict(shown["xo"].params)["slow"] == "5"
    assert alerts(again) == []
    await run_minutes(again, clock, 20)
    assert view(again, "xo").signals > 0 and strategy_orders(again, "xo")
    assert strategy_orders(again, "idle") == []
    # Stopping by hand is saved too; the next restart leaves it stopped.
    assert (await again.execute(StopStrategy(name="xo"))).ok
    await shut_down(again)
    third, _ = await started(settings)
    assert view(third, "xo").state == "stopped"
    await third.trading.stop()


async def test_an_unreadable_file_is_one_alert_and_kept_aside(settings: Settings) -> None:
    path = settings.data_dir / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"version": 1, "strategies": [{"name": "xo"')
    kernel, _ = await started(settings)
    (message,) = alerts(kernel)
    assert message.startswith("strategies added at runtime were not restored: ")
    assert message.endswith(f"kept as {FILE_NAME}.corrupt")
    assert "\n" not in message
    assert kernel.strategy_views() == ()
    assert path.with_name(FILE_NAME + ".corrupt").exists()
    await add(kernel, "xo")
    assert [s["name"] for s in json.loads(path.read_text())["strategies"]] == ["xo"]
    await kernel.trading.stop()


async def test_a_strategy_that_cannot_be_rebuilt_is_reported_and_not_forgotten(
    settings: Settings,
) -> None:
    path = settings.data_dir / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    lost = {"name": "mine", "class": "my_file_class", "instruments": ["INFY"], "params": {}}
    path.write_text(json.dumps({"version": 1, "strategies": [lost]}))
    kernel, _ = await started(settings)
    (message,) = alerts(kernel)
    assert message.startswith(
        "strategy added at runtime not restored: unknown strategy class 'my_file_class'"
    )
    assert kernel.strategy_views() == ()
    await add(kernel, "xo")
    saved = json.loads(path.read_text())["strategies"]
    assert [s["name"] for s in saved] == ["xo", "mine"]  # kept for when its file is back
    await kernel.trading.stop()
