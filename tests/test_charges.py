"""Charges: agreement with Kite's virtual contract note, and hand-computed current rates."""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from engine.charges import (
    ChargeLeg,
    ChargesBreakdown,
    RateTable,
    Segment,
    compute_charges,
    default_table,
    estimate,
    segment_of,
)
from engine.orders import Fill, Product, Side

NOTE = json.loads((Path(__file__).parent / "data" / "virtual_contract_note.json").read_text())
NOTE_DATE = date(2023, 7, 12)
"""The note carries no date; its NIFTY weekly option expired 2023-07-13."""

TODAY = date(2026, 11, 25)
PAISA = 0.005


def leg(
    symbol="RELIANCE", exchange="NSE", side=Side.BUY, product=Product.MIS, qty=1, px=1.0, oid=""
):
    return ChargeLeg(
        exchange=exchange,
        tradingsymbol=symbol,
        side=side,
        product=product,
        quantity=qty,
        price=px,
        order_id=oid,
    )


def note_leg(row: dict) -> ChargeLeg:
    return leg(
        row["tradingsymbol"],
        row["exchange"],
        Side(row["transaction_type"]),
        Product(row["product"]),
        row["quantity"],
        float(row["price"]),
    )


def expect(c: ChargesBreakdown, **figures: float) -> None:
    for name, value in figures.items():
        assert getattr(c, name) == pytest.approx(value, abs=1e-9), name
    parts = (c.brokerage, c.stt, c.exchange_txn, c.sebi, c.stamp, c.gst)
    assert c.total == pytest.approx(sum(parts), abs=1e-9)


# -- Kite's virtual contract note ---------------------------------------------------------

FIELDS = {
    "brokerage": lambda ch: ch["brokerage"],
    "stt": lambda ch: ch["transaction_tax"],
    "exchange_txn": lambda ch: ch["exchange_turnover_charge"],
    "sebi": lambda ch: ch["sebi_turnover_charge"],
    "stamp": lambda ch: ch["stamp_duty"],
    "gst": lambda ch: ch["gst"]["total"],
    "total": lambda ch: ch["total"],
}


@pytest.mark.parametrize("row", NOTE["data"], ids=lambda r: r["tradingsymbol"])
def test_each_order_agrees_with_the_virtual_contract_note_to_the_paisa(row) -> None:
    ours = compute_charges([note_leg(row)], NOTE_DATE)
    for name, pick in FIELDS.items():
        theirs = pick(row["charges"])
        assert getattr(ours, name) == pytest.approx(theirs, abs=PAISA), name
        # Kite's figures are unrounded; so are ours, and they agree far below a paisa.
        assert getattr(ours, name) == pytest.approx(theirs, abs=1e-9), name
    rounded = ours.rounded()
    for name, pick in FIELDS.items():
        paise = Decimal(repr(pick(row["charges"]))).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert getattr(rounded, name) == float(paise), name


def test_the_whole_note_sums() -> None:
    ours = compute_charges([note_leg(r) for r in NOTE["data"]], NOTE_DATE)
    assert ours.total == pytest.approx(sum(r["charges"]["total"] for r in NOTE["data"]), abs=1e-9)
    assert ours.turnover == pytest.approx(560 + 5862 + 150)


# -- current rates, computed by hand --------------------------------------------------------


def test_intraday_buy_hits_the_20_rupee_cap() -> None:
    # ₹20,00,000 turnover: 0.03% would be ₹600. Txn 0.00297% = 59.40, IPFT 2.00,
    # SEBI 2.00, stamp 0.003% = 60, GST 18% of (20 + 59.40 + 2.00 + 2.00).
    c = compute_charges([leg(qty=1000, px=2000.0)], TODAY)
    expect(c, brokerage=20, stt=0, exchange_txn=61.40, sebi=2.00, stamp=60, gst=15.012)
    assert c.total == pytest.approx(158.412)


