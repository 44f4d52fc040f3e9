"""Portfolio maths: average cost, realized and unrealized P&L, idempotent fills, replay."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.orders.model import Fill, Product, Side
from engine.trading.margin import funds
from engine.trading.portfolio import Portfolio
from engine.trading.settings import PaperSettings

TODAY = date(2026, 11, 25)
TS = 1_795_582_800_000_000_000  # 2026-11-25 10:30 IST


def fill(n: int, side: Side, qty: int, price: float, product: Product = Product.MIS) -> Fill:
    return Fill(
        trade_id=f"T{n}",
        client_order_id=f"C{n}",
        instrument_token=738561,
        exchange="NSE",
        tradingsymbol="RELIANCE",
        side=side,
        product=product,
        quantity=qty,
        price=price,
        ts_ns=TS + n,
    )


def test_average_cost_zerodha_style() -> None:
    p = Portfolio(TODAY)
    p.apply_fill(fill(1, Side.BUY, 10, 100.0))
    p.apply_fill(fill(2, Side.BUY, 10, 110.0))
    pos = next(iter(p.positions.values()))
    assert (pos.net_quantity, pos.average_price) == (20, 105.0)
    p.apply_fill(fill(3, Side.SELL, 15, 120.0))
    assert (pos.net_quantity, pos.average_price, pos.realized_pnl) == (5, 105.0, 225.0)
    p.apply_fill(fill(4, Side.SELL, 10, 100.0))
    assert (pos.net_quantity, pos.average_price, pos.realized_pnl) == (-5, 100.0, 200.0)
    p.mark(738561, 90.0)
    assert pos.unrealized_pnl == 50.0
    p.apply_fill(fill(5, Side.BUY, 5, 90.0))
    assert (pos.net_quantity, pos.average_price, pos.realized_pnl) == (0, 0.0, 250.0)
    assert pos.unrealized_pnl == 0.0


def test_day_pnl_marks_overnight_quantity_from_previous_close() -> None:
    p = Portfolio(date(2026, 11, 24))
    p.apply_fill(fill(1, Side.BUY, 10, 100.0, Product.CNC))  # ts is the 25th: "today" is the 24th
    p.roll_day(TODAY)
    pos = next(iter(p.positions.values()))
    assert pos.overnight_quantity == 10
    p.mark(738561, 104.0)
    assert pos.day_pnl(prev_close=102.0) == pytest.approx(20.0)


def test_funds_block_margin_and_charges() -> None:
    paper = PaperSettings(starting_capital=100_000.0, mis_margin_fraction=0.2)
    p = Portfolio(TODAY)
    p.apply_fill(fill(1, Side.BUY, 100, 100.0, Product.MIS))
    view = funds(p, [], {}, paper)
    assert view.margin_used == pytest.approx(2000.0)
    assert view.charges > 0
    assert view.available == pytest.approx(100_000.0 - 2000.0 - view.charges)


trades = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(min_value=1, max_value=500),
        st.integers(min_value=1, max_value=40_000).map(lambda t: t * 0.05),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(trades, st.integers(min_value=1, max_value=40_000).map(lambda t: t * 0.05))
def test_position_is_the_sum_of_fills_and_pnl_is_consistent(trades, ltp) -> None:  # type: ignore[no-untyped-def]
    p = Portfolio(TODAY)
    fills = [fill(n, side, qty, price) for n, (side, qty, price) in enumerate(trades)]
    p.apply_fills(fills)
    p.mark(738561, ltp)
    pos = next(iter(p.positions.values()))
    assert pos.net_quantity == sum(f.signed_quantity for f in fills)
    assert pos.buy_quantity - pos.sell_quantity == pos.net_quantity
    cash = sum(f.value for f in fills if f.side is Side.SELL) - sum(
        f.value for f in fills if f.side is Side.BUY
    )
    total = pos.realized_pnl + pos.unrealized_pnl
    assert total == pytest.approx(cash + pos.net_quantity * ltp, rel=1e-9, abs=1e-6)
    assert pos.day_pnl(None) == pytest.approx(total, rel=1e-9, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(trades)
def test_the_same_fill_twice_changes_nothing_and_replay_rebuilds(trades) -> None:  # type: ignore[no-untyped-def]
    fills = [fill(n, side, qty, price) for n, (side, qty, price) in enumerate(trades)]
    once = Portfolio(TODAY)
    once.apply_fills(fills)
    twice = Portfolio(TODAY)
    for f in fills:
        twice.apply_fill(f)
        assert twice.apply_fill(f) is None
    replayed = Portfolio(TODAY)
    replayed.apply_fills(fills + fills[: len(fills) // 2])
    for other in (twice, replayed):
        assert other.views({}) == once.views({})


@settings(max_examples=100, deadline=None)
@given(trades, st.lists(st.sampled_from(list(Product)), min_size=1, max_size=3))
def test_realized_and_charges_asked_between_fills_are_fresh_sums(trades, products) -> None:  # type: ignore[no-untyped-def]
    # The portfolio keeps its totals until a fill or a new day: asking after each fill
    # must still give the sum over positions as they are now.
    p = Portfolio(TODAY)
    for n, (side, qty, price) in enumerate(trades):
        p.apply_fill(fill(n, side, qty, price, products[n % len(products)]))
        p.apply_fill(fill(n, side, qty, price, products[n % len(products)]))  # a repeat
        assert p.realized() == sum(x.realized_pnl for x in p.positions.values())
        assert p.charges() == sum(x.charges for x in p.positions.values())
        if n % 3 == 2:
            p.roll_day(date.fromordinal(TODAY.toordinal() + n))
            assert p.realized() == sum(x.realized_pnl for x in p.positions.values())
