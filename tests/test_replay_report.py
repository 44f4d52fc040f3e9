"""Replay report maths on hand-computed equity curves and fills; command-line parsing."""

from __future__ import annotations

import argparse
import math
import statistics

import pytest

from alphapt_tui.replay import BadInput, build_request, parse_strategy, parse_when
from engine.clock import NS_PER_SECOND
from engine.orders.model import Fill, Product, Side
from engine.replay import EquityPoint, parse_speed, summarize, summary_text
from engine.replay.report import bar_returns, exposure, max_drawdown, round_trips, sharpe

MIN = 60 * NS_PER_SECOND
T0 = 1_795_580_000 * NS_PER_SECOND


def fill(n: int, side: str, qty: int, price: float, token: int = 1, strategy: str = "s") -> Fill:
    return Fill(
        trade_id=f"T{n}",
        client_order_id=f"C{n}",
        instrument_token=token,
        exchange="NSE",
        tradingsymbol=f"SYM{token}",
        side=Side(side),
        product=Product.MIS,
        quantity=qty,
        price=price,
        ts_ns=T0 + n * MIN,
        strategy_id=strategy,
    )


def test_round_trips_flat_to_flat_with_scaling_and_a_reversal() -> None:
    fills = [
        fill(1, "BUY", 10, 100.0),
        fill(2, "BUY", 10, 110.0),  # average 105
        fill(3, "SELL", 5, 120.0),  # +75 so far, still long 15
        fill(4, "SELL", 15, 101.0),  # -60: trip closes at +15
        fill(5, "SELL", 5, 200.0, token=2),
        fill(6, "BUY", 10, 210.0, token=2),  # short 5 loses 50, reverses to long 5
        fill(7, "BUY", 3, 50.0, token=3),
    ]
    trips, still_open = round_trips(fills)
    assert [(t.instrument_token, t.pnl, t.quantity) for t in trips] == [
        (1, 15.0, 20),
        (2, -50.0, 5),
    ]
    assert trips[0].opened_ns == T0 + MIN and trips[0].closed_ns == T0 + 4 * MIN
    assert still_open == 2  # token 2 long 5 after the reversal, token 3 long 3


def test_round_trips_are_per_strategy() -> None:
    fills = [fill(1, "BUY", 1, 10.0, strategy="a"), fill(2, "SELL", 1, 12.0, strategy="b")]
    trips, still_open = round_trips(fills)
    assert trips == [] and still_open == 2


def test_max_drawdown_in_rupees_and_from_its_peak() -> None:
    assert max_drawdown([100.0, 120.0, 90.0, 130.0, 110.0]) == (30.0, 0.25)
    assert max_drawdown([100.0, 101.0, 102.0]) == (0.0, 0.0)
    assert max_drawdown([]) == (0.0, 0.0)


def test_sharpe_is_annualised_mean_over_sample_stdev_of_bar_returns() -> None:
    equity = [100.0, 101.0, 100.0, 102.0]
    returns = [0.01, 100.0 / 101.0 - 1.0, 0.02]
    assert bar_returns(equity) == pytest.approx(returns)
    expected = statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(252 * 375)
    assert sharpe(equity) == pytest.approx(expected)
    assert sharpe(equity, bar_minutes=5) == pytest.approx(expected / math.sqrt(5))
    assert sharpe([100.0, 101.0]) is None  # one return
    assert sharpe([100.0, 100.0, 100.0]) is None  # no variation


def test_exposure_time_in_market_and_average_gross() -> None:
    points = [EquityPoint(T0 + i * MIN, 1e6, g) for i, g in enumerate([0.0, 100.0, 300.0, 0.0])]
    assert exposure(points) == (0.5, 100.0, 200.0)
    assert exposure([]) == (0.0, 0.0, 0.0)


def test_summary_nets_charges_and_counts_wins() -> None:
    fills = [fill(1, "BUY", 10, 100.0), fill(2, "SELL", 10, 103.0), fill(3, "BUY", 10, 104.0)]
    equity = [EquityPoint(T0 + i * MIN, e, 0.0) for i, e in enumerate([1e6, 1e6 + 20, 1e6 + 5])]
    s = summarize(
        strategy="s",
        strategy_class="sma_crossover",
        params={"fast": 3},
        symbols=["SYM1"],
        from_ns=T0,
        to_ns=T0 + 10 * MIN,
        speed="max",
        ticks=50,
        ticks_total=50,
        wall_s=0.5,
        finished=True,
        starting_capital=1e6,
        orders=[],
        fills=fills,
        realized=30.0,
        unrealized=-4.0,
        charges=6.5,
        equity=equity,
    )
    assert (s.gross_pnl, s.net_pnl, s.charges) == (26.0, 19.5, 6.5)
    assert (s.round_trips, s.wins, s.win_rate, s.open_positions) == (1, 1, 1.0, 1)
    assert s.max_drawdown == 15.0 and s.fills == 3
    text = summary_text(s)
    assert "net 19.50" in text and "win rate 100.0%" in text and "Sharpe" in text


def test_speed_words() -> None:
    assert parse_speed("max") is None
    assert parse_speed("1x") == 1.0 and parse_speed("10X") == 10.0
    for bad in ("0x", "fast", "-2x", "10"):
        with pytest.raises(ValueError, match="speed must be"):
            parse_speed(bad)


def test_when_a_bare_date_to_means_the_whole_day() -> None:
    start = parse_when("2026-11-25", end=False)
    assert parse_when("2026-11-25", end=True) - start == 86_400 * NS_PER_SECOND
    assert parse_when("2026-11-25T09:15", end=False) - start == (9 * 3600 + 15 * 60) * NS_PER_SECOND
    with pytest.raises(BadInput, match="bad --to time"):
        parse_when("25/11/2026", end=True)


def test_strategy_spec_becomes_an_entry_on_the_symbols() -> None:
    entry = parse_strategy("sma_crossover:fast=5,slow=20.5,average=ema,flag=true", ("INFY",))
    assert entry.class_ == "sma_crossover" and entry.name == "sma_crossover"
    assert entry.params == {"fast": 5, "slow": 20.5, "average": "ema", "flag": True}
    assert entry.instruments == ("INFY",)
    assert parse_strategy("MyStrategy", ("INFY",)).name == "replay"
    with pytest.raises(BadInput, match="use key=value"):
        parse_strategy("sma_crossover:fast", ("INFY",))


def test_request_needs_symbols() -> None:
    args = argparse.Namespace(
        start="2026-11-25", end="2026-11-25", symbols=" , ", strategy="sma_crossover", speed="max"
    )
    with pytest.raises(BadInput, match="at least one symbol"):
        build_request(args)
