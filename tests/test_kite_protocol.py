"""Kite websocket protocol: parse_frame agrees with kiteconnect, rejects malformed frames."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import IST
from engine.feeds.kite_protocol import (
    HEARTBEAT,
    KiteFrameError,
    parse_frame,
    parse_kite_time,
    parse_text,
    price_divisor,
)
from tests.kite_fake.frames import build_frame, build_packet

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "kite_fake" / "data"
TIME_KEYS = ("last_trade_time", "exchange_timestamp")
IST_OFFSET = timedelta(hours=5, minutes=30)

kiteconnect = pytest.importorskip("kiteconnect")


@pytest.fixture(scope="module")
def kite_parse():
    """kiteconnect's own decoder (a KiteTicker is never connected here)."""
    return kiteconnect.KiteTicker("api_key", "access_token")._parse_binary


# -- strategies: raw packets straight from struct, independent of the test encoder ----------

u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 2**16 - 1)
segments = st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 12]) | st.integers(0, 255)
tokens = st.builds(lambda hi, seg: (hi << 8) | seg, st.integers(0, 2**24 - 1), segments)
# Plausible epoch seconds (2000..2100) and the edges of the u32 range.
stamps = st.integers(946_684_800, 4_102_444_800) | st.sampled_from([0, 1, 2**32 - 1])


