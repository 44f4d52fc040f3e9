"""Kite Connect websocket wire protocol: decode binary tick frames and text messages.

A binary message from ``wss://ws.kite.trade`` is either a 1-byte heartbeat or::

    u16 packet count, then per packet: u16 length, <length> bytes

and a packet's length says its kind: 8 (LTP), 28 / 32 (index quote / full),
44 (quote) or 184 (full, with 5+5 depth levels of 12 bytes). All integers are
big-endian and unsigned. Prices are integers to divide by a per-segment divisor;
the segment is the low byte of the instrument token.

:func:`parse_frame` returns ticks as dicts with the same keys as
``kiteconnect.KiteTicker`` but with timezone-aware IST timestamps (kiteconnect
gives naive datetimes in the *machine's* local time zone, wrong on any box not set
to IST). It never lets ``struct.error`` or ``IndexError`` out: anything malformed
raises :class:`KiteFrameError`. This module has no I/O and imports nothing from
kiteconnect (whose ticker installs Twisted's reactor on import).
"""

from __future__ import annotations

import json
import struct
from datetime import datetime
from typing import Any

from engine.clock import IST

__all__ = [
    "BCD_SEGMENT",
    "CDS_SEGMENT",
    "FULL_PACKET_LEN",
    "HEARTBEAT",
    "INDEX_FULL_PACKET_LEN",
    "INDEX_QUOTE_PACKET_LEN",
    "INDICES_SEGMENT",
    "LTP_PACKET_LEN",
    "NCO_SEGMENT",
    "QUOTE_PACKET_LEN",
    "KiteFrameError",
    "parse_frame",
    "parse_kite_time",
    "parse_text",
    "price_divisor",
]

LTP_PACKET_LEN = 8
INDEX_QUOTE_PACKET_LEN = 28
INDEX_FULL_PACKET_LEN = 32
QUOTE_PACKET_LEN = 44
FULL_PACKET_LEN = 184
HEARTBEAT = b"\x00"

# Segment codes, the low byte of an instrument token (kiteconnect's EXCHANGE_MAP).
CDS_SEGMENT = 3
BCD_SEGMENT = 6
INDICES_SEGMENT = 9
NCO_SEGMENT = 12

MODE_LTP = "ltp"
MODE_QUOTE = "quote"
MODE_FULL = "full"

_MIN_PACKET_WITH_HEADER = 2 + LTP_PACKET_LEN

_U16 = struct.Struct(">H")
_LTP = struct.Struct(">II")
_INDEX_QUOTE = struct.Struct(">IIIIII")  # token ltp high low open close (net change ignored)
_INDEX_FULL = struct.Struct(">IIIIII4xI")  # ... + exchange timestamp
_QUOTE = struct.Struct(">11I")  # token ltp ltq atp volume tbq tsq open high low close
_FULL = struct.Struct(">16I" + "IIH2x" * 10)  # quote + ltt oi oi_hi oi_lo ts, 10 depth levels

_DIVISORS: tuple[float, ...] = tuple(
    10_000_000.0 if seg == CDS_SEGMENT else 10_000.0 if seg in (BCD_SEGMENT, NCO_SEGMENT) else 100.0
    for seg in range(256)
)

# Ticks in one frame, and consecutive frames, share a handful of second-resolution
# timestamps; building an aware datetime costs more than the rest of a quote packet.
_TS_CACHE: dict[int, datetime] = {}
_TS_CACHE_MAX = 4096


class KiteFrameError(ValueError):
    """A websocket message that is not a well-formed Kite frame or text message."""


def price_divisor(instrument_token: int) -> float:
    """What to divide a raw wire price by for this instrument's segment."""
    return _DIVISORS[instrument_token & 0xFF]


def _ist(seconds: int) -> datetime:
    dt = _TS_CACHE.get(seconds)
    if dt is None:
        if len(_TS_CACHE) >= _TS_CACHE_MAX:
            _TS_CACHE.clear()
        dt = _TS_CACHE[seconds] = datetime.fromtimestamp(seconds, IST)
    return dt


