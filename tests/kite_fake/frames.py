"""Encode Kite websocket binary frames: the inverse of ``engine.feeds.kite_protocol``.

Used by the protocol tests and by the fake Kite server. A packet is described by a
dict with the keys :func:`engine.feeds.kite_protocol.parse_frame` produces; the
packet kind follows from ``mode`` and the token's segment (indices get the short
28/32-byte packets). Missing numeric fields encode as 0 and missing timestamps as
the epoch, so ``{"instrument_token": t, "mode": "ltp", "last_price": p}`` is enough
for an LTP packet. Already-encoded packets can be passed as ``bytes`` to build
frames with odd packet lengths for fuzzing.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from engine.feeds.kite_protocol import HEARTBEAT, INDICES_SEGMENT, price_divisor

__all__ = ["HEARTBEAT", "build_frame", "build_packet"]

_LTP = struct.Struct(">II")
_INDEX = struct.Struct(">IIIIIIi")
_INDEX_FULL = struct.Struct(">IIIIIIiI")
_QUOTE = struct.Struct(">11I")
_FULL_HEAD = struct.Struct(">16I")
_LEVEL = struct.Struct(">IIH2x")
_EMPTY_LEVEL = {"quantity": 0, "price": 0.0, "orders": 0}


def _price(value: float, div: float) -> int:
    return round(value * div)


def _seconds(value: datetime | int | float | None) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("build_packet needs timezone-aware datetimes")
        return int(value.timestamp())
    return int(value)


def _levels(side: list[Mapping[str, Any]], div: float) -> bytes:
    if len(side) > 5:
        raise ValueError("a full packet carries at most 5 depth levels a side")
    padded = list(side) + [_EMPTY_LEVEL] * (5 - len(side))
    return b"".join(
        _LEVEL.pack(lv["quantity"], _price(lv["price"], div), lv["orders"]) for lv in padded
    )


def build_packet(tick: Mapping[str, Any]) -> bytes:
    """Encode one tick dict as a Kite packet (without its length prefix)."""
    token = tick["instrument_token"]
    mode = tick.get("mode", "full")
    div = price_divisor(token)
    g = tick.get
    ltp = _price(g("last_price", 0.0), div)
    if mode == "ltp":
        return _LTP.pack(token, ltp)
    if mode not in ("quote", "full"):
        raise ValueError(f"unknown mode {mode!r}")
    ohlc = g("ohlc") or {}
    o, h, lo, c = (_price(ohlc.get(k, 0.0), div) for k in ("open", "high", "low", "close"))
    if token & 0xFF == INDICES_SEGMENT:
        net_change = max(-(2**31), min(2**31 - 1, ltp - c))  # parsers ignore this field
        if mode == "quote":
            return _INDEX.pack(token, ltp, h, lo, o, c, net_change)
        return _INDEX_FULL.pack(
            token, ltp, h, lo, o, c, net_change, _seconds(g("exchange_timestamp"))
        )
    quote = (
        token,
        ltp,
        g("last_traded_quantity", 0),
        _price(g("average_traded_price", 0.0), div),
        g("volume_traded", 0),
        g("total_buy_quantity", 0),
        g("total_sell_quantity", 0),
        o,
        h,
        lo,
        c,
    )
    if mode == "quote":
        return _QUOTE.pack(*quote)
    depth = g("depth") or {}
    return (
        _FULL_HEAD.pack(
            *quote,
            _seconds(g("last_trade_time")),
            g("oi", 0),
            g("oi_day_high", 0),
            g("oi_day_low", 0),
            _seconds(g("exchange_timestamp")),
        )
        + _levels(depth.get("buy", []), div)
        + _levels(depth.get("sell", []), div)
    )


def build_frame(packets: Iterable[Mapping[str, Any] | bytes]) -> bytes:
    """Encode tick dicts (or pre-encoded packet bytes) as one binary frame.

    An empty iterable gives a valid zero-packet frame (``b"\\x00\\x00"``); use
    :data:`HEARTBEAT` for a heartbeat.
    """
    bodies = [p if isinstance(p, bytes | bytearray) else build_packet(p) for p in packets]
    parts = [struct.pack(">H", len(bodies))]
    for body in bodies:
        parts.append(struct.pack(">H", len(body)))
        parts.append(bytes(body))
    return b"".join(parts)