def _raw(fmt: str, *parts: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    s = struct.Struct(fmt)
    return st.tuples(*parts).map(lambda values: s.pack(*values))


def _packets(tok: st.SearchStrategy[int], index_tok: st.SearchStrategy[int]):
    """One strategy per packet kind: LTP, index quote/full, quote, full."""
    i32 = st.integers(-(2**31), 2**31 - 1)
    return (
        _raw(">II", tok, u32),
        _raw(">IIIIIIi", index_tok, u32, u32, u32, u32, u32, i32),
        _raw(">IIIIIIiI", index_tok, u32, u32, u32, u32, u32, i32, stamps),
        _raw(">11I", tok, *[u32] * 10),
        _raw(
            ">16I" + "IIH2x" * 10,
            tok,
            *[u32] * 10,
            stamps,
            u32,
            u32,
            u32,
            stamps,
            *[u32, u32, u16] * 10,
        ),
    )


# Any token on any packet kind: what the wire format allows.
any_packet = st.one_of(*_packets(tokens, tokens))
# What Kite sends: the short index packets only for segment 9, the others never for it.
index_tokens = st.integers(0, 2**24 - 1).map(lambda hi: (hi << 8) | 9)
other_tokens = tokens.filter(lambda t: t & 0xFF != 9)
real_packet = st.one_of(*_packets(other_tokens, index_tokens))
frames = st.lists(any_packet, max_size=12).map(build_frame)


def _kite_to_ist(ticks: list[dict]) -> list[dict]:
    """kiteconnect's ticks with its naive local-time datetimes made IST-aware."""
    out = []
    for tick in ticks:
        tick = dict(tick)
        for key in TIME_KEYS:
            if key in tick and tick[key] is not None:
                tick[key] = tick[key].astimezone(IST)
        out.append(tick)
    return out


# -- agreement with kiteconnect ----------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_parse_frame_matches_kiteconnect(kite_parse, frame: bytes) -> None:
    ours = parse_frame(frame)
    assert ours == _kite_to_ist(kite_parse(frame))
    for tick, theirs in zip(ours, kite_parse(frame), strict=True):
        assert list(tick) == list(theirs)  # same keys, nothing extra
        for key in TIME_KEYS:
            if key in tick:
                assert tick[key].utcoffset() == IST_OFFSET


def test_full_packet_fields_against_kiteconnect_on_a_known_tick(kite_parse) -> None:
    ts = datetime(2026, 11, 25, 10, 0, 5, tzinfo=IST)
    tick = {
        "instrument_token": 408065,
        "mode": "full",
        "last_price": 1412.95,
        "last_traded_quantity": 5,
        "average_traded_price": 1412.47,
        "volume_traded": 7360198,
        "total_buy_quantity": 120,
        "total_sell_quantity": 5191,
        "ohlc": {"open": 1396.0, "high": 1421.75, "low": 1395.55, "close": 1389.65},
        "last_trade_time": ts - timedelta(seconds=4),
        "oi": 7,
        "oi_day_high": 9,
        "oi_day_low": 3,
        "exchange_timestamp": ts,
        "depth": {
            "buy": [{"quantity": 10 * i, "price": 1412.9 - i, "orders": i} for i in range(5)],
            "sell": [{"quantity": 11 * i, "price": 1413.0 + i, "orders": i} for i in range(5)],
        },
    }
    frame = build_frame([tick])
    (parsed,) = parse_frame(frame)
    assert parsed["tradable"] is True
    assert parsed["exchange_timestamp"] == ts
    assert parsed["last_trade_time"] == ts - timedelta(seconds=4)
    assert parsed["depth"]["sell"][4] == {"quantity": 44, "price": 1417.0, "orders": 4}
    assert parsed["change"] == pytest.approx((1412.95 - 1389.65) * 100 / 1389.65)
    assert [parsed] == _kite_to_ist(kite_parse(frame))


@settings(max_examples=200, deadline=None)
@given(st.lists(real_packet, max_size=12).map(build_frame))
def test_encoder_round_trips_parsed_ticks(frame: bytes) -> None:
    ticks = parse_frame(frame)
    assert parse_frame(build_frame(ticks)) == ticks


# -- heartbeats, segments ---------------------------------------------------------------------


def test_heartbeat_is_no_ticks() -> None:
    assert parse_frame(HEARTBEAT) == []
    assert parse_frame(b"\x7f") == []


def test_empty_frame_with_zero_packets() -> None:
    assert parse_frame(b"\x00\x00") == []


def test_accepts_bytearray_and_memoryview() -> None:
    frame = build_frame([{"instrument_token": 408065, "mode": "ltp", "last_price": 1.5}])
    expected = [{"tradable": True, "mode": "ltp", "instrument_token": 408065, "last_price": 1.5}]
    assert parse_frame(bytearray(frame)) == expected
    assert parse_frame(memoryview(frame)) == expected


@pytest.mark.parametrize(
    ("segment", "raw", "price"),
    [
        (1, 141295, 1412.95),  # NSE: paise
        (2, 5, 0.05),  # NFO
        (3, 727_525_000, 72.7525),  # CDS: 1e7
        (6, 727_525, 72.7525),  # BCD: 1e4
        (12, 52_150_000, 5215.0),  # NCO: 1e4, as kiteconnect
        (7, 6_187_200, 61872.0),  # MCX: paise
        (9, 2_345_670, 23456.7),  # indices: paise
    ],
)
def test_segment_price_divisors(segment: int, raw: int, price: float) -> None:
    token = (1234 << 8) | segment
    assert price_divisor(token) * price == pytest.approx(raw)
    (tick,) = parse_frame(build_frame([struct.pack(">II", token, raw)]))
    assert tick["last_price"] == price
    assert tick["tradable"] is (segment != 9)


def test_currency_quote_divides_every_price() -> None:
    token = (4000 << 8) | 3
    body = struct.pack(">11I", token, 727_525_000, 10, 727_500_000, 99, 1, 2, *[727_000_000] * 4)
    (tick,) = parse_frame(build_frame([body]))
    assert tick["mode"] == "quote"
    assert tick["average_traded_price"] == 72.75
    assert tick["ohlc"] == {"open": 72.7, "high": 72.7, "low": 72.7, "close": 72.7}
    assert tick["volume_traded"] == 99  # quantities are never divided


def test_index_packets() -> None:
    ts = datetime(2026, 11, 25, 15, 30, tzinfo=IST)
    index = {
        "instrument_token": 256265,  # NIFTY 50, segment 9
        "last_price": 24000.5,
        "ohlc": {"open": 23900.0, "high": 24100.0, "low": 23850.25, "close": 23950.0},
        "exchange_timestamp": ts,
    }
    quote, full = parse_frame(build_frame([{**index, "mode": "quote"}, {**index, "mode": "full"}]))
    assert (quote["mode"], full["mode"]) == ("quote", "full")
    assert quote["tradable"] is False
    assert "exchange_timestamp" not in quote
    assert full["exchange_timestamp"] == ts
    assert full["ohlc"] == index["ohlc"]
    assert full["change"] == pytest.approx((24000.5 - 23950.0) * 100 / 23950.0)


def test_zero_close_gives_zero_change() -> None:
    (tick,) = parse_frame(
        build_frame([{"instrument_token": 408065, "mode": "quote", "last_price": 10.0}])
    )
    assert tick["change"] == 0


# -- malformed frames: only KiteFrameError escapes -----------------------------------------------


def test_empty_message_is_an_error() -> None:
    with pytest.raises(KiteFrameError):
        parse_frame(b"")


@settings(max_examples=150, deadline=None)
@given(st.lists(any_packet, min_size=1, max_size=4).map(build_frame), st.data())
def test_every_truncation_is_rejected(frame: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(2, len(frame) - 1))
    with pytest.raises(KiteFrameError):
        parse_frame(frame[:cut])


@settings(max_examples=100, deadline=None)
@given(st.lists(any_packet, max_size=4).map(build_frame), st.binary(min_size=1, max_size=40))
def test_trailing_bytes_are_rejected(frame: bytes, extra: bytes) -> None:
    with pytest.raises(KiteFrameError, match="unexpected bytes"):
        parse_frame(frame + extra)


@pytest.mark.parametrize("length", [0, 1, 7, 9, 27, 30, 43, 45, 183, 185, 1000])
def test_unknown_packet_length_is_rejected(length: int) -> None:
    with pytest.raises(KiteFrameError):
        parse_frame(build_frame([bytes(length)]))
    # Followed by a valid packet so the frame is long enough to reach the packet check.
    full = build_packet({"instrument_token": 408065, "mode": "full", "last_price": 1.0})
    with pytest.raises(KiteFrameError, match="unknown length"):
        parse_frame(build_frame([full, bytes(length), full]))


@pytest.mark.parametrize("count", [1, 2, 100, 65535])
def test_count_larger_than_frame_is_rejected(count: int) -> None:
    body = struct.pack(">II", 408065, 100)
    frame = struct.pack(">HH", count, len(body)) + body
    if count == 1:
        assert len(parse_frame(frame)) == 1
        return
    with pytest.raises(KiteFrameError):
        parse_frame(frame)


def test_packet_length_past_end_is_rejected() -> None:
    frame = struct.pack(">HH", 1, 184) + bytes(44)
    with pytest.raises(KiteFrameError, match="declares 184 bytes"):
        parse_frame(frame)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_garbage_only_ever_raises_kite_frame_error(data: bytes) -> None:
    try:
        ticks = parse_frame(data)
    except KiteFrameError:
        return
    assert isinstance(ticks, list)


@settings(max_examples=300, deadline=None)
@given(frames, st.data())
def test_corrupted_frames_only_ever_raise_kite_frame_error(frame: bytes, data) -> None:
    mutated = bytearray(frame)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(mutated) - 1))
        mutated[i] = data.draw(st.integers(0, 255))
    try:
        ticks = parse_frame(bytes(mutated))
    except KiteFrameError:
        return
    assert all(isinstance(tick, dict) for tick in ticks)


