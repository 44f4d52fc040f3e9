"""Positions: net quantity, average, LTP and P&L per instrument and product; square off."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from engine.orders.commands import SubmitOrder
from engine.snapshot import DeskSnapshot
from engine.trading.squareoff import square_off_order
from engine.trading.views import PositionView
from screens.confirm import ConfirmScreen

COLUMNS = (
    ("symbol", "Symbol", 12),
    ("product", "Prod", 4),
    ("strategy", "Strategy", 10),
    ("net", "Net qty", 8),
    ("avg", "Avg", 10),
    ("ltp", "LTP", 10),
    ("realized", "Realized", 11),
    ("unrealized", "Unrealized", 11),
    ("pnl", "P&L", 11),
    ("charges", "Charges", 9),
)


def pnl_text(value: float) -> Text:
    """A P&L figure, green when positive, red when negative."""
    style = "bold green" if value > 0 else "bold red" if value < 0 else ""
    return Text(fmt.signed(value), style=style, justify="right")


def square_off_command(position: PositionView) -> SubmitOrder:
    """The market order that flattens ``position``, sent from this desk."""
    return square_off_order(position, "local")


class PositionsScreen(Screen[None]):
    """Every position of the day, with totals."""

    BINDINGS = [
        Binding("x", "square_off", "Square off"),
        Binding("X", "square_off_all", "Square off all"),
    ]
    DEFAULT_CSS = """
    PositionsScreen #positions { height: 1fr; }
    PositionsScreen #totals { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._keys: list[tuple[int, str, str]] = []

    def compose(self) -> ComposeResult:
        yield DeskHeader("Positions")
        yield DataTable(id="positions", cursor_type="row", zebra_stripes=True)
        yield Static(id="totals")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The positions table."""
        return self.query_one("#positions", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.table.focus()
        self.show_positions()

    def on_screen_resume(self) -> None:
        self.show_positions()

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        if snapshot.positions is not None:
            self.show_positions()

    def show_positions(self) -> None:
        """Redraw the positions and the totals line."""
        if not self.table.columns:  # updates can arrive before on_mount adds them
            return
        positions = sorted(self.app.positions, key=lambda p: (p.tradingsymbol, p.product))
        keys = [(p.instrument_token, p.product, p.strategy_id) for p in positions]
        table = self.table
        if keys != self._keys:
            cursor = table.cursor_row
            table.clear()
            for position, key in zip(positions, keys, strict=True):
                table.add_row(*self._cells(position), key="|".join(map(str, key)))
            self._keys = keys
            if keys:
                table.move_cursor(row=min(cursor, len(keys) - 1), animate=False)
        else:
            for position, key in zip(positions, keys, strict=True):
                row_key = "|".join(map(str, key))
                for (column, _, _), cell in zip(COLUMNS, self._cells(position), strict=True):
                    table.update_cell(row_key, column, cell)
        realized = sum(p.realized_pnl for p in positions)
        unrealized = sum(p.unrealized_pnl for p in positions)
        charges = sum(p.charges for p in positions)
        totals = Text.assemble(
            ("Realized ", "dim"),
            pnl_text(realized),
            ("   Unrealized ", "dim"),
            pnl_text(unrealized),
            ("   Charges ", "dim"),
            (fmt.price(charges) if charges else "0.00", ""),
            ("   Net ", "dim"),
            pnl_text(realized + unrealized - charges),
        )
        self.query_one("#totals", Static).update(totals)

    @staticmethod
    def _cells(position: PositionView) -> list[Any]:
        net_style = "green" if position.net_quantity > 0 else "red" if position.net_quantity else ""
        return [
            fmt.symbol(position.tradingsymbol, 12),
            position.product,
            position.strategy_id,
            Text(str(position.net_quantity), style=net_style, justify="right"),
            Text(fmt.price(position.average_price), justify="right"),
            Text(fmt.price(position.ltp), justify="right"),
            pnl_text(position.realized_pnl),
            pnl_text(position.unrealized_pnl),
            pnl_text(position.pnl),
            Text(fmt.price(position.charges), justify="right"),
        ]

    def selected_position(self) -> PositionView | None:
        """The position under the cursor."""
        if not self._keys:
            return None
        key = self._keys[min(self.table.cursor_row, len(self._keys) - 1)]
        for position in self.app.positions:
            if (position.instrument_token, position.product, position.strategy_id) == key:
                return position
        return None

    def action_square_off(self) -> None:
        """Flatten the selected position at market, after confirmation."""
        if getattr(self.app.client, "role", "admin") == "viewer":
            self.notify("viewers cannot place orders", severity="error")
            return
        position = self.selected_position()
        if position is None or position.net_quantity == 0:
            self.notify("select an open position", severity="warning")
            return
        command = square_off_command(position)

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.app.send(command))

        question = (
            f"Square off {position.tradingsymbol} {position.product}: "
            f"{command.side.value} {command.quantity} at market?"
        )
        self.app.push_screen(ConfirmScreen(question), answered)

    def action_square_off_all(self) -> None:
        """Flatten every open position at market, after confirmation."""
        if getattr(self.app.client, "role", "admin") == "viewer":
            self.notify("viewers cannot place orders", severity="error")
            return
        open_positions = [p for p in self.app.positions if p.net_quantity != 0]
        if not open_positions:
            self.notify("no open positions", severity="warning")
            return

        async def flatten() -> None:
            for position in open_positions:
                await self.app.send(square_off_command(position))

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(flatten())

        self.app.push_screen(
            ConfirmScreen(f"Square off all {len(open_positions)} positions at market?"), answered
        )
