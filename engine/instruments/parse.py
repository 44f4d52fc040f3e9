"""Parse Kite's instruments dump (CSV) into :class:`~engine.model.Instrument` records.

Strict on purpose: a dump that is truncated (no final newline, a short row), has
missing columns, or a value that does not parse is rejected whole with one line
naming the CSV line, so a bad download never replaces a good cache.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from engine.model import Instrument

COLUMNS = (
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
)
DERIVATIVE_TYPES = frozenset({"FUT", "CE", "PE"})
_UNDERLYING = re.compile(r"[A-Z&\-]+")


class InstrumentsError(ValueError):
    """The instruments dump is unusable (one line; the previous cache is kept)."""


def _underlying(symbol: str) -> str:
    """Kite leaves ``name`` blank on some derivatives: BANKNIFTY18JAN23500CE -> BANKNIFTY."""
    match = _UNDERLYING.match(symbol)
    return match.group(0) if match else ""


def parse_instruments_csv(data: bytes | str) -> list[Instrument]:
    """Every row of the dump as an Instrument; raises :class:`InstrumentsError`."""
    text = data.decode("utf-8", errors="strict") if isinstance(data, bytes) else data
    if not text.strip():
        raise InstrumentsError("instruments CSV is empty")
    if not text.endswith("\n"):
        raise InstrumentsError("instruments CSV is truncated (it does not end with a newline)")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InstrumentsError(f"instruments CSV lacks the column(s) {', '.join(missing)}")
    idx = [header.index(c) for c in COLUMNS]
    width = len(header)
    out: list[Instrument] = []
    for line_no, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) != width:
            raise InstrumentsError(
                f"instruments CSV line {line_no} has {len(row)} fields, expected {width} "
                "(truncated or corrupt)"
            )
        token, exch_token, symbol, name, _, expiry, strike, tick, lot, itype, segment, exchange = (
            row[i] for i in idx
        )
        try:
            instrument = Instrument(
                instrument_token=int(token),
                exchange_token=int(exch_token),
                tradingsymbol=symbol,
                name=name or (_underlying(symbol) if itype in DERIVATIVE_TYPES else ""),
                exchange=exchange,
                segment=segment,
                instrument_type=itype,
                tick_size=float(tick or 0),
                lot_size=int(float(lot or 0)),
                expiry=date.fromisoformat(expiry) if expiry else None,
                strike=float(strike or 0),
            )
        except ValueError as exc:
            raise InstrumentsError(f"instruments CSV line {line_no}: {exc}") from None
        if not symbol or not exchange or instrument.instrument_token <= 0:
            raise InstrumentsError(
                f"instruments CSV line {line_no}: missing token, symbol or exchange"
            )
        out.append(instrument)
    if not out:
        raise InstrumentsError("instruments CSV has a header but no instruments")
    return out
