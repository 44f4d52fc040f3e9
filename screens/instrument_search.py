"""Instrument search: find any NSE, BSE or NFO contract, or pick one from an option chain.

Both views ask the engine through the desk's client (``search_instruments``,
``option_chain``), so an attached terminal searches the daemon's instruments. The screen
returns the key of the chosen instrument (``NFO:NIFTY26D0126050CE``) or ``None``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static, TabbedContent, TabPane

from alphapt_tui import formatting as fmt
from engine.instrument_search import ChainLeg, OptionChain
from engine.model import Instrument

TYPING_PAUSE_S = 0.12
"""Wait this long after a keystroke before asking the engine (typing fast asks once)."""
ITM_STYLE = "on #2b2a1c"
"""In-the-money side of a chain row, as brokers shade it."""

SEARCH_COLUMNS = (
    ("Exch", 4),
    ("Symbol", 21),
    ("Name", 0),
    ("Type", 4),
    ("Expiry", 11),
    ("Strike", 8),
    ("Lot", 4),
    ("Tick", 4),
    ("", 1),
)
"""Titles and widths; the name gets what the terminal leaves (16 to 28 columns)."""
CHAIN_COLUMNS = (("CE chg%", 10), ("CE LTP", 12), ("Strike", 10), ("PE LTP", 12), ("PE chg%", 10))
CALL_COLUMNS, PUT_COLUMNS = (0, 1), (3, 4)


def expiry_text(expiry: date | None) -> str:
    """``01 Dec 2026``."""
    return expiry.strftime("%d %b %Y") if expiry else ""


class InstrumentSearchScreen(ModalScreen[str | None]):
    """Search by symbol or name, or browse an option chain; Enter adds the selection."""

    CSS_PATH = "instrument_search.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Close"),
        Binding("f2", "toggle_view", "Search / chain"),
        Binding("left_square_bracket", "expiry(-1)", "Prev expiry", key_display="["),
        Binding("right_square_bracket", "expiry(1)", "Next expiry", key_display="]"),
    ]

    def __init__(self, chain: bool = False, query: str = "") -> None:
        """Open on the option chain when ``chain``; ``query`` prefills the search."""
        super().__init__()
        self.start_on_chain = chain
        self.initial_query = query
        self.results: tuple[Instrument, ...] = ()
        self.searched = ""
        """The query (upper case) whose results are shown."""
        self.chain: OptionChain | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Add to watchlist", id="title")
            with TabbedContent(initial="chain-pane" if self.start_on_chain else "search-pane"):
                with TabPane("Search", id="search-pane"):
                    yield Input(
                        self.initial_query,
                        placeholder="INFY · tata steel · nifty 26000 ce · banknifty jan pe",
                        id="query",
                    )
                    yield DataTable(id="results", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="results-note", classes="note")
                with TabPane("Option chain", id="chain-pane"):
                    with Horizontal(id="chain-bar"):
                        yield Input("NIFTY", placeholder="underlying", id="underlying")
                        yield Static("", id="chain-info")
                    yield DataTable(id="chain", cursor_type="cell")
                    yield Static("", id="chain-note", classes="note")
            yield Label(
                "Enter adds · ↓ to the list · F2 search/chain · [ ] expiry · Esc closes",
                classes="hint",
            )

    def on_mount(self) -> None:
        results = self.query_one("#results", DataTable)
        self.name_width = 16 if self.app.size.width < 130 else 28
        for title, width in SEARCH_COLUMNS:
            results.add_column(title, width=width or self.name_width)
        chain = self.query_one("#chain", DataTable)
        for title, width in CHAIN_COLUMNS:
            justify = "center" if title == "Strike" else "right"
            chain.add_column(Text(title, justify=justify), width=width)
        if self.start_on_chain:
            self.query_one("#underlying", Input).focus()
            self.load_chain("NIFTY", None)
        else:
            self.query_one("#query", Input).focus()
            if self.initial_query:
                self.run_search(self.initial_query, 0.0)

    # -- search ---------------------------------------------------------------------------------

    @on(Input.Changed, "#query")
    def _query_changed(self, event: Input.Changed) -> None:
        self.run_search(event.value, TYPING_PAUSE_S)

    @work(exclusive=True, group="search")
    async def run_search(self, query: str, pause: float) -> None:
        """Ask the engine for matches of ``query`` (a newer keystroke cancels this one)."""
        if pause:
            await asyncio.sleep(pause)
        note = self.query_one("#results-note", Static)
        if not query.strip():
            self.show_results(())
            note.update("")
            return
        try:
            found = await self.app.client.search_instruments(query)  # type: ignore[attr-defined]
        except Exception as exc:
            note.update(f"search failed: {type(exc).__name__}")
            return
        self.show_results(found)
        self.searched = query.strip().upper()
        note.update("" if found else f"nothing matches {query.strip()!r}")

    def show_results(self, found: tuple[Instrument, ...]) -> None:
        """Fill the results table."""
        self.results = found
        table = self.query_one("#results", DataTable)
        table.clear()
        watched = getattr(self.app, "watchlist_keys", frozenset())
        for inst in found:
            table.add_row(
                inst.exchange,
                inst.tradingsymbol,
                inst.name.title()[: self.name_width],
                inst.instrument_type,
                expiry_text(inst.expiry),
                Text(f"{inst.strike:g}" if inst.strike else "", justify="right"),
                Text(str(inst.lot_size), justify="right"),
                Text(f"{inst.tick_size:g}", justify="right"),
                "✓" if inst.key in watched else "",
                key=inst.key,
            )

    @on(Input.Submitted, "#query")
    async def _query_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip().upper() != self.searched:
            # Enter typed before the last keystroke's search came back: search now.
            self.workers.cancel_group(self, "search")
            await self.run_search(event.value, 0.0).wait()
        table = self.query_one("#results", DataTable)
        if self.results:
            self.dismiss(self.results[max(table.cursor_row, 0)].key)

    @on(DataTable.RowSelected, "#results")
    def _result_selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(str(event.row_key.value))

    # -- option chain ---------------------------------------------------------------------------

    @on(Input.Submitted, "#underlying")
    def _underlying_submitted(self, event: Input.Submitted) -> None:
        self.load_chain(event.value, None)
        self.query_one("#chain", DataTable).focus()

    @work(exclusive=True, group="chain")
    async def load_chain(self, underlying: str, expiry: date | None) -> None:
        """Ask the engine for the chain of ``underlying`` at ``expiry`` and show it."""
        note = self.query_one("#chain-note", Static)
        try:
            chain = await self.app.client.option_chain(underlying, expiry)  # type: ignore[attr-defined]
        except Exception as exc:
            note.update(f"option chain failed: {type(exc).__name__}")
            return
        self.show_chain(chain)

    def show_chain(self, chain: OptionChain) -> None:
        """Fill the chain table: calls left, strike in the middle, puts right."""
        self.chain = chain
        self.query_one("#underlying", Input).value = chain.underlying
        info = self.query_one("#chain-info", Static)
        note = self.query_one("#chain-note", Static)
        table = self.query_one("#chain", DataTable)
        table.clear()
        if not chain.strikes:
            info.update("")
            known = ", ".join(chain.underlyings[:12])
            note.update(f"{chain.note}" + (f" · options on: {known}" if known else ""))
            return
        at = chain.expiries.index(chain.expiry) if chain.expiry in chain.expiries else 0
        lot = next(
            (
                leg.instrument.lot_size
                for row in chain.strikes
                for leg in (row.call, row.put)
                if leg
            ),
            0,
        )
        spot = f" · spot {fmt.price(chain.spot)}" if chain.spot else ""
        info.update(
            f"◀ {expiry_text(chain.expiry)} ▶  ({at + 1}/{len(chain.expiries)}) · lot {lot}{spot}"
        )
        note.update("prices dimmed: previous close, not traded yet today")
        atm = chain.atm_strike
        for row in chain.strikes:
            call_itm = chain.spot is not None and row.strike < chain.spot
            put_itm = chain.spot is not None and row.strike > chain.spot
            strike_style = "bold yellow underline" if row.strike == atm else "bold"
            table.add_row(
                *_leg_cells(row.call, call_itm, reverse=True),
                Text(f"{row.strike:g}", style=strike_style, justify="center"),
                *_leg_cells(row.put, put_itm, reverse=False),
                key=f"{row.strike:g}",
            )
        if atm is not None:
            row_index = [r.strike for r in chain.strikes].index(atm)
            table.move_cursor(row=row_index, column=1)

    def _chain_leg(self, row: int, column: int) -> ChainLeg | None:
        if self.chain is None or not 0 <= row < len(self.chain.strikes):
            return None
        strike = self.chain.strikes[row]
        if column in CALL_COLUMNS:
            return strike.call
        if column in PUT_COLUMNS:
            return strike.put
        return None

    @on(DataTable.CellSelected, "#chain")
    def _chain_selected(self, event: DataTable.CellSelected) -> None:
        leg = self._chain_leg(event.coordinate.row, event.coordinate.column)
        if leg is None:
            self.notify("choose the call (left) or the put (right)", severity="warning")
            return
        self.dismiss(leg.instrument.key)

    def action_expiry(self, step: int) -> None:
        """Show the chain of the previous or next expiry."""
        chain = self.chain
        if chain is None or not chain.expiries or chain.expiry not in chain.expiries:
            return
        at = chain.expiries.index(chain.expiry) + step
        if 0 <= at < len(chain.expiries):
            self.load_chain(chain.underlying, chain.expiries[at])

    def action_toggle_view(self) -> None:
        """Switch between search and chain; a selected option opens its own chain."""
        tabs = self.query_one(TabbedContent)
        if tabs.active == "chain-pane":
            tabs.active = "search-pane"
            self.query_one("#query", Input).focus()
            return
        tabs.active = "chain-pane"
        table = self.query_one("#results", DataTable)
        picked = (
            self.results[table.cursor_row] if 0 <= table.cursor_row < len(self.results) else None
        )
        if picked is not None and picked.instrument_type in ("CE", "PE"):
            self.load_chain(picked.name or picked.tradingsymbol, picked.expiry)
        elif self.chain is None:
            self.load_chain(self.query_one("#underlying", Input).value, None)
        self.query_one("#chain", DataTable).focus()

    def key_down(self) -> None:
        """↓ in a search field moves to its list."""
        focused = self.focused
        if isinstance(focused, Input):
            target = "#results" if focused.id == "query" else "#chain"
            self.query_one(target, DataTable).focus()

    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)


def _leg_cells(leg: ChainLeg | None, itm: bool, reverse: bool) -> list[Any]:
    """Change % and LTP of one side (mirrored for the calls, so LTPs meet at the strike)."""
    shade = ITM_STYLE if itm else ""
    if leg is None or leg.ltp is None:
        cells = [Text("", style=shade), Text("–", style=shade, justify="right")]
    else:
        tone = "" if leg.live else "dim"
        colour = "green" if leg.change_pct > 0 else "red" if leg.change_pct < 0 else ""
        change = fmt.signed(leg.change_pct) if leg.live else ""
        cells = [
            Text(change, style=f"{colour} {shade}".strip(), justify="right"),
            Text(fmt.price(leg.ltp), style=f"{tone} {shade}".strip(), justify="right"),
        ]
    return cells if reverse else cells[::-1]