def test_intraday_sell_pays_stt_and_no_stamp() -> None:
    c = compute_charges([leg(side=Side.SELL, qty=1000, px=2000.0)], TODAY)
    expect(c, brokerage=20, stt=500, exchange_txn=61.40, sebi=2.00, stamp=0, gst=15.012)


def test_small_intraday_order_pays_the_percentage() -> None:
    c = compute_charges([leg(qty=10, px=500.0)], TODAY)
    assert c.brokerage == pytest.approx(1.50)


def test_delivery_has_zero_brokerage_and_stt_both_ways() -> None:
    # ₹1,50,000: STT 0.1% = 150; txn 4.455 + IPFT 0.15; SEBI 0.15; stamp 0.015% = 22.5
    # rounds half up to 23; GST 18% of (4.455 + 0.15 + 0.15).
    buy = compute_charges([leg(product=Product.CNC, qty=100, px=1500.0)], TODAY)
    expect(buy, brokerage=0, stt=150, exchange_txn=4.605, sebi=0.15, stamp=23, gst=0.8559)
    sell = compute_charges([leg(side=Side.SELL, product=Product.CNC, qty=100, px=1500.0)], TODAY)
    expect(sell, brokerage=0, stt=150, stamp=0)


def test_bse_delivery_uses_bse_rates_and_no_ipft() -> None:
    c = compute_charges([leg(exchange="BSE", product=Product.CNC, qty=100, px=1500.0)], TODAY)
    expect(c, exchange_txn=5.625, gst=0.18 * (5.625 + 0.15))


def test_options_are_a_flat_20_and_pay_stt_on_sold_premium() -> None:
    # Premium ₹9,000 sold: STT 0.15% (from 2026-04-01) = 13.5; txn 0.03503% = 3.1527,
    # IPFT 0.0005% = 0.045; SEBI 0.009; GST 18% of (20 + 3.1527 + 0.009 + 0.045).
    sell = leg("NIFTY26DEC26000CE", "NFO", Side.SELL, Product.NRML, 75, 120.0)
    c = compute_charges([sell], TODAY)
    expect(c, brokerage=20, stt=13.5, exchange_txn=3.1977, sebi=0.009, stamp=0, gst=4.177206)


def test_futures_buy_pays_capped_brokerage_and_stamp() -> None:
    buy = leg("NIFTY26DECFUT", "NFO", Side.BUY, Product.NRML, 75, 26000.0)
    c = compute_charges([buy], TODAY)
    expect(c, brokerage=20, stt=0, stamp=39, exchange_txn=1_950_000 * (0.00173 + 0.0001) / 100)


def test_brokerage_is_per_executed_order_not_per_fill() -> None:
    fills = [leg(qty=500, px=2000.0, oid="A"), leg(qty=500, px=2000.0, oid="A")]
    assert compute_charges(fills, TODAY).brokerage == 20
    separate = [leg(qty=500, px=2000.0, oid="A"), leg(qty=500, px=2000.0, oid="B")]
    assert compute_charges(separate, TODAY).brokerage == 40
    small = [leg(qty=10, px=100.0, oid="A"), leg(qty=10, px=100.0, oid="A")]
    assert compute_charges(small, TODAY).brokerage == pytest.approx(0.60)
    options = [leg("NIFTY26DEC26000PE", "NFO", Side.BUY, Product.NRML, 75, 10.0, "O")] * 3
    assert compute_charges(options, TODAY).brokerage == 20


def test_fills_are_charged_by_their_order() -> None:
    def fill(trade_id: str) -> Fill:
        return Fill(
            trade_id=trade_id,
            client_order_id="C1",
            broker_order_id="250101000000001",
            instrument_token=738561,
            exchange="NSE",
            tradingsymbol="RELIANCE",
            side=Side.BUY,
            product=Product.MIS,
            quantity=500,
            price=2000.0,
            ts_ns=0,
        )

    c = compute_charges([fill("T1"), fill("T2")], TODAY)
    assert c.brokerage == 20 and c.turnover == 2_000_000


