"""Trades: every fill of the day, newest first."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from engine.clock import ns_to_ist
from engine.orders.model import Side
from engine.snapshot import DeskSnapshot

COLUMNS = (
    ("time", "Time", 8),
    ("symbol", "Symbol", 12),
    ("side", "Side", 4),
    ("qty", "Qty", 8),
    ("price", "Price", 10),
    ("value", "Value", 14),
    ("product", "Prod", 4),
    ("strategy", "Strategy", 10),
    ("order", "Order id", 20),
    ("trade", "Trade id", 14),
)


class TradesScreen(Screen[None]):
    """The trade book."""

    DEFAULT_CSS = """
    TradesScreen #trades { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown = -1

    def compose(self) -> ComposeResult:
        yield DeskHeader("Trades")
        yield DataTable(id="trades", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The trades table."""
        return self.query_one("#trades", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.table.focus()
        self.show_trades()

    def on_screen_resume(self) -> None:
        self.show_trades()

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        if len(self.app.fills) != self._shown:
            self.show_trades()

    def show_trades(self) -> None:
        """Redraw the trade book."""
        if not self.table.columns:  # updates can arrive before on_mount adds them
            return
        fills = sorted(self.app.fills, key=lambda f: f.ts_ns, reverse=True)
        self._shown = len(fills)
        table = self.table
        table.clear()
        for fill in fills:
            style = "bold green" if fill.side == Side.BUY else "bold red"
            table.add_row(
                ns_to_ist(fill.ts_ns).strftime("%H:%M:%S"),
                fmt.symbol(fill.tradingsymbol, 12),
                Text(fill.side.value, style=style),
                Text(fmt.group_indian(fill.quantity), justify="right"),
                Text(fmt.price(fill.price), justify="right"),
                Text(fmt.price(fill.quantity * fill.price), justify="right"),
                fill.product.value,
                fill.strategy_id,
                fill.client_order_id,
                fill.trade_id,
                key=f"{fill.client_order_id}:{fill.trade_id}",
            )
