"""What a trader sees, frozen: the engine clock stands still and the feed is seeded."""

from __future__ import annotations

from tests.test_market_watch import loaded


async def until_loaded(pilot) -> None:
    await loaded(pilot)
    await pilot.pause(0.1)


class TestMarketWatch:
    def test_wide_terminal(self, snap_compare, desk_app) -> None:
        assert snap_compare(desk_app, terminal_size=(160, 48), run_before=until_loaded)

    def test_narrow_terminal(self, snap_compare, desk_app) -> None:
        assert snap_compare(desk_app, terminal_size=(100, 30), run_before=until_loaded)

    def test_help_overlay(self, snap_compare, desk_app) -> None:
        async def open_help(pilot) -> None:
            await until_loaded(pilot)
            await pilot.press("question_mark")
            await pilot.pause(0.1)

        assert snap_compare(desk_app, terminal_size=(100, 30), run_before=open_help)

    def test_filtered_and_sorted(self, snap_compare, desk_app) -> None:
        async def filter_and_sort(pilot) -> None:
            await until_loaded(pilot)
            await pilot.press("o", "o", "slash", *"bank", "enter")
            await pilot.pause(0.2)

        assert snap_compare(desk_app, terminal_size=(160, 48), run_before=filter_and_sort)


class TestInstrumentSearch:
    def test_contract_search_wide(self, snap_compare, desk_app) -> None:
        async def search(pilot) -> None:
            await until_loaded(pilot)
            await pilot.press("a", *"nifty 26050")
            await pilot.app.screen.workers.wait_for_complete()
            await pilot.pause(0.2)

        assert snap_compare(desk_app, terminal_size=(160, 48), run_before=search)

    def test_option_chain_narrow(self, snap_compare, desk_app) -> None:
        async def chain(pilot) -> None:
            await until_loaded(pilot)
            await pilot.press("a", "f2")
            await pilot.pause(0.2)
            await pilot.app.screen.workers.wait_for_complete()
            await pilot.pause(0.2)

        assert snap_compare(desk_app, terminal_size=(100, 30), run_before=chain)
