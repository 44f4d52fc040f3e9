"""A candlestick chart of one instrument from the tick store, with the live candle."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.candles import Candle, CandleChart, Overlay, sma, vwap
from alphapt_tui.widgets.header import DeskHeader
from engine.clock import ns_to_ist

TIMEFRAMES = ("1m", "5m", "15m", "1d")
SMA_PERIOD = 20


class ChartScreen(Screen[None]):
    """Candles, volume, SMA and VWAP overlays; a cursor reads any candle."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("t", "next_timeframe", "Timeframe"),
        Binding("left,h", "move(-1)", "◀", show=False),
        Binding("right,l", "move(1)", "▶", show=False),
        Binding("home", "move(-100000)", "First", show=False),
        Binding("end", "move(100000)", "Last", show=False),
        Binding("m", "toggle('sma')", "SMA"),
        Binding("v", "toggle('vwap')", "VWAP"),
    ]
    DEFAULT_CSS = """
    ChartScreen #info { height: 1; padding: 0 1; background: $panel; }
    """

    def __init__(self, key: str, timeframe: str = "1m") -> None:
        super().__init__()
        self.key = key
        self.timeframe = timeframe
        self.show_sma = True
        self.show_vwap = True
        self.candles: list[Candle] = []
        self.note = "loading…"
        self.follow = True

    def compose(self) -> ComposeResult:
        yield DeskHeader(f"Chart {self.key}")
        yield Static(id="info")
        yield CandleChart(id="chart")
        yield Footer()

    def on_mount(self) -> None:
        self.load()
        self.set_interval(1.0, self.load)

    @work(exclusive=True, group="bars")
    async def load(self) -> None:
        """Fetch bars for the current timeframe (the last one is the live candle)."""
        try:
            data = await self.app.client.bars(self.key, self.timeframe)
        except Exception as exc:
            self.note = f"engine unreachable: {type(exc).__name__}"
            self.show()
            return
        self.candles = [
            Candle(b.ts_ns, b.open, b.high, b.low, b.close, b.volume) for b in data.bars
        ]
        self.note = data.note
        self.show()

    def show(self) -> None:
        """Redraw the chart and the info line."""
        chart = self.query_one("#chart", CandleChart)
        if self.follow or chart.cursor is None:
            chart.cursor = len(self.candles) - 1 if self.candles else None
        overlays = []
        if self.show_sma:
            closes = [c.close for c in self.candles]
            overlays.append(Overlay(f"SMA{SMA_PERIOD}", sma(closes, SMA_PERIOD), "yellow"))
        if self.show_vwap:
            overlays.append(Overlay("VWAP", vwap(self.candles), "cyan"))
        chart.set_candles(self.candles, overlays)
        self.query_one("#info", Static).update(self.info_line(chart.cursor, overlays))

    def info_line(self, cursor: int | None, overlays: list[Overlay]) -> Text:
        """Timeframe, the candle under the cursor and the overlay legend."""
        line = Text.assemble((f"{self.key} ", "bold"), (f"{self.timeframe}  ", "cyan"))
        if cursor is None or not self.candles:
            line.append(self.note, style="dim")
            return line
        candle = self.candles[cursor]
        when = ns_to_ist(candle.ts_ns).strftime(
            "%d %b %H:%M" if self.timeframe != "1d" else "%d %b"
        )
        style = "green" if candle.close >= candle.open else "red"
        line.append_text(
            Text.assemble(
                (f"{when}  ", ""),
                ("O ", "dim"),
                (fmt.price(candle.open), style),
                ("  H ", "dim"),
                (fmt.price(candle.high), style),
                ("  L ", "dim"),
                (fmt.price(candle.low), style),
                ("  C ", "dim"),
                (fmt.price(candle.close), style),
                ("  V ", "dim"),
                (fmt.quantity(candle.volume), ""),
            )
        )
        for overlay in overlays:
            value = overlay.values[cursor] if cursor < len(overlay.values) else None
            if value is not None:
                line.append(f"  {overlay.name} {fmt.price(value)}", style=overlay.style)
        return line

    def action_next_timeframe(self) -> None:
        """Cycle 1m → 5m → 15m → 1d."""
        self.timeframe = TIMEFRAMES[(TIMEFRAMES.index(self.timeframe) + 1) % len(TIMEFRAMES)]
        self.candles = []
        self.note = "loading…"
        self.follow = True
        self.show()
        self.load()

    def action_move(self, steps: int) -> None:
        """Move the cursor; moving to the last candle follows the live one again."""
        if not self.candles:
            return
        chart = self.query_one("#chart", CandleChart)
        current = chart.cursor if chart.cursor is not None else len(self.candles) - 1
        chart.cursor = max(0, min(len(self.candles) - 1, current + steps))
        self.follow = chart.cursor == len(self.candles) - 1
        self.show()

    def action_toggle(self, overlay: str) -> None:
        """Show or hide an overlay."""
        if overlay == "sma":
            self.show_sma = not self.show_sma
        else:
            self.show_vwap = not self.show_vwap
        self.show()