def parse_frame(data: bytes | bytearray | memoryview) -> list[dict[str, Any]]:
    """Decode one binary Kite websocket message into tick dicts.

    Returns ``[]`` for a 1-byte heartbeat. Each tick has kiteconnect's keys for its
    mode (``ltp``: token, mode, tradable, last_price; ``quote``/``full``: the
    quote fields and ``ohlc``/``change``; ``full`` adds ``last_trade_time``,
    ``oi``, ``oi_day_high``, ``oi_day_low``, ``exchange_timestamp`` and ``depth``).
    Timestamps are aware datetimes in IST; a zero timestamp decodes as the epoch
    (1970-01-01 05:30 IST), as kiteconnect's does.

    Raises :class:`KiteFrameError` for an empty, truncated or inconsistent
    message: a count that does not match the packets present, a packet length
    that is not a known packet kind, or bytes left over after the last packet.
    """
    n = len(data)
    if n < 2:
        if n == 1:
            return []
        raise KiteFrameError("empty websocket message")
    (count,) = _U16.unpack_from(data, 0)
    if count * _MIN_PACKET_WITH_HEADER > n - 2:
        raise KiteFrameError(f"frame declares {count} packets but has only {n} bytes")

    u16_from = _U16.unpack_from
    divisors = _DIVISORS
    ts_cache = _TS_CACHE
    ist = _ist
    ticks: list[dict[str, Any]] = []
    append = ticks.append
    pos = 2
    for index in range(count):
        if pos + 2 > n:
            raise KiteFrameError(f"frame truncated before packet {index} of {count}")
        (length,) = u16_from(data, pos)
        start = pos + 2
        pos = start + length
        if pos > n:
            raise KiteFrameError(
                f"packet {index} of {count} declares {length} bytes, "
                f"only {n - start} remain in the frame"
            )

        if length == FULL_PACKET_LEN:
            v = _FULL.unpack_from(data, start)
            token = v[0]
            div = divisors[token & 0xFF]
            last_price = v[1] / div
            close = v[10] / div
            ltt = ts_cache.get(v[11]) or ist(v[11])
            ets = ts_cache.get(v[15]) or ist(v[15])
            append(
                {
                    "tradable": token & 0xFF != INDICES_SEGMENT,
                    "mode": MODE_FULL,
                    "instrument_token": token,
                    "last_price": last_price,
                    "last_traded_quantity": v[2],
                    "average_traded_price": v[3] / div,
                    "volume_traded": v[4],
                    "total_buy_quantity": v[5],
                    "total_sell_quantity": v[6],
                    "ohlc": {
                        "open": v[7] / div,
                        "high": v[8] / div,
                        "low": v[9] / div,
                        "close": close,
                    },
                    "change": (last_price - close) * 100 / close if close else 0.0,
                    "last_trade_time": ltt,
                    "oi": v[12],
                    "oi_day_high": v[13],
                    "oi_day_low": v[14],
                    "exchange_timestamp": ets,
                    # Unrolled on purpose: ~15% faster than a comprehension over levels.
                    "depth": {
                        "buy": [
                            {"quantity": v[16], "price": v[17] / div, "orders": v[18]},
                            {"quantity": v[19], "price": v[20] / div, "orders": v[21]},
                            {"quantity": v[22], "price": v[23] / div, "orders": v[24]},
                            {"quantity": v[25], "price": v[26] / div, "orders": v[27]},
                            {"quantity": v[28], "price": v[29] / div, "orders": v[30]},
                        ],
                        "sell": [
                            {"quantity": v[31], "price": v[32] / div, "orders": v[33]},
                            {"quantity": v[34], "price": v[35] / div, "orders": v[36]},
                            {"quantity": v[37], "price": v[38] / div, "orders": v[39]},
                            {"quantity": v[40], "price": v[41] / div, "orders": v[42]},
                            {"quantity": v[43], "price": v[44] / div, "orders": v[45]},
                        ],
                    },
                }
            )
        elif length == QUOTE_PACKET_LEN:
            v = _QUOTE.unpack_from(data, start)
            token = v[0]
            div = divisors[token & 0xFF]
            last_price = v[1] / div
            close = v[10] / div
            append(
                {
                    "tradable": token & 0xFF != INDICES_SEGMENT,
                    "mode": MODE_QUOTE,
                    "instrument_token": token,
                    "last_price": last_price,
                    "last_traded_quantity": v[2],
                    "average_traded_price": v[3] / div,
                    "volume_traded": v[4],
                    "total_buy_quantity": v[5],
                    "total_sell_quantity": v[6],
                    "ohlc": {
                        "open": v[7] / div,
                        "high": v[8] / div,
                        "low": v[9] / div,
                        "close": close,
                    },
                    "change": (last_price - close) * 100 / close if close else 0.0,
                }
            )
        elif length == LTP_PACKET_LEN:
            token, raw_price = _LTP.unpack_from(data, start)
            append(
                {
                    "tradable": token & 0xFF != INDICES_SEGMENT,
                    "mode": MODE_LTP,
                    "instrument_token": token,
                    "last_price": raw_price / divisors[token & 0xFF],
                }
            )
        elif length in (INDEX_QUOTE_PACKET_LEN, INDEX_FULL_PACKET_LEN):
            if length == INDEX_FULL_PACKET_LEN:
                v = _INDEX_FULL.unpack_from(data, start)
            else:
                v = _INDEX_QUOTE.unpack_from(data, start)
            token = v[0]
            div = divisors[token & 0xFF]
            last_price = v[1] / div
            close = v[5] / div
            tick: dict[str, Any] = {
                "tradable": token & 0xFF != INDICES_SEGMENT,
                "mode": MODE_FULL if length == INDEX_FULL_PACKET_LEN else MODE_QUOTE,
                "instrument_token": token,
                "last_price": last_price,
                "ohlc": {
                    "high": v[2] / div,
                    "low": v[3] / div,
                    "open": v[4] / div,
                    "close": close,
                },
                "change": (last_price - close) * 100 / close if close else 0.0,
            }
            if length == INDEX_FULL_PACKET_LEN:
                tick["exchange_timestamp"] = ts_cache.get(v[6]) or ist(v[6])
            append(tick)
        else:
            raise KiteFrameError(f"packet {index} of {count} has unknown length {length}")

    if pos != n:
        raise KiteFrameError(f"{n - pos} unexpected bytes after the last of {count} packets")
    return ticks


