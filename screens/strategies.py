"""Strategies: every strategy with its state and P&L; start, stop, add, edit, reload, remove."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from engine.clock import ns_to_ist
from engine.orders.model import Side
from engine.strategies.commands import (
    DisableStrategy,
    EnableStrategy,
    ReloadStrategies,
    RemoveStrategy,
    StartStrategy,
    StopStrategy,
)
from engine.strategies.views import StrategyView
from screens.confirm import ConfirmScreen
from screens.orders import STATUS_STYLE
from screens.positions import pnl_text

COLUMNS = (
    ("name", "Name", 14),
    ("class", "Class", 14),
    ("state", "State", 8),
    ("mode", "Mode", 5),
    ("realized", "Realized", 10),
    ("unrealized", "Unrealized", 10),
    ("signals", "Signals", 7),
    ("orders", "Orders", 6),
    ("positions", "Pos", 3),
    ("p99", "p99", 8),
    ("instruments", "Instruments", 24),
    ("error", "Last error", 26),
)
NARROW_BELOW = 130
"""Terminal width under which the fills pane is hidden."""
STATE_STYLE = {
    "running": "bold green",
    "stopped": "yellow",
    "disabled": "grey50",
    "failed": "bold white on red",
}
ORDER_COLUMNS = (
    ("time", "Time", 8),
    ("symbol", "Symbol", 10),
    ("side", "Side", 4),
    ("qty", "Qty", 7),
    ("avg", "Avg", 9),
    ("status", "Status", 10),
)
FILL_COLUMNS = (
    ("time", "Time", 8),
    ("symbol", "Symbol", 10),
    ("side", "Side", 4),
    ("qty", "Qty", 5),
    ("price", "Price", 9),
)


def latency(seconds: float | None) -> str:
    """A p99 latency in ms or µs; ``-`` before any callback was timed."""
    if seconds is None:
        return "-"
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.1f} ms"


def strategy_cells(view: StrategyView) -> list[Any]:
    """One row of the strategies table, in ``COLUMNS`` order."""
    held = sum(1 for p in view.positions if p.net_qty)
    return [
        view.name,
        view.class_name,
        Text(view.state.upper(), style=STATE_STYLE.get(view.state, "")),
        view.mode,
        pnl_text(view.realized_pnl),
        pnl_text(view.unrealized_pnl),
        Text(str(view.signals), justify="right"),
        Text(str(view.orders), justify="right"),
        Text(str(held), justify="right"),
        Text(latency(view.latency_p99_s), justify="right"),
        ", ".join(k.removeprefix("NSE:") for k in view.instruments),
        Text(view.last_error, style="red"),
    ]


def side_text(side: Side) -> Text:
    """BUY green, SELL red."""
    return Text(side.value, style="bold green" if side == Side.BUY else "bold red")


class StrategiesScreen(Screen[None]):
    """Pulled once a second (one request in flight); the selection's orders and fills below."""

    CSS_PATH = "strategies.tcss"
    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("s", "command('start')", "Start"),
        Binding("x", "command('stop')", "Stop"),
        Binding("e", "command('enable')", "Enable"),
        Binding("d", "command('disable')", "Disable"),
        Binding("p", "params", "Params"),
        Binding("R", "reload", "Reload dir"),
        Binding("delete", "remove", "Remove"),
    ]
    COMMANDS = {
        "start": StartStrategy,
        "stop": StopStrategy,
        "enable": EnableStrategy,
        "disable": DisableStrategy,
    }

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, StrategyView] = {}
        self._detail_key: tuple[Any, ...] = ()
        self._select_after_load = ""

    def compose(self) -> ComposeResult:
        yield DeskHeader("Strategies")
        yield DataTable(id="strategies", cursor_type="row", zebra_stripes=True)
        yield Static("", id="empty")
        with Horizontal(id="detail"):
            yield Static("", id="params")
            yield DataTable(id="strategy-orders", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="strategy-fills", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The strategies table."""
        return self.query_one("#strategies", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        orders = self.query_one("#strategy-orders", DataTable)
        for key, label, width in ORDER_COLUMNS:
            orders.add_column(label, key=key, width=width)
        fills = self.query_one("#strategy-fills", DataTable)
        for key, label, width in FILL_COLUMNS:
            fills.add_column(label, key=key, width=width)
        orders.border_title, fills.border_title = "Orders", "Fills"
        self.query_one("#params", Static).border_title = "Parameters"
        self.table.focus()
        self.load()
        self.set_interval(1.0, self.load)

    def on_screen_resume(self) -> None:
        self.load()

    def on_resize(self) -> None:
        # Below 130 columns the fills pane goes: an order's filled quantity and average say enough.
        self.set_class(self.size.width < NARROW_BELOW, "-narrow")

    @work(exclusive=True, group="strategies")
    async def load(self) -> None:
        """Fetch every strategy's view and show it."""
        try:
            views = await self.app.client.strategies()  # type: ignore[attr-defined]
        except Exception as exc:
            self.query_one("#empty", Static).update(f"engine unreachable: {type(exc).__name__}")
            return
        self.show(views)

    def show(self, views: tuple[StrategyView, ...]) -> None:
        """Update the table in place: changed cells only, new rows added, gone rows removed."""
        table = self.table
        fresh = {v.name: v for v in views}
        for name in [n for n in self.views if n not in fresh]:
            table.remove_row(name)
        for view in views:
            old = self.views.get(view.name)
            if old is None:
                table.add_row(*strategy_cells(view), key=view.name)
            elif old != view:
                previous = strategy_cells(old)
                for (column, _, _), cell, was in zip(
                    COLUMNS, strategy_cells(view), previous, strict=True
                ):
                    if cell != was:
                        table.update_cell(view.name, column, cell)
        self.views = fresh
        if self._select_after_load in fresh:
            row = table.get_row_index(self._select_after_load)
            table.move_cursor(row=row, animate=False)
            self._select_after_load = ""
        empty = "" if views else "No strategies yet: press n to add one (R rescans the folder)."
        self.query_one("#empty", Static).update(empty)
        self.query_one("#empty", Static).display = not views
        self.show_detail()

    def selected(self) -> StrategyView | None:
        """The strategy under the cursor."""
        table = self.table
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.views.get(key or "")

    @on(DataTable.RowHighlighted, "#strategies")
    def _moved(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        """Parameters, orders and fills of the selected strategy (redrawn when they change)."""
        view = self.selected()
        key = (view, self.app.trading_version)  # type: ignore[attr-defined]
        if key == self._detail_key:
            return
        self._detail_key = key
        self.query_one("#params", Static).update(self._params_text(view))
        name = view.name if view is not None else None
        orders = self.query_one("#strategy-orders", DataTable)
        orders.clear()
        mine = [o for o in self.app.orders if o.strategy_id == name]  # type: ignore[attr-defined]
        for order in sorted(mine, key=lambda o: o.created_ns, reverse=True):
            orders.add_row(
                ns_to_ist(order.created_ns).strftime("%H:%M:%S"),
                fmt.symbol(order.tradingsymbol, 10),
                side_text(order.side),
                Text(f"{order.filled_quantity}/{order.quantity}", justify="right"),
                Text(fmt.price(order.average_price), justify="right"),
                Text(order.status.value, style=STATUS_STYLE.get(order.status, "yellow")),
            )
        fills = self.query_one("#strategy-fills", DataTable)
        fills.clear()
        trades = [f for f in self.app.fills if f.strategy_id == name]  # type: ignore[attr-defined]
        for fill in sorted(trades, key=lambda f: f.ts_ns, reverse=True):
            fills.add_row(
                ns_to_ist(fill.ts_ns).strftime("%H:%M:%S"),
                fmt.symbol(fill.tradingsymbol, 10),
                side_text(fill.side),
                Text(str(fill.quantity), justify="right"),
                Text(fmt.price(fill.price), justify="right"),
            )
        orders.border_title = f"Orders ({len(mine)})"
        fills.border_title = f"Fills ({len(trades)})"

    @staticmethod
    def _params_text(view: StrategyView | None) -> Text:
        if view is None:
            return Text("no strategy selected", style="dim")
        text = Text.assemble((view.name, "bold"), " · ", (view.class_name, "dim"), "\n")
        for key, value in view.params:
            text.append(f"{key}", style="cyan")
            text.append(f" = {value}\n")
        for key, value in view.stats:
            text.append(f"{key}", style="magenta")
            text.append(f" = {value}\n")
        if view.open_orders or view.rejected or view.over_budget:
            text.append(
                f"open {view.open_orders} · rejected {view.rejected}"
                f" · over budget {view.over_budget}\n",
                style="dim",
            )
        if view.last_error:
            text.append(view.last_error, style="bold red")
        return text

    # -- actions -------------------------------------------------------------------

    def _need_selection(self) -> StrategyView | None:
        view = self.selected()
        if view is None:
            self.notify("no strategy selected: press n to add one", severity="warning")
        return view

    async def _send(self, command: object) -> None:
        await self.app.send(command)  # type: ignore[attr-defined]
        self.load()

    def action_command(self, verb: str) -> None:
        """Start, stop, enable or disable the selected strategy."""
        view = self._need_selection()
        if view is not None:
            self.run_worker(self._send(self.COMMANDS[verb](name=view.name)))

    def action_new(self) -> None:
        """Open the new-strategy dialog with the engine's list of classes."""
        self.run_worker(self._open_new(), exclusive=True, group="new")

    async def _open_new(self) -> None:
        from screens.strategy_dialogs import NewStrategyScreen

        try:
            classes = await self.app.client.strategy_classes()  # type: ignore[attr-defined]
        except Exception as exc:
            self.notify(f"engine unreachable: {type(exc).__name__}", severity="error")
            return
        if not classes:
            self.notify("no strategy classes available (strategies off?)", severity="warning")
            return
        self.app.push_screen(NewStrategyScreen(classes), self._added)

    def _added(self, name: str | None) -> None:
        if name:
            self._select_after_load = name
        self.load()

    def action_params(self) -> None:
        """Edit the selected strategy's parameters."""
        from screens.strategy_dialogs import ParamsScreen

        view = self._need_selection()
        if view is not None:
            self.app.push_screen(ParamsScreen(view), lambda _: self.load())

    def action_reload(self) -> None:
        """Rescan the strategies directory for new or changed files."""
        self.run_worker(self._send(ReloadStrategies()))

    def action_remove(self) -> None:
        """Remove the selected (stopped) strategy, after confirmation."""
        view = self._need_selection()
        if view is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._send(RemoveStrategy(name=view.name)))

        detail = "Its orders and fills stay in the blotter; its positions stay open."
        self.app.push_screen(ConfirmScreen(f"Remove strategy {view.name}?", detail), answered)
