"""Market watch: the watchlist's live quotes, sortable and filterable."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Input

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import DeskHeader
from alphapt_tui.widgets.quote_table import Column, QuoteTable
from engine.cache import QuoteRow
from engine.orders.model import Side
from engine.snapshot import AddToWatchlist, DeskSnapshot, RemoveFromWatchlist
from screens.instrument_search import InstrumentSearchScreen
from screens.order_ticket import OrderTicketScreen, TicketInstrument

UP, DOWN, FLAT = "green", "red", "grey50"
WIDE_LAYOUT_MIN_WIDTH = 150


def _direction(value: float) -> str:
    return UP if value > 0 else DOWN if value < 0 else FLAT


def _right(text: str, style: str = "") -> Text:
    return Text(text, style=style)


def _symbol(row: QuoteRow) -> str:
    return row.tradingsymbol


def _symbol_in(width: int):  # type: ignore[no-untyped-def]
    def shown(row: QuoteRow) -> str:
        return fmt.symbol(row.tradingsymbol, width)

    return shown


def _spark(row: QuoteRow, width: int) -> Text:
    points = row.spark[-width:]
    style = _direction(points[-1] - points[0]) if len(points) > 1 else FLAT
    return Text(fmt.sparkline(points, width), style=style)


def _columns(spark_width: int, wide: bool) -> list[Column]:
    width = 21 if wide else 12
    columns = [
        # Kite's longest F&O symbols (BANKNIFTY26DEC59200PE) fit the wide layout whole.
        Column("symbol", "Symbol", width, _symbol, _symbol_in(width), justify="left"),
        Column(
            "ltp",
            "LTP",
            10,
            lambda r: r.ltp,
            lambda r: _right(fmt.price(r.ltp), "bold " + _direction(r.change)),
        ),
        Column(
            "change",
            "Chg",
            9,
            lambda r: r.change,
            lambda r: _right(fmt.signed(r.change), _direction(r.change)),
        ),
        Column(
            "change_pct",
            "Chg%",
            7,
            lambda r: r.change_pct,
            lambda r: _right(fmt.signed(r.change_pct), _direction(r.change_pct)),
        ),
        Column("bid", "Bid", 10, lambda r: r.bid, lambda r: fmt.price(r.bid)),
        Column("ask", "Ask", 10, lambda r: r.ask, lambda r: fmt.price(r.ask)),
    ]
    if wide:
        columns += [
            Column("bid_qty", "BidQty", 8, lambda r: r.bid_qty, lambda r: fmt.quantity(r.bid_qty)),
            Column("ask_qty", "AskQty", 8, lambda r: r.ask_qty, lambda r: fmt.quantity(r.ask_qty)),
        ]
    columns.append(
        Column("volume", "Volume", 10, lambda r: r.volume, lambda r: fmt.quantity(r.volume))
    )
    if wide:
        columns += [
            Column("high", "High", 10, lambda r: r.high, lambda r: fmt.price(r.high)),
            Column("low", "Low", 10, lambda r: r.low, lambda r: fmt.price(r.low)),
        ]
    columns.append(
        Column(
            "spark",
            "Trend",
            spark_width,
            lambda r: r.spark,
            lambda r: _spark(r, spark_width),
            justify="left",
        )
    )
    return columns


SORTABLE = ("watchlist", "symbol", "ltp", "change", "change_pct", "volume")
DESCENDING_FIRST = frozenset({"ltp", "change", "change_pct", "volume"})


class MarketWatchScreen(Screen[None]):
    """Live quotes of the watchlist."""

    CSS_PATH = "market_watch.tcss"
    BINDINGS = [
        Binding("b", "ticket('BUY')", "Buy"),
        Binding("s", "ticket('SELL')", "Sell"),
        Binding("c", "chart", "Chart"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("a", "add_symbol", "Add"),
        Binding("d,delete", "remove_symbol", "Remove"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.filter_text = ""
        self.sort_key = "watchlist"
        self.sort_reverse = False
        self.wide: bool | None = None
        self.columns: list[Column] = []

    def compose(self) -> ComposeResult:
        yield DeskHeader("Market watch")
        yield QuoteTable(id="quotes")
        yield Input(placeholder="filter symbols…", id="filter", classes="hidden")
        yield Footer()

    @property
    def table(self) -> QuoteTable:
        """The quotes table."""
        return self.query_one("#quotes", QuoteTable)

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
        self.table.set_columns(self.columns)
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
            column = next(c for c in self.columns if c.key == self.sort_key)
            order.sort(key=lambda item: column.value(item[1]), reverse=self.sort_reverse)
        elif self.sort_reverse:
            order.reverse()
        return [row.instrument_token for _, row in order]

    def _rebuild(self) -> None:
        """Recompute which rows show, in which order (layout, filter, sort or watchlist change)."""
        if self.columns:
            self.table.set_rows(self._visible_tokens(), self.app.quotes)

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        """Take the snapshot's quotes."""
        self.apply_quotes(snapshot.quotes, watchlist_changed)

    def apply_quotes(self, rows: Sequence[QuoteRow], watchlist_changed: bool) -> None:
        """Take new quotes; re-order only when the watchlist or the sorted column changed."""
        if not self.columns:
            return
        table = self.table
        shown = set(table.row_keys)
        unseen = any(r.instrument_token not in shown and self._wanted(r) for r in rows)
        if watchlist_changed or unseen or (rows and self.sort_key not in ("watchlist", "symbol")):
            self._rebuild()
            return
        table.update_rows({row.instrument_token: row for row in rows})

    def _wanted(self, row: QuoteRow) -> bool:
        needle = self.filter_text.upper()
        in_watchlist = f"{row.exchange}:{row.tradingsymbol}" in self.app.watchlist_keys
        return in_watchlist and (not needle or needle in row.tradingsymbol.upper())

    def selected_key(self) -> str | None:
        """``EXCHANGE:SYMBOL`` of the row under the cursor."""
        token = self.table.cursor_key
        row = self.app.quotes.get(token) if token is not None else None
        return f"{row.exchange}:{row.tradingsymbol}" if row else None

    # -- actions ---------------------------------------------------------------

    def action_ticket(self, side: str) -> None:
        """Open the order ticket on the selected instrument, prefilled with its LTP."""
        if getattr(self.app.client, "role", "admin") == "viewer":
            self.notify("viewers cannot place orders", severity="error")
            return
        token = self.table.cursor_key
        row = self.app.quotes.get(token) if token is not None else None
        if row is None:
            self.notify("select an instrument first", severity="warning")
            return
        instrument = TicketInstrument(token, row.exchange, row.tradingsymbol, row.ltp)
        self.app.push_screen(OrderTicketScreen(instrument, Side(side)))

    def action_chart(self) -> None:
        """Open the candlestick chart of the selected instrument."""
        from screens.chart import ChartScreen

        key = self.selected_key()
        if key is None:
            self.notify("select an instrument first", severity="warning")
            return
        self.app.push_screen(ChartScreen(key))

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
        self.sort_reverse = self.sort_key in DESCENDING_FIRST
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

    @on(QuoteTable.HeaderClicked)
    def _header_clicked(self, event: QuoteTable.HeaderClicked) -> None:
        key = event.column_key
        if key == "spark":
            return
        reverse = not self.sort_reverse if key == self.sort_key else key in DESCENDING_FIRST
        self.sort_by(key, reverse)

    def action_add_symbol(self, chain: bool = False) -> None:
        """Search instruments (or browse an option chain) and add the one chosen."""

        def added(key: str | None) -> None:
            if key:
                self.run_worker(self.app.send(AddToWatchlist(symbol=key)))

        self.app.push_screen(InstrumentSearchScreen(chain=chain), added)

    def action_remove_symbol(self) -> None:
        """Remove the selected instrument from the watchlist."""
        key = self.selected_key()
        if key is None:
            self.notify("nothing selected", severity="warning")
            return
        self.run_worker(self.app.send(RemoveFromWatchlist(symbol=key)))

    def desk_commands(self) -> Iterable[SystemCommand]:
        """Command-palette entries of this screen."""
        yield SystemCommand(
            "Search instruments",
            "Find an NSE, BSE or NFO instrument and add it to the watchlist",
            self.action_add_symbol,
        )
        yield SystemCommand(
            "Option chain",
            "Browse calls and puts by underlying and expiry; add one to the watchlist",
            lambda: self.action_add_symbol(chain=True),
        )
        yield SystemCommand("Remove selected symbol", "Market watch", self.action_remove_symbol)
        yield SystemCommand("Filter symbols", "Market watch", self.action_filter)
        for key in SORTABLE:
            yield SystemCommand(
                f"Sort by {key.replace('_', ' ')}",
                "Market watch",
                lambda key=key: self.sort_by(key, key in DESCENDING_FIRST),
            )