def test_kite_frame_error_is_a_value_error() -> None:
    assert issubclass(KiteFrameError, ValueError)


# -- text messages --------------------------------------------------------------------------------


def test_order_update_text_message() -> None:
    order = json.loads((DATA / "postback.json").read_text())
    message = json.dumps({"type": "order", "id": "", "data": order})
    parsed = parse_text(message)
    assert parsed["type"] == "order"
    assert parsed["data"]["order_id"] == "220303000308932"
    assert parsed["data"]["status"] == "COMPLETE"
    assert parse_text(message.encode()) == parsed
    assert parse_kite_time(parsed["data"]["order_timestamp"]) == datetime(
        2022, 3, 3, 9, 24, 25, tzinfo=IST
    )


@pytest.mark.parametrize("kind", ["error", "message"])
def test_error_and_message_text(kind: str) -> None:
    assert parse_text(json.dumps({"type": kind, "data": "Invalid mode"})) == {
        "type": kind,
        "data": "Invalid mode",
    }


@pytest.mark.parametrize(
    "message",
    [
        "",
        "not json",
        "[1, 2]",
        '"order"',
        "{}",
        '{"type": 3}',
        '{"type": "order"}',
        '{"type": "order", "data": "x"}',
        b"\xff\xfe",
    ],
)
def test_bad_text_messages_raise_kite_frame_error(message: str | bytes) -> None:
    with pytest.raises(KiteFrameError):
        parse_text(message)


def test_parse_kite_time() -> None:
    assert parse_kite_time(None) is None
    assert parse_kite_time("") is None
    assert parse_kite_time("2021-05-31 09:18:57") == datetime(2021, 5, 31, 9, 18, 57, tzinfo=IST)
    with pytest.raises(KiteFrameError):
        parse_kite_time("09:18:57")


# -- encoder and packaging ------------------------------------------------------------------------


def test_build_packet_lengths() -> None:
    nse, index = 408065, 256265
    assert len(build_packet({"instrument_token": nse, "mode": "ltp"})) == 8
    assert len(build_packet({"instrument_token": index, "mode": "quote"})) == 28
    assert len(build_packet({"instrument_token": index, "mode": "full"})) == 32
    assert len(build_packet({"instrument_token": nse, "mode": "quote"})) == 44
    assert len(build_packet({"instrument_token": nse, "mode": "full"})) == 184
    with pytest.raises(ValueError):
        build_packet({"instrument_token": nse, "mode": "snap"})


def test_protocol_module_does_not_import_kiteconnect_or_twisted() -> None:
    code = (
        "import sys, engine.feeds.kite_protocol; "
        "bad = [m for m in ('kiteconnect', 'twisted', 'textual') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
