"""Kite tick dicts (from :func:`~engine.feeds.kite_protocol.parse_frame`) as engine Ticks.

Prices are already rupees. Timestamps become epoch nanoseconds; a packet without them
(``ltp`` and ``quote`` modes, index quotes) is stamped with the receive time, so stored
ticks always sort by when they happened as best we know. Fields a mode does not carry
are 0 and empty depth.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from engine.clock import NS_PER_SECOND
from engine.model import Tick

_NS_CACHE: dict[datetime, int] = {}
_NS_CACHE_MAX = 4096


def _ns(dt: datetime) -> int:
    ns = _NS_CACHE.get(dt)
    if ns is None:
        if len(_NS_CACHE) >= _NS_CACHE_MAX:
            _NS_CACHE.clear()
        ns = _NS_CACHE[dt] = int(dt.timestamp()) * NS_PER_SECOND
    return ns


def to_tick(d: dict[str, Any], received_ns: int) -> Tick:
    """One parsed Kite tick dict as a :class:`Tick` received at ``received_ns``."""
    ohlc = d.get("ohlc")
    ets = d.get("exchange_timestamp")
    exchange_ns = _ns(ets) if ets is not None else received_ns
    ltt = d.get("last_trade_time")
    depth = d.get("depth")
    if depth is not None:
        # Unrolled: parse_frame always gives five levels a side, and this is per tick.
        b0, b1, b2, b3, b4 = depth["buy"]
        s0, s1, s2, s3, s4 = depth["sell"]
        return Tick(
            d["instrument_token"],
            d["last_price"],
            d["last_traded_quantity"],
            d["average_traded_price"],
            d["volume_traded"],
            d["total_buy_quantity"],
            d["total_sell_quantity"],
            ohlc["open"],
            ohlc["high"],
            ohlc["low"],
            ohlc["close"],
            exchange_ns,
            _ns(ltt) if ltt is not None else 0,
            (b0["price"], b1["price"], b2["price"], b3["price"], b4["price"]),
            (b0["quantity"], b1["quantity"], b2["quantity"], b3["quantity"], b4["quantity"]),
            (b0["orders"], b1["orders"], b2["orders"], b3["orders"], b4["orders"]),
            (s0["price"], s1["price"], s2["price"], s3["price"], s4["price"]),
            (s0["quantity"], s1["quantity"], s2["quantity"], s3["quantity"], s4["quantity"]),
            (s0["orders"], s1["orders"], s2["orders"], s3["orders"], s4["orders"]),
            d["oi"],
            received_ns,
        )
    if ohlc is None:  # ltp mode
        return Tick(
            d["instrument_token"], d["last_price"], 0, 0.0, 0, 0, 0, 0.0, 0.0, 0.0, 0.0,
            exchange_ns, 0, received_ns=received_ns,
        )  # fmt: skip
    return Tick(
        d["instrument_token"],
        d["last_price"],
        d.get("last_traded_quantity", 0),
        d.get("average_traded_price", 0.0),
        d.get("volume_traded", 0),
        d.get("total_buy_quantity", 0),
        d.get("total_sell_quantity", 0),
        ohlc["open"],
        ohlc["high"],
        ohlc["low"],
        ohlc["close"],
        exchange_ns,
        _ns(ltt) if ltt is not None else 0,
        oi=d.get("oi", 0),
        received_ns=received_ns,
    )


def to_ticks(dicts: Sequence[dict[str, Any]], received_ns: int) -> list[Tick]:
    """Every tick of one frame, all stamped with the same receive time."""
    return [to_tick(d, received_ns) for d in dicts]
