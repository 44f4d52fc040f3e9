"""The candlestick drawing, as text: where bodies, wicks, overlays and volume land."""

from alphapt_tui.widgets.candles import Candle, Overlay, draw_candles, sma, vwap


def candle(o: float, h: float, l: float, c: float, v: int = 100, t: int = 0) -> Candle:  # noqa: E741
    return Candle(t, o, h, l, c, v)


def column(lines, x: int, rows: int) -> str:
    return "".join(line.plain[x] if x < len(line.plain) else " " for line in lines[:rows])


def test_up_candle_body_and_wicks_sit_at_their_prices() -> None:
    lines = draw_candles([candle(100, 110, 90, 105)], width=12, height=16)
    price_rows = 16 - 4 - 1
    drawn = column(lines, 0, price_rows)
    assert drawn[0] == "│" and drawn[-1] == "│"  # high at the top row, low at the bottom
    assert "┃" in drawn
    body = [i for i, ch in enumerate(drawn) if ch == "┃"]
    # a 90–110 range on 11 rows is 2 rupees a row: close 105 → row 2.5 (rounds to 3), open 100 → row 5
    assert body[0] == 3 and body[-1] == 5
    assert lines[0].spans[0].style == "green"


def test_down_candle_is_red_and_newest_candles_fill_the_right_edge() -> None:
    candles = [candle(100 + i, 101 + i, 99 + i, 100.5 + i, t=i) for i in range(50)]
    candles.append(candle(150, 151, 140, 141, t=50))
    lines = draw_candles(candles, width=31, height=12)
    assert len(lines) == 12
    last = 31 - 11 - 1
    styles = {span.style for line in lines for span in line.spans if span.start == last}
    assert "red" in styles


def test_volume_bars_scale_to_the_largest() -> None:
    lines = draw_candles([candle(1, 2, 0.5, 1.5, v=10), candle(1, 2, 0.5, 1.5, v=40)], 13, 12)
    volume = [line.plain for line in lines[-4:]]
    assert [row[1] for row in volume] == ["█", "█", "█", "█"]
    assert [row[0] for row in volume] == [" ", " ", " ", "█"]


def test_cursor_reverses_its_column_and_axis_is_labelled() -> None:
    lines = draw_candles([candle(100, 110, 90, 105), candle(105, 108, 100, 101)], 13, 16, 0)
    assert any("reverse" in str(span.style) for span in lines[0].spans if span.start == 0)
    assert "110.00" in lines[0].plain and "90.00" in lines[10].plain


def test_overlays_drawn_where_no_candle_is() -> None:
    overlay = Overlay("SMA", (95.0, None), "yellow")
    lines = draw_candles(
        [candle(100, 110, 90, 105), candle(100, 110, 90, 105)], 13, 16, None, [overlay]
    )
    assert "·" not in column(lines, 1, 11)
    flat = draw_candles([candle(100, 101, 99, 100)], 12, 16, None, [Overlay("V", (90.0,), "cyan")])
    assert "·" in column(flat, 0, 11)


def test_empty_chart_says_so() -> None:
    assert "no bars yet" in "".join(line.plain for line in draw_candles([], 40, 12))


def test_sma_and_vwap() -> None:
    assert sma([1, 2, 3, 4], 2) == (None, 1.5, 2.5, 3.5)
    values = vwap([candle(0, 12, 6, 9, v=1), candle(0, 30, 0, 0, v=3)])
    assert values == (9.0, (9.0 + 30.0) / 4)


def test_few_candles_sit_at_the_right_edge_with_gaps() -> None:
    lines = draw_candles([candle(100, 110, 90, 105), candle(105, 108, 100, 101)], 31, 12)
    price_area = lines[3].plain[: 31 - 11]
    assert price_area.rstrip()[-2:].strip() != ""  # the newest candle is in the last cells
    assert price_area[:16].strip() == ""  # the left is empty padding
    drawn = [i for i, ch in enumerate(lines[2].plain[:20]) if ch in "│┃"]
    assert drawn == [16, 18]  # two cells a candle: candle, gap, candle, gap