# -- rate rows by date ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_date", "stt"),
    [
        (date(2023, 7, 12), 9000 * 0.0625 / 100),
        (date(2024, 9, 30), 9000 * 0.0625 / 100),
        (date(2024, 10, 1), 9000 * 0.1 / 100),
        (date(2026, 3, 31), 9000 * 0.1 / 100),
        (date(2026, 4, 1), 9000 * 0.15 / 100),
    ],
)
def test_the_row_in_force_on_the_day_is_used(on_date, stt) -> None:
    sell = leg("NIFTY26DEC26000CE", "NFO", Side.SELL, Product.NRML, 75, 120.0)
    assert compute_charges([sell], on_date).stt == pytest.approx(stt)


def test_a_day_before_the_table_has_no_rate() -> None:
    with pytest.raises(LookupError, match="no charges rate"):
        compute_charges([leg()], date(2020, 1, 1))


def test_a_rate_change_is_a_new_row() -> None:
    text = (Path(__file__).parents[1] / "engine" / "data" / "charges_rates.csv").read_text()
    row = "2027-01-01,NSE,EQ_INTRADAY,0.03,25,0,stt,0,0.025,0.00297,0.0001,1,10,0.003,18,test"
    table = RateTable.from_csv(text + row + "\n")
    big = [leg(qty=1000, px=2000.0)]
    assert compute_charges(big, date(2026, 12, 31), table=table).brokerage == 20
    assert compute_charges(big, date(2027, 1, 1), table=table).brokerage == 25
    with pytest.raises(ValueError, match="two charge rates"):
        RateTable.from_csv(text + row + "\n" + row + "\n")


def test_shipped_table_covers_every_segment_today() -> None:
    table = default_table()
    for exchange, segment in [
        ("NSE", Segment.EQ_DELIVERY),
        ("NSE", Segment.EQ_INTRADAY),
        ("BSE", Segment.EQ_INTRADAY),
        ("NFO", Segment.EQ_FUTURES),
        ("NFO", Segment.EQ_OPTIONS),
        ("BFO", Segment.EQ_OPTIONS),
        ("MCX", Segment.COM_FUTURES),
        ("MCX", Segment.COM_OPTIONS),
    ]:
        assert table.rate(exchange, segment, TODAY).gst_pct == 18


def test_segments() -> None:
    assert segment_of("NSE", Product.CNC, "ACE") is Segment.EQ_DELIVERY
    assert segment_of("NSE", Product.MIS, "ACE") is Segment.EQ_INTRADAY
    assert segment_of("NFO", Product.NRML, "BANKNIFTY26DEC52000PE") is Segment.EQ_OPTIONS
    assert segment_of("BFO", Product.MIS, "SENSEX26DECFUT") is Segment.EQ_FUTURES
    assert segment_of("MCX", Product.NRML, "CRUDEOIL26DEC6000CE") is Segment.COM_OPTIONS
    assert segment_of("NFO", Product.NRML, "X", instrument_type="FUT") is Segment.EQ_FUTURES
    with pytest.raises(ValueError, match="no charges model"):
        segment_of("CDS", Product.NRML, "USDINR26DECFUT")


# -- the ticket's estimate ----------------------------------------------------------------------


def test_estimate_is_one_order_filled_at_the_price() -> None:
    e = estimate(
        exchange="NSE",
        tradingsymbol="RELIANCE",
        side=Side.BUY,
        product=Product.MIS,
        quantity=1000,
        price=2000.0,
        on_date=TODAY,
        instrument_type="EQ",
    )
    assert e == compute_charges([leg(qty=1000, px=2000.0)], TODAY)
    assert e.rounded().total == 158.41


def test_rounded_rounds_half_up_to_the_paisa() -> None:
    c = ChargesBreakdown(brokerage=0.125, gst=3.613527, total=3.738527)
    r = c.rounded()
    assert (r.brokerage, r.gst, r.total) == (0.13, 3.61, 3.74)