def parse_text(message: str | bytes) -> dict[str, Any]:
    """Decode one text websocket message (``{"type": ..., "data": ...}``).

    Kite sends ``order`` (``data`` is the order, in the postback shape),
    ``error`` and ``message`` (``data`` is a string). The dict is returned as
    decoded; order timestamps stay Kite's IST wall-clock strings (see
    :func:`parse_kite_time`). Raises :class:`KiteFrameError` if the message is not
    a JSON object with a string ``type``, or is an order update without an order.
    """
    try:
        obj = json.loads(message)
    except (ValueError, TypeError) as exc:
        raise KiteFrameError(f"text message is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise KiteFrameError(f"text message is a JSON {type(obj).__name__}, not an object")
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise KiteFrameError("text message has no string 'type'")
    if kind == "order" and not isinstance(obj.get("data"), dict):
        raise KiteFrameError("order update has no order object in 'data'")
    return obj


def parse_kite_time(value: str | None) -> datetime | None:
    """Kite's ``"YYYY-MM-DD HH:MM:SS"`` (IST wall clock) as an aware datetime.

    Returns ``None`` for ``None`` or an empty string; raises
    :class:`KiteFrameError` for anything else that is not in that format.
    """
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    except (ValueError, TypeError):
        raise KiteFrameError(f"not a Kite timestamp: {value!r}") from None
