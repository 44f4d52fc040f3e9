"""The market watch driven from the keyboard, as a trader would."""

from __future__ import annotations

import json

from screens.help import HelpScreen
from screens.instrument_search import InstrumentSearchScreen
from screens.market_watch import MarketWatchScreen


async def wait_until(pilot, condition, attempts: int = 100) -> None:
    for _ in range(attempts):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition never became true")


async def add_symbol(pilot, text: str) -> None:
    await pilot.press("a")
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, InstrumentSearchScreen))
    await pilot.press(*text, "enter")
    await wait_until(pilot, lambda: not isinstance(pilot.app.screen, InstrumentSearchScreen))


def symbols(screen: MarketWatchScreen) -> list[str]:
    table = screen.table
    return [str(table.cells_at(i)[0]) for i in range(table.row_count)]


def _rows_shown(app) -> int:
    screen = app.screen
    if not isinstance(screen, MarketWatchScreen) or not screen.is_mounted:
        return -1
    tables = screen.query("#quotes")
    return tables.first().row_count if tables else -1


async def loaded(pilot) -> MarketWatchScreen:
    await wait_until(pilot, lambda: _rows_shown(pilot.app) == 52)
    return pilot.app.screen


async def test_watchlist_rows_with_live_values(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        assert symbols(screen)[:3] == ["RELIANCE", "HDFCBANK", "ICICIBANK"]
        assert "NIFTY BANK" in symbols(screen)
        row = screen.table.cells_at(0)
        assert str(row[1]).replace(",", "").replace(".", "").isdigit()  # LTP
        assert len(row) == 12  # wide layout: every column
        header = pilot.app.screen.query_one("#desk-header")
        await wait_until(pilot, lambda: "PAPER" in str(header.render()))
        assert "25 Nov 10:30:12 IST" in str(header.render())


async def test_narrow_terminal_uses_compact_columns(desk_app) -> None:
    async with desk_app.run_test(size=(100, 30)) as pilot:
        screen = await loaded(pilot)
        assert len(screen.table.cells_at(0)) == 8


async def test_keyboard_navigation(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("down", "down", "j")
        assert screen.table.cursor_row == 3
        await pilot.press("k")
        assert screen.table.cursor_row == 2
        assert screen.selected_key() == "NSE:ICICIBANK"


async def test_filter_narrows_rows_and_escape_restores(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("slash", *"bank")
        await wait_until(pilot, lambda: screen.table.row_count < 52)
        shown = symbols(screen)
        assert shown and all("BANK" in s for s in shown)
        assert {"HDFCBANK", "AXISBANK", "NIFTY BANK"} <= set(shown)
        await pilot.press("escape")
        assert screen.table.row_count == 52


async def test_sort_cycles_through_columns(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("o")  # symbol, ascending
        assert symbols(screen) == sorted(symbols(screen))
        await pilot.press("o")  # LTP, highest first
        ltps = [pilot.app.quotes[pilot.app.token_by_key[f"NSE:{s}"]].ltp for s in symbols(screen)]
        assert ltps == sorted(ltps, reverse=True)
        assert symbols(screen)[0] == "NIFTY BANK"
        await pilot.press("O")
        assert symbols(screen)[0] != "NIFTY BANK"


async def test_remove_and_add_symbol_persist(desk_app, frozen_kernel) -> None:
    watchlist_file = frozen_kernel.settings.data_dir / "watchlist.json"
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("d")  # cursor is on RELIANCE
        await wait_until(pilot, lambda: "RELIANCE" not in symbols(screen))
        assert "NSE:RELIANCE" not in json.loads(watchlist_file.read_text())["symbols"]
        await add_symbol(pilot, "reliance")
        await wait_until(pilot, lambda: "RELIANCE" in symbols(screen))
        assert symbols(screen)[-1] == "RELIANCE"
        assert json.loads(watchlist_file.read_text())["symbols"][-1] == "NSE:RELIANCE"
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, InstrumentSearchScreen))
        await pilot.press(*"nosuch", "enter")
        search = pilot.app.screen
        await wait_until(pilot, lambda: search.searched == "NOSUCH")
        note = search.query_one("#results-note")
        assert str(note.render()) == "nothing matches 'nosuch'"
        await pilot.press("escape")
        await wait_until(pilot, lambda: pilot.app.screen is screen)
        assert screen.table.row_count == 52


async def test_help_overlay_lists_the_screen_keys(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        screen = await loaded(pilot)
        await pilot.press("question_mark")
        help_screen = pilot.app.screen
        assert isinstance(help_screen, HelpScreen)
        text = " ".join(str(static.render()) for static in help_screen.query("Static"))
        for description in ("Filter", "Add", "Remove", "Sort", "command palette"):
            assert description in text
        await pilot.press("escape")
        assert pilot.app.screen is screen


async def test_quit_key_exits_the_app(desk_app) -> None:
    async with desk_app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("q")
        await pilot.pause(0.1)
        assert not pilot.app.is_running
