"""Market watch: the watchlist's live quotes, sortable and filterable."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from engine.cache import QuoteRow
from engine.snapshot import AddToWatchlist, RemoveFromWatchlist
from screens.add_symbol import AddSymbolScreen

UP, DOWN, FLAT = "green", "red", "grey50"
WIDE_LAYOUT_MIN_WIDTH = 150


def _direction(value: float) -> str:
    return UP if value > 0 else DOWN if value < 0 else FLAT


@dataclass(frozen=True, slots=True)
class Column:
    """One market-watch column: what it shows, how wide, how it sorts."""

    key: str
    label: str
    width: int
    value: Callable[[QuoteRow], Any]
    render: Callable[[QuoteRow, Any], Any]


def _right(text: str, style: str = "") -> Text:
    return Text(text, style=style, justify="right")


def _spark(row: QuoteRow, width: int) -> Text:
    points = row.spark[-width:]
    style = _direction(points[-1] - points[0]) if len(points) > 1 else FLAT
    return Text(fmt.sparkline(points, width), style=style)


def _columns(spark_width: int, wide: bool) -> list[Column]:
    columns = [
        Column("symbol", "Symbol", 12, lambda r: r.tradingsymbol, lambda r, v: v),
        Column(
            "ltp",
            "LTP",
            10,
            lambda r: r.ltp,
            lambda r, v: _right(fmt.price(v), "bold " + _direction(r.change)),
        ),
        Column(
            "change",
            "Chg",
            9,
            lambda r: round(r.change, 2),
            lambda r, v: _right(fmt.signed(v), _direction(v)),
        ),
        Column(
            "change_pct",
            "Chg%",
            7,
            lambda r: round(r.change_pct, 2),
            lambda r, v: _right(fmt.signed(v), _direction(v)),
        ),
        Column("bid", "Bid", 10, lambda r: r.bid, lambda r, v: _right(fmt.price(v))),
        Column("ask", "Ask", 10, lambda r: r.ask, lambda r, v: _right(fmt.price(v))),
    ]
    if wide:
        columns += [
            Column(
                "bid_qty", "BidQty", 8, lambda r: r.bid_qty, lambda r, v: _right(fmt.quantity(v))
            ),
            Column(
                "ask_qty", "AskQty", 8, lambda r: r.ask_qty, lambda r, v: _right(fmt.quantity(v))
            ),
        ]
    columns.append(
        Column("volume", "Volume", 10, lambda r: r.volume, lambda r, v: _right(fmt.quantity(v)))
    )
    if wide:
        columns += [
            Column("high", "High", 10, lambda r: r.high, lambda r, v: _right(fmt.price(v))),
            Column("low", "Low", 10, lambda r: r.low, lambda r, v: _right(fmt.price(v))),
        ]
    columns.append(
        Column(
            "spark", "Trend", spark_width, lambda r: r.spark, lambda r, v: _spark(r, spark_width)
        )
    )
    return columns


SORTABLE = ("watchlist", "symbol", "ltp", "change", "change_pct", "volume")


class MarketWatchScreen(Screen[None]):
    """Live quotes of the watchlist."""

    CSS_PATH = "market_watch.tcss"
    BINDINGS = [
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("a", "add_symbol", "Add"),
        Binding("d,delete", "remove_symbol", "Remove"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.sort_key = "watchlist"
        self.sort_reverse = False
        self.wide: bool | None = None
        self.columns: list[Column] = []
        self._shown: list[int] = []
        self._values: dict[int, tuple[Any, ...]] = {}

    def compose(self) -> ComposeResult:
        yield DeskHeader("Market watch")
        yield DataTable(id="quotes", cursor_type="row", zebra_stripes=True)
        yield Input(placeholder="filter symbols…", id="filter", classes="hidden")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The quotes table."""
        return self.query_one("#quotes", DataTable)

    def on_mount(self) -> None:
        self._layout(self.size.width)
        self.table.focus()

    def on_screen_resume(self) -> None:
        self._rebuild()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def _layout(self, width: int) -> None:
        wide = width >= WIDE_LAYOUT_MIN_WIDTH
        if wide == self.wide:
            return
        self.wide = wide
        self.columns = _columns(spark_width=16 if wide else 12, wide=wide)
        table = self.table
        table.clear(columns=True)
        for column in self.columns:
            justify = "left" if column.key in ("symbol", "spark") else "right"
            table.add_column(
                Text(column.label, justify=justify), width=column.width, key=column.key
            )
        self._rebuild()

    # -- data ------------------------------------------------------------------

    def _visible_tokens(self) -> list[int]:
        app = self.app
        order = [
            (position, app.quotes[token])
            for position, key in enumerate(app.watchlist)
            if (token := app.token_by_key.get(key)) is not None and token in app.quotes
        ]
        needle = self.filter_text.upper()
        if needle:
            order = [(p, r) for p, r in order if needle in r.tradingsymbol.upper()]
        if self.sort_key != "watchlist":
            index = [c.key for c in self.columns].index(self.sort_key)
            column = self.columns[index]
            order.sort(key=lambda item: column.value(item[1]), reverse=self.sort_reverse)
        elif self.sort_reverse:
            order.reverse()
        return [row.instrument_token for _, row in order]

    def _rebuild(self) -> None:
        """Redraw every row (after a layout, filter, sort or watchlist change)."""
        if not self.columns:
            return
        table = self.table
        cursor_key = self._cursor_token()
        table.clear(columns=False)
        self._values.clear()
        self._shown = self._visible_tokens()
        quotes = self.app.quotes
        for token in self._shown:
            row = quotes[token]
            values = tuple(column.value(row) for column in self.columns)
            self._values[token] = values
            cells = [c.render(row, v) for c, v in zip(self.columns, values, strict=True)]
            table.add_row(*cells, key=str(token))
        if cursor_key is not None and cursor_key in self._shown:
            table.move_cursor(row=self._shown.index(cursor_key), animate=False)

    def _cursor_token(self) -> int | None:
        table = self.table
        if table.row_count == 0 or not self._shown:
            return None
        row = min(table.cursor_row, len(self._shown) - 1)
        return self._shown[row]

    def apply_quotes(self, rows: Sequence[QuoteRow], watchlist_changed: bool) -> None:
        """Update only the cells whose values changed; rebuild when the row set changed."""
        if not self.columns:
            return
        if watchlist_changed or any(
            r.instrument_token not in self._values for r in rows if self._wanted(r)
        ):
            self._rebuild()
            return
        table = self.table
        columns = self.columns
        resort = False
        sort_index = next((i for i, c in enumerate(columns) if c.key == self.sort_key), None)
        for row in rows:
            token = row.instrument_token
            old = self._values.get(token)
            if old is None:
                continue
            new = tuple(column.value(row) for column in columns)
            if new == old:
                continue
            self._values[token] = new
            row_key = str(token)
            for index, column in enumerate(columns):
                if new[index] != old[index] or column.key in ("ltp", "symbol"):
                    table.update_cell(row_key, column.key, column.render(row, new[index]))
            if sort_index is not None and new[sort_index] != old[sort_index]:
                resort = True
        if resort:
            self._rebuild()

    def _wanted(self, row: QuoteRow) -> bool:
        needle = self.filter_text.upper()
        in_watchlist = f"{row.exchange}:{row.tradingsymbol}" in self.app.watchlist_keys
        return in_watchlist and (not needle or needle in row.tradingsymbol.upper())

    def selected_key(self) -> str | None:
        """``EXCHANGE:SYMBOL`` of the row under the cursor."""
        token = self._cursor_token()
        row = self.app.quotes.get(token) if token is not None else None
        return f"{row.exchange}:{row.tradingsymbol}" if row else None

    # -- actions ---------------------------------------------------------------

    def action_cursor_down(self) -> None:
        self.table.action_cursor_down()

    def action_cursor_up(self) -> None:
        self.table.action_cursor_up()

    def action_filter(self) -> None:
        """Show the filter box."""
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        """Clear and hide the filter box."""
        box = self.query_one("#filter", Input)
        box.value = ""
        box.add_class("hidden")
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._rebuild()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        if not self.filter_text:
            self.query_one("#filter", Input).add_class("hidden")
        self.table.focus()

    def action_cycle_sort(self) -> None:
        """Sort by the next column: watchlist order, symbol, LTP, change, change %, volume."""
        self.sort_key = SORTABLE[(SORTABLE.index(self.sort_key) + 1) % len(SORTABLE)]
        self.sort_reverse = self.sort_key in ("ltp", "change", "change_pct", "volume")
        self._announce_sort()

    def action_reverse_sort(self) -> None:
        """Reverse the sort order."""
        self.sort_reverse = not self.sort_reverse
        self._announce_sort()

    def sort_by(self, key: str, reverse: bool = False) -> None:
        """Sort by column ``key`` (or ``watchlist`` for the watchlist's own order)."""
        self.sort_key = key
        self.sort_reverse = reverse
        self._announce_sort()

    def _announce_sort(self) -> None:
        self._rebuild()
        direction = "descending" if self.sort_reverse else "ascending"
        label = "watchlist order" if self.sort_key == "watchlist" else self.sort_key
        self.notify(f"sorted by {label}, {direction}", timeout=2)

    @on(DataTable.HeaderSelected)
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        if key == "spark":
            return
        reverse = not self.sort_reverse if key == self.sort_key else key != "symbol"
        self.sort_by(key, reverse)

    def action_add_symbol(self) -> None:
        """Ask for a symbol and add it to the watchlist."""

        def added(symbol: str | None) -> None:
            if symbol:
                self.run_worker(self.app.send(AddToWatchlist(symbol=symbol)))

        self.app.push_screen(AddSymbolScreen(self.app.instrument_keys), added)

    def action_remove_symbol(self) -> None:
        """Remove the selected instrument from the watchlist."""
        key = self.selected_key()
        if key is None:
            self.notify("nothing selected", severity="warning")
            return
        self.run_worker(self.app.send(RemoveFromWatchlist(symbol=key)))

    def desk_commands(self) -> Iterable[SystemCommand]:
        """Command-palette entries of this screen."""
        yield SystemCommand("Add symbol to watchlist", "Market watch", self.action_add_symbol)
        yield SystemCommand("Remove selected symbol", "Market watch", self.action_remove_symbol)
        yield SystemCommand("Filter symbols", "Market watch", self.action_filter)
        for key in SORTABLE:
            yield SystemCommand(
                f"Sort by {key.replace('_', ' ')}",
                "Market watch",
                lambda key=key: self.sort_by(key, key in ("ltp", "change", "change_pct", "volume")),
            )
