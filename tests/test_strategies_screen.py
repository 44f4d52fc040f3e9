"""The strategies screen driven from the keyboard: add the crossover on three symbols, start, stop."""

from __future__ import annotations

from screens.confirm import ConfirmScreen
from screens.strategies import StrategiesScreen
from screens.strategy_dialogs import NewStrategyScreen, ParamsScreen, parse_params
from tests.test_market_watch import loaded, wait_until


def strategies_screen(pilot) -> StrategiesScreen | None:
    screen = pilot.app.screen
    return screen if isinstance(screen, StrategiesScreen) and screen.is_mounted else None


async def open_strategies(pilot) -> StrategiesScreen:
    await loaded(pilot)
    await pilot.press("5")
    await wait_until(pilot, lambda: strategies_screen(pilot) is not None)
    return pilot.app.screen


def row(screen: StrategiesScreen, name: str) -> list[str]:
    return [str(cell) for cell in screen.table.get_row(name)]


async def pick_crossover(pilot) -> None:
    """Open the new-strategy dialog and pick the SMA crossover (focus moves to the name)."""
    await pilot.press("n")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewStrategyScreen))
    dialog = pilot.app.screen
    await wait_until(pilot, lambda: dialog.class_name is not None)
    while dialog.class_name != "sma_crossover":
        await pilot.press("down")
    await pilot.press("enter")


async def add_crossover(pilot, name: str = "xo", params: str = "fast=2 slow=3") -> None:
    await pick_crossover(pilot)
    await pilot.press(*name, "tab", *"reliance,INFY, NSE:TCS", "tab", *params, "enter")


async def test_add_crossover_on_three_symbols_start_and_stop(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await open_strategies(pilot)
        assert screen.table.row_count == 0
        assert "press n to add one" in str(screen.query_one("#empty").render())

        await add_crossover(pilot)
        await wait_until(pilot, lambda: strategies_screen(pilot) is not None)
        await wait_until(pilot, lambda: screen.table.row_count == 1)
        cells = row(screen, "xo")
        assert cells[:4] == ["xo", "sma_crossover", "STOPPED", "paper"]
        assert cells[10] == "RELIANCE, INFY, TCS"
        params = str(screen.query_one("#params").render())
        assert "fast = 2" in params and "slow = 3" in params

        await pilot.press("s")
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "RUNNING")
        await pilot.press("x")
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "STOPPED")
        await pilot.press("d")
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "DISABLED")
        await pilot.press("s")  # refused by the engine: disabled
        await pilot.pause(0.2)
        assert row(screen, "xo")[2] == "DISABLED"
        await pilot.press("e")
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "RUNNING")


async def test_a_burst_of_keys_fills_the_new_strategy_form_in_the_order_typed(desk_app) -> None:
    from tests.test_trading_screens import burst

    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await open_strategies(pilot)
        await pick_crossover(pilot)
        # One read of a pasted or lagged line: Tab must move on before the next characters.
        burst(pilot, *"xo", "tab", *"INFY,TCS", "tab", *"fast=2 slow=3", "ctrl+s")
        await wait_until(pilot, lambda: strategies_screen(pilot) is not None)
        await wait_until(pilot, lambda: screen.table.row_count == 1)
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "RUNNING")
        assert row(screen, "xo")[10] == "INFY, TCS"
        params = str(screen.query_one("#params").render())
        assert "fast = 2" in params and "slow = 3" in params


async def test_engine_refusal_is_shown_in_the_dialog(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await open_strategies(pilot)
        await add_crossover(pilot, params="fast=5 slow=4")
        dialog = pilot.app.screen
        assert isinstance(dialog, NewStrategyScreen)
        message = dialog.query_one("#message")
        await wait_until(pilot, lambda: "must be less than slow" in str(message.render()))
        assert message.has_class("-error")
        await pilot.press("escape")
        await wait_until(pilot, lambda: strategies_screen(pilot) is not None)
        assert pilot.app.screen.table.row_count == 0


async def test_bad_parameter_syntax_is_caught_while_typing(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await open_strategies(pilot)
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewStrategyScreen))
        dialog = pilot.app.screen
        await pilot.press("enter", *"Bad Name")
        message = dialog.query_one("#message")
        await wait_until(pilot, lambda: "lowercase letters" in str(message.render()))


async def test_edit_parameters_then_remove(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await open_strategies(pilot)
        await add_crossover(pilot)
        await wait_until(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("p")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ParamsScreen))
        dialog = pilot.app.screen
        slow = dialog.query_one("#p-slow")
        slow.value = "2"
        await pilot.press("ctrl+s")
        message = dialog.query_one("#message")
        await wait_until(pilot, lambda: "must be less than slow" in str(message.render()))
        slow.value = "7"
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: strategies_screen(pilot) is not None)
        await wait_until(pilot, lambda: "slow = 7" in str(screen.query_one("#params").render()))

        await pilot.press("delete")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: screen.table.row_count == 0)


async def test_reload_picks_up_a_file_dropped_in_the_folder(desk_app, settings) -> None:
    folder = settings.data_dir / "strategies"
    folder.mkdir(parents=True, exist_ok=True)
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await open_strategies(pilot)
        (folder / "noop.py").write_text(
            "from engine.strategies import Strategy\n\n\n"
            "class Noop(Strategy):\n    '''Does nothing.'''\n\n    key = 'noop'\n"
        )
        await pilot.press("R")
        await pilot.press("n")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewStrategyScreen))
        assert "noop" in dict(pilot.app.screen.choices)


def test_parameters_are_typed_and_errors_are_one_line() -> None:
    assert parse_params("fast=5, slow=20 average=ema horizons=[1, 3]") == {
        "fast": 5,
        "slow": 20,
        "average": "ema",
        "horizons": [1, 3],
    }
    assert parse_params("") == {}
    assert parse_params("fast 5") == "parameters must be key=value pairs (could not read 'fast')"
    assert parse_params("fast=") == "parameter fast has no value"


class TestStrategiesSnapshots:
    @staticmethod
    async def with_crossover(pilot) -> None:
        screen = await open_strategies(pilot)
        await add_crossover(pilot)
        await wait_until(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("s")
        await wait_until(pilot, lambda: row(screen, "xo")[2] == "RUNNING")
        pilot.app.clear_notifications()
        await pilot.pause(0.2)

    def test_wide_terminal(self, snap_compare, desk_app) -> None:
        assert snap_compare(desk_app, terminal_size=(160, 48), run_before=self.with_crossover)

    def test_narrow_terminal(self, snap_compare, desk_app) -> None:
        assert snap_compare(desk_app, terminal_size=(100, 30), run_before=self.with_crossover)

    def test_new_strategy_dialog(self, snap_compare, desk_app) -> None:
        async def open_dialog(pilot) -> None:
            await open_strategies(pilot)
            await pilot.press("n")
            await wait_until(pilot, lambda: isinstance(pilot.app.screen, NewStrategyScreen))
            await pilot.press("down", "down", "down", "down", "down")
            await pilot.pause(0.2)

        assert snap_compare(desk_app, terminal_size=(100, 30), run_before=open_dialog)
