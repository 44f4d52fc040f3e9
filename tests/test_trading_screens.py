"""A trader at the keyboard: ticket, blotter, positions, trades, kill switch."""

from __future__ import annotations

from textual.widgets import Input, Select

from engine.orders.model import OrderStatus
from screens.confirm import ConfirmScreen
from screens.order_ticket import OrderTicketScreen
from screens.orders import OrdersScreen
from screens.positions import PositionsScreen
from tests.test_market_watch import loaded, wait_until


async def open_ticket(pilot, key: str = "b") -> OrderTicketScreen:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(pilot.app.screen, OrderTicketScreen))
    ticket = pilot.app.screen
    await wait_until(pilot, lambda: ticket.estimate is not None)
    return ticket


async def fill_ticket(pilot, ticket: OrderTicketScreen, **values: str) -> None:
    for field, value in values.items():
        widget = ticket.query_one(f"#{field}")
        if isinstance(widget, Select):
            widget.value = value
        else:
            assert isinstance(widget, Input)
            widget.value = value
    await pilot.pause(0.2)


async def test_ticket_is_prefilled_and_validates_as_you_type(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ltp = pilot.app.quotes[pilot.app.token_by_key["NSE:RELIANCE"]].ltp
        ticket = await open_ticket(pilot)
        assert ticket.instrument.symbol == "RELIANCE"
        assert ticket.query_one("#price", Input).value == f"{ltp:.2f}"
        await fill_ticket(pilot, ticket, quantity="0")
        await wait_until(pilot, lambda: ticket.estimate is not None and not ticket.estimate.ok)
        assert any("quantity" in p for p in ticket.estimate.problems)
        await fill_ticket(pilot, ticket, quantity="1.5")
        assert "quantity must be a whole number" in ticket.local_problems[0]
        await fill_ticket(pilot, ticket, quantity="10", price=f"{ltp + 0.03:.2f}")
        await wait_until(pilot, lambda: ticket.estimate is not None and not ticket.estimate.ok)
        assert any("tick" in p for p in ticket.estimate.problems)
        await fill_ticket(pilot, ticket, quantity="10", price=f"{ltp:.2f}")
        await wait_until(pilot, lambda: ticket.estimate is not None and ticket.estimate.ok)
        assert ticket.estimate.value == ltp * 10 and ticket.estimate.charges > 0
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, OrderTicketScreen)
        assert pilot.app.orders == ()


async def test_buy_at_market_fills_and_shows_in_positions_and_trades(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ticket = await open_ticket(pilot)
        await fill_ticket(pilot, ticket, quantity="10", order_type="MARKET")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any(p.net_quantity == 10 for p in pilot.app.positions))
        position = pilot.app.positions[0]
        assert position.tradingsymbol == "RELIANCE" and position.charges > 0
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, PositionsScreen))
        screen = pilot.app.screen
        await wait_until(pilot, lambda: screen.table.row_count == 1)
        await pilot.press("4")
        await wait_until(pilot, lambda: pilot.app.screen.table.row_count >= 1)
        funds = pilot.app.funds
        assert funds is not None and funds.charges > 0


async def test_limit_order_rests_then_cancel_from_the_blotter(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ltp = pilot.app.quotes[pilot.app.token_by_key["NSE:RELIANCE"]].ltp
        ticket = await open_ticket(pilot)
        below = round((ltp * 0.99) / 0.05) * 0.05
        await fill_ticket(pilot, ticket, quantity="5", price=f"{below:.2f}")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any(not o.is_closed for o in pilot.app.orders))
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, OrdersScreen))
        blotter = pilot.app.screen
        await wait_until(pilot, lambda: blotter.table.row_count == 1)
        await pilot.press("c")
        await wait_until(
            pilot, lambda: pilot.app.orders and pilot.app.orders[0].status is OrderStatus.CANCELLED
        )
        await wait_until(pilot, lambda: blotter.table.row_count == 0)


async def test_kill_switch_cancels_everything_and_halts(desk_app, frozen_kernel) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ltp = pilot.app.quotes[pilot.app.token_by_key["NSE:RELIANCE"]].ltp
        for step in range(2):
            ticket = await open_ticket(pilot)
            # Two different prices: the same order twice in 5 s is refused as a duplicate.
            below = round((ltp * 0.99) / 0.05) * 0.05 - step * 0.05
            await fill_ticket(pilot, ticket, quantity="1", price=f"{below:.2f}")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: not isinstance(pilot.app.screen, OrderTicketScreen))
        await wait_until(pilot, lambda: sum(not o.is_closed for o in pilot.app.orders) == 2)
        await pilot.press("ctrl+k")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        await pilot.press("y")
        await wait_until(pilot, lambda: pilot.app.status.trading_state == "HALTED")
        await wait_until(pilot, lambda: all(o.is_closed for o in pilot.app.orders))
        assert frozen_kernel.trading.open_orders() == []
        ticket = await open_ticket(pilot)
        await fill_ticket(pilot, ticket, quantity="1", order_type="MARKET")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: any("HALTED" in p for p in ticket.local_problems))


def burst(pilot, *keys: str) -> None:
    """Keys that arrive in one read (a lagged SSH link): posted together, none awaited."""
    from textual import events

    for key in keys:
        pilot.app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_a_burst_of_keys_edits_the_ticket_in_the_order_typed(desk_app) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ticket = await open_ticket(pilot)
        assert ticket.focused is ticket.query_one("#quantity", Input)
        burst(pilot, "backspace", "3", "0", "enter")
        await wait_until(pilot, lambda: len(pilot.app.orders) == 1)
        assert pilot.app.orders[0].quantity == 30
        ticket = await open_ticket(pilot)
        burst(pilot, "backspace", "2", "5", "ctrl+s")
        await wait_until(pilot, lambda: len(pilot.app.orders) == 2)
        assert sorted(o.quantity for o in pilot.app.orders) == [25, 30]


async def test_submit_right_after_typing_judges_what_was_typed_not_the_last_estimate(
    desk_app,
) -> None:
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        ticket = await open_ticket(pilot)
        assert ticket.estimate.value < pilot.app.settings.ui.confirm_above
        # 1 → 200 shares (₹3 lakh) and ctrl+s before any new estimate came back.
        burst(pilot, "backspace", "2", "0", "0", "ctrl+s")
        await wait_until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        assert pilot.app.orders == ()


async def test_an_option_ticket_opens_with_one_lot(desk_app, frozen_kernel) -> None:
    from engine.snapshot import AddToWatchlist

    option = frozen_kernel.search_instruments("nifty 26050 ce", limit=1)[0]
    assert option.lot_size > 1
    async with desk_app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot)
        result = await pilot.app.send(AddToWatchlist(symbol=option.key))
        assert result.ok, result.message
        await wait_until(pilot, lambda: option.instrument_token in pilot.app.quotes)
        await pilot.press("end")
        ticket = await open_ticket(pilot)
        assert ticket.instrument.symbol == option.tradingsymbol
        quantity = ticket.query_one("#quantity", Input)
        await wait_until(pilot, lambda: quantity.value == str(option.lot_size))
        # Derivatives default to NRML: CNC is for equity delivery.
        assert ticket.query_one("#product", Select).value == "NRML"
        await wait_until(pilot, lambda: ticket.estimate is not None and ticket.estimate.ok)
