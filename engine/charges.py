"""Zerodha trading charges: brokerage, STT/CTT, exchange, SEBI, stamp duty, GST.

Rates live in a dated table (``engine/data/charges_rates.csv``), so a rate change
is a new row, not a code change. Arithmetic is in :class:`~decimal.Decimal` on the
decimal values of prices, so a figure does not drift with float error.

Rounding follows Kite's virtual contract note, which reports each order's charges
unrounded (``sebi_turnover_charge: 0.00056``) with ``total`` their exact sum, except
stamp duty, which it rounds to the whole rupee (a ₹560 delivery buy owes ₹0.084
and the note shows 0). :meth:`ChargesBreakdown.rounded` gives paisa figures for
display.

Brokerage is per executed order: legs (fills) sharing an ``order_id`` are one
order for the ₹20 cap and the flat options fee. Not modelled: DP charges on
delivery sells, same-day CNC square-offs being charged as intraday, BSE scrip
groups other than A/B, agri commodities, currency derivatives.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path

import msgspec

from engine.orders.model import Fill, Product, Side

ZERO = Decimal(0)
HUNDRED = Decimal(100)
CRORE = Decimal(10_000_000)
RUPEE = Decimal(1)
PAISA = Decimal("0.01")


class Segment(StrEnum):
    """What a rate row prices."""

    EQ_DELIVERY = "EQ_DELIVERY"
    EQ_INTRADAY = "EQ_INTRADAY"
    EQ_FUTURES = "EQ_FUTURES"
    EQ_OPTIONS = "EQ_OPTIONS"
    COM_FUTURES = "COM_FUTURES"
    COM_OPTIONS = "COM_OPTIONS"


@dataclass(frozen=True, slots=True)
class RateRow:
    """One row of the rate table; percent fields are percent of turnover."""

    effective_from: date
    exchange: str
    segment: Segment
    brokerage_pct: Decimal
    brokerage_cap: Decimal
    brokerage_flat: Decimal
    tax_type: str
    tax_buy_pct: Decimal
    tax_sell_pct: Decimal
    txn_pct: Decimal
    ipft_pct: Decimal
    ipft_gst: bool
    sebi_per_crore: Decimal
    stamp_buy_pct: Decimal
    gst_pct: Decimal
    source: str = ""


class RateTable:
    """Dated charge rates; the row in force is the latest on or before the day."""

    def __init__(self, rows: Iterable[RateRow]) -> None:
        self._rows: dict[tuple[str, Segment], list[RateRow]] = {}
        for row in rows:
            series = self._rows.setdefault((row.exchange, row.segment), [])
            if any(r.effective_from == row.effective_from for r in series):
                raise ValueError(
                    f"two charge rates for {row.exchange} {row.segment} from {row.effective_from}"
                )
            series.append(row)
        for series in self._rows.values():
            series.sort(key=lambda r: r.effective_from)

    @classmethod
    def from_csv(cls, text: str) -> RateTable:
        """Parse the CSV format of ``charges_rates.csv`` (``#`` lines are comments)."""
        lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
        rows = []
        for n, rec in enumerate(csv.DictReader(io.StringIO("\n".join(lines))), start=2):
            try:
                rows.append(_parse_row(rec))
            except (KeyError, ValueError, ArithmeticError) as exc:
                raise ValueError(f"charges rate row {n}: {exc!r}") from exc
        return cls(rows)

    @classmethod
    def load(cls, path: Path | None = None) -> RateTable:
        """The table at ``path``, or the one shipped in ``engine/data``."""
        if path is not None:
            return cls.from_csv(path.read_text(encoding="utf-8"))
        data = resources.files("engine.data").joinpath("charges_rates.csv")
        return cls.from_csv(data.read_text(encoding="utf-8"))

    def rate(self, exchange: str, segment: Segment, on_date: date) -> RateRow:
        """The row in force for ``exchange``/``segment`` on ``on_date``."""
        series = self._rows.get((exchange, segment), [])
        found = [r for r in series if r.effective_from <= on_date]
        if not found:
            raise LookupError(f"no charges rate for {exchange} {segment} on {on_date}")
        return found[-1]


def _parse_row(rec: dict[str, str]) -> RateRow:
    def d(name: str) -> Decimal:
        return Decimal(rec[name].strip())

    return RateRow(
        effective_from=date.fromisoformat(rec["effective_from"].strip()),
        exchange=rec["exchange"].strip(),
        segment=Segment(rec["segment"].strip()),
        brokerage_pct=d("brokerage_pct"),
        brokerage_cap=d("brokerage_cap"),
        brokerage_flat=d("brokerage_flat"),
        tax_type=rec["tax_type"].strip(),
        tax_buy_pct=d("tax_buy_pct"),
        tax_sell_pct=d("tax_sell_pct"),
        txn_pct=d("txn_pct"),
        ipft_pct=d("ipft_pct"),
        ipft_gst=rec["ipft_gst"].strip() == "1",
        sebi_per_crore=d("sebi_per_crore"),
        stamp_buy_pct=d("stamp_buy_pct"),
        gst_pct=d("gst_pct"),
        source=(rec.get("source") or "").strip(),
    )


@cache
def default_table() -> RateTable:
    """The shipped rate table, parsed once."""
    return RateTable.load()


class ChargeLeg(msgspec.Struct, frozen=True, kw_only=True):
    """One execution (or a planned order) to charge.

    ``instrument_type`` is Kite's (EQ, FUT, CE, PE); when empty it is read from the
    symbol's suffix on derivative exchanges. Legs with the same non-empty
    ``order_id`` are one executed order for brokerage.
    """

    exchange: str
    tradingsymbol: str
    side: Side
    product: Product
    quantity: int
    price: float
    order_id: str = ""
    instrument_type: str = ""

    @classmethod
    def from_fill(cls, fill: Fill) -> ChargeLeg:
        """The leg for a fill; its order is the broker's id, else the client id."""
        return cls(
            exchange=fill.exchange,
            tradingsymbol=fill.tradingsymbol,
            side=fill.side,
            product=fill.product,
            quantity=fill.quantity,
            price=fill.price,
            order_id=fill.broker_order_id or fill.client_order_id,
        )


class ChargesBreakdown(msgspec.Struct, frozen=True, kw_only=True):
    """Charges in rupees; ``stt`` holds CTT on MCX; ``total`` is the sum of the rest."""

    brokerage: float = 0.0
    stt: float = 0.0
    exchange_txn: float = 0.0
    sebi: float = 0.0
    stamp: float = 0.0
    gst: float = 0.0
    total: float = 0.0
    turnover: float = 0.0

    def rounded(self) -> ChargesBreakdown:
        """Each figure to the paisa (half up); ``total`` is the rounded exact total."""
        return ChargesBreakdown(
            **{
                f: float(Decimal(repr(getattr(self, f))).quantize(PAISA, ROUND_HALF_UP))
                for f in self.__struct_fields__
            }
        )


_DERIVATIVE_SEGMENTS = {
    ("NFO", "FUT"): Segment.EQ_FUTURES,
    ("NFO", "OPT"): Segment.EQ_OPTIONS,
    ("BFO", "FUT"): Segment.EQ_FUTURES,
    ("BFO", "OPT"): Segment.EQ_OPTIONS,
    ("MCX", "FUT"): Segment.COM_FUTURES,
    ("MCX", "OPT"): Segment.COM_OPTIONS,
}


def segment_of(
    exchange: str, product: Product, tradingsymbol: str = "", instrument_type: str = ""
) -> Segment:
    """The rate segment of a trade; raises ``ValueError`` for ones not charged here."""
    if exchange in ("NSE", "BSE"):
        return Segment.EQ_INTRADAY if product is Product.MIS else Segment.EQ_DELIVERY
    kind = instrument_type.upper() or tradingsymbol.upper()[-3:]
    if kind.endswith(("CE", "PE")):
        kind = "OPT"
    elif kind.endswith("FUT"):
        kind = "FUT"
    segment = _DERIVATIVE_SEGMENTS.get((exchange, kind))
    if segment is None:
        raise ValueError(f"no charges model for {exchange}:{tradingsymbol} ({instrument_type})")
    return segment


def _order_charges(legs: list[ChargeLeg], rate: RateRow) -> dict[str, Decimal]:
    side = legs[0].side
    turnover = sum((Decimal(repr(leg.price)) * leg.quantity for leg in legs), ZERO)
    if rate.brokerage_flat > 0:
        brokerage = rate.brokerage_flat
    else:
        brokerage = min(turnover * rate.brokerage_pct / HUNDRED, rate.brokerage_cap)
    tax_pct = rate.tax_buy_pct if side is Side.BUY else rate.tax_sell_pct
    txn = turnover * rate.txn_pct / HUNDRED
    ipft = turnover * rate.ipft_pct / HUNDRED
    sebi = turnover * rate.sebi_per_crore / CRORE
    stamp = ZERO
    if side is Side.BUY:
        stamp = (turnover * rate.stamp_buy_pct / HUNDRED).quantize(RUPEE, ROUND_HALF_UP)
    gst_base = brokerage + txn + sebi + (ipft if rate.ipft_gst else ZERO)
    return {
        "brokerage": brokerage,
        "stt": turnover * tax_pct / HUNDRED,
        "exchange_txn": txn + ipft,
        "sebi": sebi,
        "stamp": stamp,
        "gst": gst_base * rate.gst_pct / HUNDRED,
        "turnover": turnover,
    }


def compute_charges(
    legs: Iterable[ChargeLeg | Fill], on_date: date, *, table: RateTable | None = None
) -> ChargesBreakdown:
    """Charges for ``legs`` (fills or planned legs) traded on ``on_date``, exact.

    Raises ``LookupError`` if no rate is in force that day, ``ValueError`` for a
    segment the table does not price or an order whose legs disagree.
    """
    table = table or default_table()
    orders: dict[object, list[ChargeLeg]] = {}
    for n, item in enumerate(legs):
        leg = ChargeLeg.from_fill(item) if isinstance(item, Fill) else item
        orders.setdefault(leg.order_id or ("leg", n), []).append(leg)
    sums = dict.fromkeys(("brokerage", "stt", "exchange_txn", "sebi", "stamp", "gst"), ZERO)
    sums["turnover"] = ZERO
    for key, order_legs in orders.items():
        first = order_legs[0]
        if any((leg.side, leg.exchange) != (first.side, first.exchange) for leg in order_legs):
            raise ValueError(f"legs of order {key} disagree on side or exchange")
        segment = segment_of(
            first.exchange, first.product, first.tradingsymbol, first.instrument_type
        )
        rate = table.rate(first.exchange, segment, on_date)
        for name, value in _order_charges(order_legs, rate).items():
            sums[name] += value
    total = sum((v for k, v in sums.items() if k != "turnover"), ZERO)
    return ChargesBreakdown(total=float(total), **{k: float(v) for k, v in sums.items()})


def estimate(
    *,
    exchange: str,
    tradingsymbol: str,
    side: Side,
    product: Product,
    quantity: int,
    price: float,
    on_date: date,
    instrument_type: str = "",
    table: RateTable | None = None,
) -> ChargesBreakdown:
    """Charges the order ticket shows before submit: one order filled in full at ``price``.

    For a MARKET order pass the last traded price. Raises like :func:`compute_charges`.
    """
    leg = ChargeLeg(
        exchange=exchange,
        tradingsymbol=tradingsymbol,
        side=side,
        product=product,
        quantity=quantity,
        price=price,
        order_id="estimate",
        instrument_type=instrument_type,
    )
    return compute_charges([leg], on_date, table=table)
