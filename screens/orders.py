"""The order blotter: open, completed and rejected orders; modify, cancel, cancel all."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Tab, Tabs

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from engine.clock import ns_to_ist
from engine.orders.commands import CancelAllOrders, CancelOrder
from engine.orders.model import Order, OrderStatus, Side
from engine.snapshot import DeskSnapshot
from screens.confirm import ConfirmScreen

COLUMNS = (
    ("time", "Time", 8),
    ("symbol", "Symbol", 12),
    ("side", "Side", 4),
    ("type", "Type", 6),
    ("product", "Prod", 4),
    ("qty", "Filled/Qty", 11),
    ("price", "Price", 10),
    ("trigger", "Trigger", 10),
    ("avg", "Avg", 10),
    ("status", "Status", 16),
    ("message", "Reason / message", 28),
    ("strategy", "Strategy", 10),
    ("id", "Order id", 20),
)

TABS = (("open", "Open"), ("completed", "Completed"), ("rejected", "Rejected"), ("all", "All"))
STATUS_STYLE = {
    OrderStatus.COMPLETE: "green",
    OrderStatus.REJECTED: "bold red",
    OrderStatus.CANCELLED: "grey50",
}


def in_tab(order: Order, tab: str) -> bool:
    """Whether ``order`` belongs under ``tab``."""
    if tab == "open":
        return not order.is_closed
    if tab == "completed":
        return order.status in (OrderStatus.COMPLETE, OrderStatus.CANCELLED)
    if tab == "rejected":
        return order.status == OrderStatus.REJECTED
    return True


def order_cells(order: Order) -> list[Any]:
    """One blotter row."""
    side_style = "bold green" if order.side == Side.BUY else "bold red"
    return [
        ns_to_ist(order.created_ns).strftime("%H:%M:%S"),
        fmt.symbol(order.tradingsymbol, 12),
        Text(order.side.value, style=side_style),
        order.order_type.value,
        order.product.value,
        Text(f"{order.filled_quantity}/{order.quantity}", justify="right"),
        Text(fmt.price(order.price), justify="right"),
        Text(fmt.price(order.trigger_price), justify="right"),
        Text(fmt.price(order.average_price), justify="right"),
        Text(order.status.value, style=STATUS_STYLE.get(order.status, "yellow")),
        order.status_message,
        order.strategy_id,
        order.client_order_id,
    ]


class OrdersScreen(Screen[None]):
    """Every order of the day, newest first, by tab."""

    CSS_PATH = "orders.tcss"
    BINDINGS = [
        Binding("right", "next_tab", "Next tab", priority=True),
        Binding("left", "previous_tab", "Previous tab", show=False, priority=True),
        Binding("m", "modify", "Modify"),
        Binding("c,delete", "cancel", "Cancel"),
        Binding("C", "cancel_all", "Cancel all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.tab = "open"
        self._shown: list[str] = []
        self._seen_version = -2

    def compose(self) -> ComposeResult:
        yield DeskHeader("Orders")
        yield Tabs(*(Tab(label, id=key) for key, label in TABS), id="order-tabs")
        yield DataTable(id="orders", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The blotter table."""
        return self.query_one("#orders", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.table.focus()
        self.show_orders()

    def on_screen_resume(self) -> None:
        self.show_orders()

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        if self.app.trading_version != self._seen_version:
            self.show_orders()

    @on(Tabs.TabActivated)
    def _tab_changed(self, event: Tabs.TabActivated) -> None:
        self.tab = event.tab.id or "open"
        self.show_orders()

    def action_next_tab(self) -> None:
        """Open, Completed, Rejected, All."""
        self.query_one(Tabs).action_next_tab()

    def action_previous_tab(self) -> None:
        """Back through the tabs."""
        self.query_one(Tabs).action_previous_tab()

    def show_orders(self) -> None:
        """Redraw the current tab (orders are few; a rebuild keeps the cursor on its order)."""
        if not self.table.columns:  # updates can arrive before on_mount adds them
            return
        self._seen_version = self.app.trading_version
        table = self.table
        selected = self.selected_order()
        orders = sorted(
            (o for o in self.app.orders if in_tab(o, self.tab)),
            key=lambda o: o.created_ns,
            reverse=True,
        )
        table.clear()
        self._shown = [o.client_order_id for o in orders]
        for order in orders:
            table.add_row(*order_cells(order), key=order.client_order_id)
        if selected is not None and selected.client_order_id in self._shown:
            table.move_cursor(row=self._shown.index(selected.client_order_id), animate=False)

    def selected_order(self) -> Order | None:
        """The order under the cursor."""
        if not self._shown or self.table.row_count == 0:
            return None
        order_id = self._shown[min(self.table.cursor_row, len(self._shown) - 1)]
        return next((o for o in self.app.orders if o.client_order_id == order_id), None)

    def action_modify(self) -> None:
        """Open the ticket on the selected open order."""
        from screens.order_ticket import OrderTicketScreen

        order = self.selected_order()
        if order is None or order.is_closed:
            self.notify("select an open order to modify", severity="warning")
            return
        self.app.push_screen(OrderTicketScreen.for_modify(order))

    def action_cancel(self) -> None:
        """Cancel the selected order."""
        order = self.selected_order()
        if order is None or order.is_closed:
            self.notify("select an open order to cancel", severity="warning")
            return
        self.run_worker(
            self.app.send(CancelOrder(user="local", client_order_id=order.client_order_id))
        )

    def action_cancel_all(self) -> None:
        """Cancel every open order, after confirmation."""
        count = sum(1 for o in self.app.orders if not o.is_closed)
        if count == 0:
            self.notify("no open orders", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                command = CancelAllOrders(user="local", reason="cancel all from the blotter")
                self.run_worker(self.app.send(command))

        self.app.push_screen(ConfirmScreen(f"Cancel all {count} open orders?"), answered)
