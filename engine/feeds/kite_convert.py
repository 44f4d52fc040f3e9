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
        buy, sell = depth["buy"], depth["sell"]
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
            tuple([lv["price"] for lv in buy]),
            tuple([lv["quantity"] for lv in buy]),
            tuple([lv["orders"] for lv in buy]),
            tuple([lv["price"] for lv in sell]),
            tuple([lv["quantity"] for lv in sell]),
            tuple([lv["orders"] for lv in sell]),
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
