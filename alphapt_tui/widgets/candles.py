"""A candlestick chart drawn with box characters: candles, volume bars, overlays, a cursor.

The drawing is a pure function of the bars and the size (:func:`draw_candles`), so it
is tested without a terminal; :class:`CandleChart` is the thin widget around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from alphapt_tui import formatting as fmt

UP, DOWN = "green", "red"
VOLUME_LEVELS = " ▁▂▃▄▅▆▇█"
AXIS_WIDTH = 11
VOLUME_ROWS = 4


@dataclass(frozen=True, slots=True)
class Candle:
    """What the chart needs of a bar."""

    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: int


@dataclass(frozen=True, slots=True)
class Overlay:
    """A line drawn over the candles (one value per candle, None where undefined)."""

    name: str
    values: tuple[float | None, ...]
    style: str


def sma(closes: Sequence[float], period: int) -> tuple[float | None, ...]:
    """Simple moving average, None until ``period`` closes exist."""
    out: list[float | None] = []
    total = 0.0
    for i, close in enumerate(closes):
        total += close
        if i >= period:
            total -= closes[i - period]
        out.append(total / period if i >= period - 1 else None)
    return tuple(out)


def vwap(candles: Sequence[Candle]) -> tuple[float | None, ...]:
    """Volume-weighted average of typical prices, cumulative from the first candle."""
    out: list[float | None] = []
    value = volume = 0.0
    for candle in candles:
        value += (candle.high + candle.low + candle.close) / 3 * candle.volume
        volume += candle.volume
        out.append(value / volume if volume else None)
    return tuple(out)


def draw_candles(
    candles: Sequence[Candle],
    width: int,
    height: int,
    cursor: int | None = None,
    overlays: Sequence[Overlay] = (),
) -> list[Text]:
    """``height`` lines of ``width`` cells: price area, a price axis, volume bars.

    One column per candle; the newest candles fill the right edge.
    """
    price_rows = max(3, height - VOLUME_ROWS - 1)
    columns = max(1, width - AXIS_WIDTH)
    # Two cells a candle (a gap between neighbours) while they fit, one when crowded.
    cell = 2 if len(candles) * 2 <= columns else 1
    shown = list(candles[-(columns // cell) :])
    offset = len(candles) - len(shown)
    pad = " " * (columns - len(shown) * cell)
    gap = " " * (cell - 1)
    lines = [Text(no_wrap=True) for _ in range(price_rows + 1 + VOLUME_ROWS)]
    if not shown:
        lines[price_rows // 2].append("no bars yet", style="dim")
        return lines
    values = [c.high for c in shown] + [c.low for c in shown]
    for overlay in overlays:
        values += [v for v in overlay.values[offset:] if v is not None]
    top, bottom = max(values), min(values)
    span = (top - bottom) or max(top * 0.001, 0.05)

    def row_of(price: float) -> int:
        return min(price_rows - 1, max(0, int((top - price) / span * (price_rows - 1) + 0.5)))

    grid = [[(" ", "")] * len(shown) for _ in range(price_rows)]
    for x, candle in enumerate(shown):
        style = UP if candle.close >= candle.open else DOWN
        body_top, body_bottom = (
            row_of(max(candle.open, candle.close)),
            row_of(min(candle.open, candle.close)),
        )
        for y in range(row_of(candle.high), row_of(candle.low) + 1):
            grid[y][x] = ("┃" if body_top <= y <= body_bottom else "│", style)
    for overlay in overlays:
        for x, value in enumerate(overlay.values[offset:]):
            if value is not None and grid[row_of(value)][x][0] == " ":
                grid[row_of(value)][x] = ("·", overlay.style)
    cursor_x = None if cursor is None else cursor - offset
    for y, row in enumerate(grid):
        lines[y].append(pad)
        for x, (char, style) in enumerate(row):
            lines[y].append(char, style=f"{style} reverse" if x == cursor_x else style)
            lines[y].append(gap)
        if y in (0, price_rows // 2, price_rows - 1):
            label = top - span * y / (price_rows - 1)
            lines[y].append(f" {fmt.price(label):>{AXIS_WIDTH - 1}}", style="dim")
    lines[price_rows].append("─" * columns, style="dim")
    peak = max(c.volume for c in shown) or 1
    for level in range(VOLUME_ROWS):
        lines[price_rows + 1 + level].append(pad)
    for x, candle in enumerate(shown):
        eighths = round(candle.volume / peak * VOLUME_ROWS * 8)
        style = UP if candle.close >= candle.open else DOWN
        for level in range(VOLUME_ROWS):
            filled = min(8, max(0, eighths - (VOLUME_ROWS - 1 - level) * 8))
            char = VOLUME_LEVELS[filled]
            lines[price_rows + 1 + level].append(
                char, style=f"{style} reverse" if x == cursor_x else style
            )
            lines[price_rows + 1 + level].append(gap)
    return lines


class CandleChart(Widget):
    """Draws :func:`draw_candles` at the widget's size."""

    DEFAULT_CSS = """
    CandleChart {
        height: 1fr;
        width: 1fr;
    }
    """

    cursor: reactive[int | None] = reactive(None)
    """Index of the candle under the cursor (None: the last one)."""

    def __init__(self, id: str | None = None) -> None:
        super().__init__(id=id)
        self.candles: list[Candle] = []
        self.overlays: list[Overlay] = []

    def set_candles(self, candles: Sequence[Candle], overlays: Sequence[Overlay] = ()) -> None:
        """Replace the data and redraw."""
        self.candles = list(candles)
        self.overlays = list(overlays)
        self.refresh()

    def render(self) -> Text:
        lines = draw_candles(
            self.candles, self.size.width, self.size.height, self.cursor, self.overlays
        )
        return Text("\n").join(lines)
