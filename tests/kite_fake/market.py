"""The fake Kite's market: instruments, a seeded random walk per token, ticks and quotes.

Not thread-safe: the server touches it only from its own event loop.
"""

from __future__ import annotations

import csv
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.feeds.kite_protocol import INDICES_SEGMENT

DATA_DIR = Path(__file__).parent / "data"
CSV_FIELDS = (
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


@dataclass(slots=True)
class InstrumentState:
    """One instrument's CSV row and its simulated market."""

    row: dict[str, str]
    token: int
    key: str  # "EXCHANGE:TRADINGSYMBOL"
    tick_size: float
    last_price: float
    close: float
    open: float = 0.0
    high: float = 0.0
    low: float = 0.0
    volume: int = 0
    last_quantity: int = 0
    turnover: float = 0.0
    buy_quantity: int = 0
    sell_quantity: int = 0
    oi: int = 0
    last_trade_s: int = 0

    @property
    def is_index(self) -> bool:
        """Indices get the short packets and are not tradable."""
        return self.token & 0xFF == INDICES_SEGMENT

    @property
    def average_price(self) -> float:
        """Volume-weighted average traded price so far (LTP before any trade)."""
        return round(self.turnover / self.volume, 2) if self.volume else self.last_price


def _round_to(price: float, tick: float) -> float:
    return round(round(price / tick) * tick, 4) if tick > 0 else round(price, 2)


class FakeMarket:
    """Instruments from Kite's CSV dump plus a deterministic random walk per token."""

    def __init__(self, data_dir: Path = DATA_DIR, seed: int = 1) -> None:
        self._rng = random.Random(seed)
        self.by_token: dict[int, InstrumentState] = {}
        self.by_key: dict[str, InstrumentState] = {}
        for name in ("instruments_all.csv", "extra_instruments.csv"):
            with (data_dir / name).open(newline="") as f:
                for row in csv.DictReader(f):
                    self.add_row(row)
        self._seed_from_quote(data_dir / "quote.json")

    def add_row(self, row: dict[str, str]) -> InstrumentState:
        """Add (or replace) an instrument from a CSV-shaped row."""
        token = int(row["instrument_token"])
        tick = float(row["tick_size"] or 0) or 0.05
        listed = float(row["last_price"] or 0)
        # No price in the dump: a stable pseudo-price so quotes and ticks look plausible.
        price = listed or _round_to(100 + (token * 7919) % 2900, tick)
        state = InstrumentState(
            row={k: row.get(k, "") for k in CSV_FIELDS},
            token=token,
            key=f"{row['exchange']}:{row['tradingsymbol']}",
            tick_size=tick,
            last_price=price,
            close=price,
            open=price,
            high=price,
            low=price,
        )
        self.by_token[token] = state
        self.by_key[state.key] = state
        return state

    def add_instrument(
        self,
        exchange: str,
        tradingsymbol: str,
        instrument_token: int,
        last_price: float,
        *,
        segment: str | None = None,
        instrument_type: str = "EQ",
        tick_size: float = 0.05,
        lot_size: int = 1,
        name: str = "",
    ) -> InstrumentState:
        """Add an instrument the tests need that the CSV dump lacks."""
        return self.add_row(
            {
                "instrument_token": str(instrument_token),
                "exchange_token": str(instrument_token >> 8),
                "tradingsymbol": tradingsymbol,
                "name": name,
                "last_price": str(last_price),
                "expiry": "",
                "strike": "0.0",
                "tick_size": str(tick_size),
                "lot_size": str(lot_size),
                "instrument_type": instrument_type,
                "segment": segment or exchange,
                "exchange": exchange,
            }
        )

    def _seed_from_quote(self, path: Path) -> None:
        for key, q in json.loads(path.read_text())["data"].items():
            state = self.by_key.get(key) or self.by_token.get(q["instrument_token"])
            if state is None:
                continue
            ohlc = q["ohlc"]
            state.last_price = q["last_price"]
            state.open, state.high, state.low, state.close = (
                ohlc["open"],
                ohlc["high"],
                ohlc["low"],
                ohlc["close"],
            )
            state.volume = q["volume"]
            state.turnover = q["average_price"] * q["volume"]
            state.last_quantity = q["last_quantity"]

    # -- lookup -----------------------------------------------------------------------------------

    def resolve(self, name: str) -> InstrumentState | None:
        """An instrument by ``EXCHANGE:SYMBOL`` or by its token as a string."""
        if name.isdigit():
            return self.by_token.get(int(name))
        return self.by_key.get(name)

    def lookup(self, exchange: str, tradingsymbol: str) -> InstrumentState | None:
        """An instrument by exchange and trading symbol."""
        return self.by_key.get(f"{exchange}:{tradingsymbol}")

    def state(self, token: int) -> InstrumentState:
        """The state of ``token``, creating a plain NSE-like one for an unknown token."""
        state = self.by_token.get(token)
        if state is None:
            state = self.add_instrument("NSE", f"TOKEN{token}", token, 0.0)
        return state

    # -- simulation -------------------------------------------------------------------------------

    def set_price(self, token: int, price: float, now_s: int) -> None:
        """Trade ``token`` at ``price`` (one lot) now."""
        self._trade(self.state(token), price, 1, now_s)

    def step(self, token: int, now_s: int) -> None:
        """Move ``token`` one random-walk step, with a small trade."""
        state = self.state(token)
        if state.close <= 0:
            return
        moved = state.last_price + self._rng.randint(-3, 3) * state.tick_size
        floor = state.tick_size
        self._trade(state, max(floor, moved), self._rng.randint(1, 50), now_s)
        state.buy_quantity = self._rng.randint(1_000, 100_000)
        state.sell_quantity = self._rng.randint(1_000, 100_000)

    def _trade(self, state: InstrumentState, price: float, qty: int, now_s: int) -> None:
        price = _round_to(price, state.tick_size)
        state.last_price = price
        state.high = max(state.high, price)
        state.low = min(state.low, price) if state.low else price
        if not state.is_index:
            state.volume += qty
            state.turnover += price * qty
            state.last_quantity = qty
        state.last_trade_s = now_s

    def _depth(self, state: InstrumentState) -> dict[str, list[dict[str, Any]]]:
        p, t = state.last_price, state.tick_size
        return {
            # A cheap option has fewer bids than levels: Kite sends the empty ones as zeros.
            "buy": [
                {"price": _round_to(p - t * i, t), "quantity": 10 * i, "orders": i}
                if p - t * i >= t
                else {"price": 0.0, "quantity": 0, "orders": 0}
                for i in range(1, 6)
            ],
            "sell": [
                {"price": _round_to(p + t * i, t), "quantity": 12 * i, "orders": i}
                for i in range(1, 6)
            ],
        }

    def _ohlc(self, state: InstrumentState) -> dict[str, float]:
        return {"open": state.open, "high": state.high, "low": state.low, "close": state.close}

    def tick(self, token: int, mode: str, now_s: int) -> dict[str, Any]:
        """A tick dict for :func:`tests.kite_fake.frames.build_frame` in ``mode``."""
        s = self.state(token)
        tick: dict[str, Any] = {"instrument_token": token, "mode": mode, "last_price": s.last_price}
        if mode == "ltp":
            return tick
        tick["ohlc"] = self._ohlc(s)
        tick["exchange_timestamp"] = now_s
        if s.is_index:
            return tick
        tick.update(
            last_traded_quantity=s.last_quantity,
            average_traded_price=s.average_price,
            volume_traded=s.volume,
            total_buy_quantity=s.buy_quantity,
            total_sell_quantity=s.sell_quantity,
        )
        if mode == "full":
            tick.update(
                last_trade_time=s.last_trade_s or now_s,
                oi=s.oi,
                oi_day_high=s.oi,
                oi_day_low=s.oi,
                depth=self._depth(s),
            )
        return tick

    def quote(self, state: InstrumentState, now: str, last_trade: str) -> dict[str, Any]:
        """The REST ``/quote`` entry for one instrument (Kite's shape)."""
        s = state
        return {
            "instrument_token": s.token,
            "timestamp": now,
            "last_trade_time": last_trade,
            "last_price": s.last_price,
            "last_quantity": s.last_quantity,
            "buy_quantity": s.buy_quantity,
            "sell_quantity": s.sell_quantity,
            "volume": s.volume,
            "average_price": s.average_price,
            "oi": s.oi,
            "oi_day_high": s.oi,
            "oi_day_low": s.oi,
            "net_change": 0,
            "lower_circuit_limit": _round_to(s.close * 0.9, s.tick_size),
            "upper_circuit_limit": _round_to(s.close * 1.1, s.tick_size),
            "ohlc": self._ohlc(s),
            "depth": self._depth(s),
        }

    def csv_dump(self, exchange: str | None = None) -> str:
        """Kite's instruments CSV, for every exchange or one."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for state in self.by_token.values():
            if exchange is None or state.row["exchange"] == exchange:
                writer.writerow(state.row)
        return out.getvalue()
