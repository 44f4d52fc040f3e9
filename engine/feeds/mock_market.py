"""A simulated NSE cash market, vectorised with numpy and deterministic for a seed.

Prices live as whole numbers of ticks, so every price is on the tick grid by
construction. Each instrument follows a random walk whose drift and volatility
come from the scenario, clamped to its circuit band. Depth is built around the
LTP (best bid < best ask, spread at least one tick, levels sorted), volume is
cumulative with an intraday U shape, and day OHLC follows the trades.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat

import numpy as np
from msgspec.structs import replace

from engine.model import DEPTH_LEVELS, Instrument, MarketDay, Tick
from engine.quality.columns import ColumnarTicks, TickColumns

SESSION_MINUTES = 375  # 09:15 to 15:30
DEPTH_POOL = 8
"""Pre-drawn depth quantity and order-count rows per instrument; each tick picks one."""


@dataclass(frozen=True, slots=True)
class Regime:
    """Per-tick return model of a scenario."""

    sigma: float
    drift: float = 0.0
    jump_prob: float = 0.0
    jump_sigma: float = 0.0
    gap: float = 0.0
    circuit_chasers: float = 0.0


REGIMES: dict[str, Regime] = {
    "calm": Regime(sigma=0.00012),
    "trending": Regime(sigma=0.00015, drift=0.00003),
    "volatile": Regime(sigma=0.0005, jump_prob=0.002, jump_sigma=0.006),
    "gap-open": Regime(sigma=0.0002, gap=0.04),
    "circuit": Regime(sigma=0.00025, drift=0.0004, circuit_chasers=0.25),
    # Calm prices; the feed corrupts ticks and goes silent on top (engine.feeds.mock).
    "bad-data": Regime(sigma=0.00012),
}


def u_shape(minute_of_session: float) -> float:
    """Relative trading intensity: high at the open and the close, lowest at midday."""
    x = (minute_of_session - SESSION_MINUTES / 2) / (SESSION_MINUTES / 2)
    return 0.5 + 1.5 * x * x


class MockMarket:
    """Vectorised state of every instrument in the mock universe."""

    def __init__(
        self,
        universe: list[tuple[Instrument, float]],
        scenario: str,
        seed: int,
        leverage: np.ndarray | float = 1.0,
    ) -> None:
        """``leverage`` multiplies the scenario's volatility (per instrument, or for all):
        an option moves several times its index in percent."""
        self.leverage = leverage
        self.instruments = [instrument for instrument, _ in universe]
        self.tokens = [instrument.instrument_token for instrument in self.instruments]
        self.token_array = np.array(self.tokens, dtype=np.int64)
        self.regime = REGIMES[scenario]
        self.rng = np.random.default_rng(seed)
        n = len(universe)
        rng = self.rng
        # Indices have no tick size; they move on a 0.05 grid like their constituents.
        self.tick_size = np.array([i.tick_size or 0.05 for i in self.instruments])
        self.is_index = np.array([not i.tradable for i in self.instruments])
        prev_close = np.array([price for _, price in universe])
        self.prev_close_t = np.round(prev_close / self.tick_size).astype(np.int64)
        band = rng.choice(np.array([0.05, 0.10, 0.20]), size=n, p=[0.1, 0.3, 0.6])
        band[self.is_index] = 1.0
        self.lower_t = np.ceil(self.prev_close_t * (1 - band)).astype(np.int64)
        self.upper_t = np.floor(self.prev_close_t * (1 + band)).astype(np.int64)
        gap = self.regime.gap * rng.choice(np.array([-1.0, 1.0]), size=n)
        gap *= rng.uniform(0.5, 1.5, size=n)
        self.price_t = np.clip(
            np.round(self.prev_close_t * (1 + gap)).astype(np.int64), self.lower_t, self.upper_t
        )
        self.open_t = self.price_t.copy()
        self.high_t = self.price_t.copy()
        self.low_t = self.price_t.copy()
        direction = rng.choice(np.array([-1.0, 1.0]), size=n)
        self.drift = self.regime.drift * direction
        if self.regime.circuit_chasers:
            chasers = rng.random(n) < self.regime.circuit_chasers
            self.drift = np.where(chasers, self.drift * 8, self.drift * 0.1)
        self.volume = np.zeros(n, dtype=np.int64)
        self.turnover = np.zeros(n)
        self.mean_qty = np.maximum(1.0, 200_000.0 / prev_close)
        self.buy_qty = rng.integers(50_000, 500_000, size=n).astype(np.int64)
        self.sell_qty = rng.integers(50_000, 500_000, size=n).astype(np.int64)
        self._build_depth_pools(np.random.default_rng(seed + 1))
        # Open and previous close do not change in a session: their prices are made once.
        self._open_px = np.round(self.open_t * self.tick_size, 2)
        self._close_px = np.round(self.prev_close_t * self.tick_size, 2)

    def _build_depth_pools(self, rng: np.random.Generator) -> None:
        # Building five quantities and five order counts a side per tick is most of the feed's
        # cost; drawing whole rows from a small per-instrument pool keeps depth varied for a
        # fraction of it.
        n = len(self.tokens)
        unit = np.maximum(1, (self.mean_qty // 4).astype(np.int64))
        qty = rng.integers(1, 40, size=(n, DEPTH_POOL, 2, DEPTH_LEVELS)) * unit[:, None, None, None]
        orders = rng.integers(1, 25, size=(n, DEPTH_POOL, 2, DEPTH_LEVELS))
        qty[self.is_index] = 0
        orders[self.is_index] = 0

        def rows(array: np.ndarray, side: int) -> np.ndarray:
            # An object array of tuples: one numpy gather picks every tick's row.
            values = array[:, :, side, :].reshape(-1, DEPTH_LEVELS).tolist()
            return np.fromiter(map(tuple, values), dtype=object, count=len(values))

        self._bid_qty_pool = rows(qty, 0)
        self._ask_qty_pool = rows(qty, 1)
        self._bid_orders_pool = rows(orders, 0)
        self._ask_orders_pool = rows(orders, 1)
        # The same rows as numbers, for the columns a batch carries to the tick store.
        self._depth_numbers = tuple(
            np.ascontiguousarray(array[:, :, side, :].reshape(-1, DEPTH_LEVELS))
            for array, side in ((qty, 0), (orders, 0), (qty, 1), (orders, 1))
        )

    def market_days(self) -> list[MarketDay]:
        """Previous close and circuit limits of every instrument."""
        return [
            MarketDay(
                instrument_token=token,
                prev_close=round(float(pc * ts), 2),
                lower_circuit=round(float(lo * ts), 2),
                upper_circuit=round(float(up * ts), 2),
            )
            for token, pc, lo, up, ts in zip(
                self.tokens,
                self.prev_close_t,
                self.lower_t,
                self.upper_t,
                self.tick_size,
                strict=True,
            )
        ]

    def step(self, idx: np.ndarray, now_ns: int, minute_of_session: float) -> list[Tick]:
        """Trade once in each instrument of ``idx`` (no repeats) and return their ticks."""
        return list(self.step_columns(idx, now_ns, minute_of_session))

    def step_columns(self, idx: np.ndarray, now_ns: int, minute_of_session: float) -> ColumnarTicks:
        """:meth:`step`, returning the ticks with the columns they were built from."""
        rng = self.rng
        k = len(idx)
        regime = self.regime
        ts = self.tick_size[idx]
        price_t = self.price_t[idx]
        lower_t = self.lower_t[idx]
        upper_t = self.upper_t[idx]
        leverage = self.leverage if np.isscalar(self.leverage) else self.leverage[idx]
        ret = self.drift[idx] + regime.sigma * leverage * rng.standard_normal(k)
        if regime.jump_prob:
            jumps = rng.random(k) < regime.jump_prob
            ret = ret + jumps * regime.jump_sigma * rng.standard_normal(k)
        move = np.round(price_t * ret).astype(np.int64)
        new_t = np.clip(price_t + move, lower_t, upper_t)
        self.price_t[idx] = new_t
        high_t = np.maximum(self.high_t[idx], new_t)
        low_t = np.minimum(self.low_t[idx], new_t)
        self.high_t[idx] = high_t
        self.low_t[idx] = low_t

        intensity = u_shape(minute_of_session)
        qty = np.maximum(1, rng.lognormal(0.0, 0.8, size=k) * self.mean_qty[idx] * intensity)
        qty = qty.astype(np.int64)
        is_index = self.is_index[idx]
        qty[is_index] = 0
        volume = self.volume[idx] + qty
        self.volume[idx] = volume
        ltp = new_t * ts
        turnover = self.turnover[idx] + qty * ltp
        self.turnover[idx] = turnover
        avg = np.where(volume > 0, turnover / np.maximum(volume, 1), ltp)
        buy_qty = np.maximum(0, self.buy_qty[idx] + rng.integers(-2000, 2001, size=k))
        sell_qty = np.maximum(0, self.sell_qty[idx] + rng.integers(-2000, 2001, size=k))
        self.buy_qty[idx] = buy_qty
        self.sell_qty[idx] = sell_qty

        bid_t, ask_t = self._depth_prices(new_t, lower_t, upper_t)
        tsc = ts[:, None]
        bid_px = np.round(bid_t * tsc, 2)
        ask_px = np.round(ask_t * tsc, 2)
        if is_index.any():
            bid_px[is_index] = 0.0
            ask_px[is_index] = 0.0
        pick = idx * DEPTH_POOL + rng.integers(0, DEPTH_POOL, size=k)

        token = self.token_array[idx]
        ltp_r = np.round(ltp, 2)
        avg_r = np.round(avg, 2)
        bid_qty, bid_orders, ask_qty, ask_orders = (
            np.take(rows, pick, axis=0) for rows in self._depth_numbers
        )
        open_r = self._open_px[idx]
        close_r = self._close_px[idx]
        high_r = np.round(high_t * ts, 2)
        low_r = np.round(low_t * ts, 2)
        # The feed's hot spot: positional construction from whole columns. The two depth price
        # tuples are the only containers made per tick (so the only objects the GC tracks);
        # depth quantities and order counts are shared rows of the pools.
        ticks = list(
            map(
                Tick,
                token.tolist(),
                ltp_r.tolist(),
                qty.tolist(),
                avg_r.tolist(),
                volume.tolist(),
                buy_qty.tolist(),
                sell_qty.tolist(),
                open_r.tolist(),
                high_r.tolist(),
                low_r.tolist(),
                close_r.tolist(),
                repeat(now_ns),
                repeat(now_ns),
                _row_tuples(bid_px),
                self._bid_qty_pool[pick].tolist(),
                self._bid_orders_pool[pick].tolist(),
                _row_tuples(ask_px),
                self._ask_qty_pool[pick].tolist(),
                self._ask_orders_pool[pick].tolist(),
                repeat(0),
                repeat(now_ns),
            )
        )
        # Levels run away from the LTP, so a side that lacks any level lacks its last one.
        holes = ((bid_t[:, -1] == 0) | (ask_t[:, -1] == 0)) & ~is_index
        mended = np.flatnonzero(holes)
        if len(mended):
            # An absent level (near a circuit) has no quantity and no orders. Rare: mend the
            # few rows afterwards (the gathered rows are copies, the pools stay whole), then
            # give their ticks the mended rows.
            for side_t, side_qty, side_orders in (
                (bid_t, bid_qty, bid_orders),
                (ask_t, ask_qty, ask_orders),
            ):
                present = side_t[mended] > 0
                side_qty[mended] = np.where(present, side_qty[mended], 0)
                side_orders[mended] = np.where(present, side_orders[mended], 0)
            for row in mended.tolist():
                ticks[row] = replace(
                    ticks[row],
                    bid_qty=tuple(bid_qty[row].tolist()),
                    bid_orders=tuple(bid_orders[row].tolist()),
                    ask_qty=tuple(ask_qty[row].tolist()),
                    ask_orders=tuple(ask_orders[row].tolist()),
                )

        at = np.full(k, now_ns, dtype=np.int64)
        # The same arrays the ticks were made of, for the quality monitor's vector screen.
        columns = TickColumns(
            token=token,
            ltp=ltp_r,
            last_qty=qty,
            volume=volume,
            open=open_r,
            high=high_r,
            low=low_r,
            close=close_r,
            exchange_ts_ns=at,
            last_trade_ts_ns=at,
            received_ns=at,
            bid_px=bid_px,
            ask_px=ask_px,
            depth_ok=True,
            every_field={
                "instrument_token": token,
                "ltp": ltp_r,
                "last_qty": qty,
                "avg_price": avg_r,
                "volume": volume,
                "buy_qty": buy_qty,
                "sell_qty": sell_qty,
                "open": open_r,
                "high": high_r,
                "low": low_r,
                "close": close_r,
                "exchange_ts_ns": at,
                "last_trade_ts_ns": at,
                "bid_px": bid_px,
                "bid_qty": bid_qty,
                "bid_orders": bid_orders,
                "ask_px": ask_px,
                "ask_qty": ask_qty,
                "ask_orders": ask_orders,
                "oi": np.zeros(k, dtype=np.int64),
                "received_ns": at,
            },
        )
        return ColumnarTicks(ticks, columns)

    def _depth_prices(
        self, ltp_t: np.ndarray, lower_t: np.ndarray, upper_t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Five bid and five ask prices in ticks around the LTP; 0 marks an absent level."""
        rng = self.rng
        k = len(ltp_t)
        spread = rng.geometric(0.6, size=k)
        bid_offset = rng.integers(0, spread + 1)
        best_bid = ltp_t - bid_offset
        best_ask = best_bid + spread
        gaps = rng.integers(1, 4, size=(k, DEPTH_LEVELS - 1))
        steps = np.zeros((k, DEPTH_LEVELS), dtype=np.int64)
        np.cumsum(gaps, axis=1, out=steps[:, 1:])
        bid_t = best_bid[:, None] - steps
        ask_t = best_ask[:, None] + steps
        # A bid needs a positive price too: an index's lower limit is 0.
        bid_t = np.where(bid_t >= np.maximum(lower_t, 1)[:, None], bid_t, 0)
        ask_t = np.where(ask_t <= upper_t[:, None], ask_t, 0)
        # Locked at a circuit: nobody sells at the upper limit, nobody buys at the lower.
        ask_t[ltp_t >= upper_t] = 0
        bid_t[ltp_t <= lower_t] = 0
        return bid_t, ask_t


def _row_tuples(array: np.ndarray) -> Iterator[tuple[float, ...]]:
    """Each row of a 2-D array as a tuple of Python floats, without a list per row."""
    # One flat list, grouped by zipping one iterator with itself: a row's floats are made
    # next to each other, which makes the ticks cheaper to free than column by column.
    values = iter(array.ravel().tolist())
    return zip(*[values] * array.shape[1], strict=True)


def minute_of_session_ist(seconds_since_midnight_ist: float) -> float | None:
    """Minutes since 09:15 IST, or ``None`` outside 09:15–15:30."""
    minute = seconds_since_midnight_ist / 60.0 - (9 * 60 + 15)
    if 0 <= minute < SESSION_MINUTES:
        return minute
    return None


def cycle_minute(elapsed_seconds: float) -> float:
    """For an always-open market: a virtual session minute that cycles every 375 minutes."""
    return math.fmod(elapsed_seconds / 60.0, SESSION_MINUTES)
