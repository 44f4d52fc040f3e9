"""The fake Kite speaks Kite: the real kiteconnect client and a plain websocket client agree."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from engine.clock import IST, TestClock
from engine.feeds.kite_protocol import parse_frame, parse_text
from tests.kite_fake.server import FakeKite

kiteconnect = pytest.importorskip("kiteconnect")
from kiteconnect import KiteConnect  # noqa: E402
from kiteconnect import exceptions as kex  # noqa: E402

INFY = 408065
NIFTY = 256265
USDINR = 412675
GUARD_S = 10.0  # a hung test fails instead of waiting forever; nothing here is a speed check


@pytest.fixture
def fake_kite() -> Iterator[FakeKite]:
    """A running fake Kite with fast ticks (every 20 ms) and heartbeats (every 100 ms)."""
    with FakeKite(tick_interval=0.02, heartbeat_interval=0.1) as kite:
        yield kite


@pytest.fixture
def kite_client(fake_kite: FakeKite) -> KiteConnect:
    """The real kiteconnect client pointed at ``fake_kite``, logged in."""
    client = KiteConnect(fake_kite.api_key, root=fake_kite.root, timeout=5)
    client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    return client


def _limit_order(client: KiteConnect, tag: str = "ALPHA1", **overrides: Any) -> str:
    params = {
        "variety": "regular",
        "exchange": "NSE",
        "tradingsymbol": "INFY",
        "transaction_type": "BUY",
        "quantity": 10,
        "product": "CNC",
        "order_type": "LIMIT",
        "price": 1400.0,
        "tag": tag,
        **overrides,
    }
    return client.place_order(**params)


def _wait_for(predicate: Callable[[], Any]) -> Any:
    """Poll ``predicate`` (server state changes on another thread) until it is truthy."""
    for _ in range(int(GUARD_S / 0.01)):
        if result := predicate():
            return result
        time.sleep(0.01)
    raise AssertionError("condition never became true")


# -- session --------------------------------------------------------------------------------------


def test_generate_session_and_profile(fake_kite: FakeKite) -> None:
    client = KiteConnect(fake_kite.api_key, root=fake_kite.root, timeout=5)
    session = client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    assert session["access_token"] == fake_kite.access_token == client.access_token
    assert session["user_id"] == fake_kite.user_id
    assert isinstance(session["login_time"], datetime)
    assert client.profile()["user_id"] == fake_kite.user_id
    form = fake_kite.requests[0].params
    assert form["checksum"] == [fake_kite.checksum()]


def test_wrong_secret_is_a_token_exception(fake_kite: FakeKite) -> None:
    client = KiteConnect(fake_kite.api_key, root=fake_kite.root, timeout=5)
    with pytest.raises(kex.TokenException) as err:
        client.generate_session(fake_kite.request_token, "not-the-secret")
    assert err.value.code == 403
    assert "not-the-secret" not in str(err.value)


def test_requests_without_a_token_are_refused(fake_kite: FakeKite) -> None:
    client = KiteConnect(fake_kite.api_key, root=fake_kite.root, timeout=5)
    with pytest.raises(kex.TokenException):
        client.orders()
    client.set_access_token("wrong")
    with pytest.raises(kex.TokenException):
        client.positions()


# -- orders ---------------------------------------------------------------------------------------


def test_place_modify_cancel_with_tag(fake_kite: FakeKite, kite_client: KiteConnect) -> None:
    order_id = _limit_order(kite_client, tag="ALPHA1")
    (order,) = [o for o in kite_client.orders() if o["order_id"] == order_id]
    assert order["tag"] == "ALPHA1"
    assert order["status"] == "OPEN"
    assert order["pending_quantity"] == 10
    assert isinstance(order["order_timestamp"], datetime)  # kiteconnect parsed Kite's format

    assert kite_client.modify_order("regular", order_id, price=1401.5, quantity=12) == order_id
    assert fake_kite.orders(tag="ALPHA1")[0]["price"] == 1401.5

    assert kite_client.cancel_order("regular", order_id) == order_id
    history = kite_client.order_history(order_id)
    assert [h["status"] for h in history] == ["OPEN", "OPEN", "CANCELLED"]
    assert [h["modified"] for h in history] == [False, True, True]
    assert history[-1]["cancelled_quantity"] == 12
    assert kite_client.order_trades(order_id) == []

    with pytest.raises(kex.InputException):
        kite_client.cancel_order("regular", order_id)


def test_fill_and_reject_hooks(fake_kite: FakeKite, kite_client: KiteConnect) -> None:
    order_id = _limit_order(kite_client, tag="FILLME")
    assert fake_kite.fill_order(order_id, quantity=4, price=1399.0)["status"] == "OPEN"
    done = fake_kite.fill_order(order_id, price=1400.0)
    assert done["status"] == "COMPLETE"
    assert done["filled_quantity"] == 10
    assert done["average_price"] == pytest.approx((4 * 1399.0 + 6 * 1400.0) / 10)
    trades = kite_client.order_trades(order_id)
    assert [t["quantity"] for t in trades] == [4, 6]
    assert {t["order_id"] for t in kite_client.trades()} >= {order_id}
    net = [p for p in kite_client.positions()["net"] if p["tradingsymbol"] == "INFY"]
    assert net[0]["quantity"] == 10

    rejected_id = _limit_order(kite_client, tag="REJECTME")
    rejected = fake_kite.reject_order(rejected_id, reason="RMS:Margin Exceeds")
    assert rejected["status"] == "REJECTED"
    assert kite_client.order_history(rejected_id)[-1]["status_message"] == "RMS:Margin Exceeds"


def test_market_orders_fill_at_once(kite_client: KiteConnect) -> None:
    order_id = _limit_order(kite_client, tag="MKT1", order_type="MARKET", price=None)
    assert kite_client.order_history(order_id)[-1]["status"] == "COMPLETE"
    (trade,) = kite_client.order_trades(order_id)
    assert trade["quantity"] == 10
    assert trade["average_price"] > 0


def test_amo_and_stop_orders_rest(kite_client: KiteConnect) -> None:
    amo = _limit_order(kite_client, tag="AMO1", variety="amo", order_type="MARKET", price=None)
    assert kite_client.order_history(amo)[-1]["status"] == "AMO REQ RECEIVED"
    sl = _limit_order(kite_client, tag="SL1", order_type="SL", trigger_price=1395.0)
    assert kite_client.order_history(sl)[-1]["status"] == "TRIGGER PENDING"


@pytest.mark.parametrize(
    "overrides",
    [
        {"tag": "has space"},
        {"tag": "X" * 21},
        {"tag": "bad-dash"},
        {"quantity": 0},
        {"order_type": "LIMIT", "price": None},
        {"order_type": "SL", "trigger_price": None},
        {"tradingsymbol": "NOSUCHSYMBOL"},
        {"transaction_type": "HOLD"},
        {"variety": "bracket"},
    ],
)
def test_invalid_orders_are_input_exceptions(
    fake_kite: FakeKite, kite_client: KiteConnect, overrides: dict[str, Any]
) -> None:
    before = len(fake_kite.orders())
    with pytest.raises(kex.InputException) as err:
        _limit_order(kite_client, **overrides)
    assert err.value.code == 400
    assert len(fake_kite.orders()) == before


def test_unknown_order_is_an_input_exception(kite_client: KiteConnect) -> None:
    with pytest.raises(kex.InputException):
        kite_client.order_history("999")


def test_seeded_mock_orders_and_trades(kite_client: KiteConnect) -> None:
    tags = {o["tag"] for o in kite_client.orders()}
    assert "connect test order1" in tags
    assert len(kite_client.trades()) >= 4
    assert {p["tradingsymbol"] for p in kite_client.positions()["net"]} >= {"LEADMINI17DECFUT"}


def test_unseeded_book_starts_empty() -> None:
    with FakeKite(seed_orders=False, tick_interval=None, heartbeat_interval=None) as kite:
        client = KiteConnect(kite.api_key, access_token=kite.access_token, root=kite.root)
        assert client.orders() == []
        assert client.trades() == []
        assert client.positions() == {"net": [], "day": []}
        assert client.holdings() == []


def test_seeded_holdings_in_kites_shape(kite_client: KiteConnect) -> None:
    holdings = kite_client.holdings()
    assert {h["tradingsymbol"] for h in holdings} == {"AARON", "SBIN"}
    assert all({"quantity", "t1_quantity", "instrument_token"} <= h.keys() for h in holdings)


def test_next_day_moves_cnc_buys_to_holdings_and_empties_the_books(
    fake_kite: FakeKite, kite_client: KiteConnect
) -> None:
    fake_kite.fill_order(_limit_order(kite_client, tag="CNC1"), price=1400.0)
    fake_kite.fill_order(_limit_order(kite_client, tag="MIS1", product="MIS"), price=1400.0)
    fake_kite.next_day()
    (infy,) = [h for h in kite_client.holdings() if h["tradingsymbol"] == "INFY"]
    assert (infy["quantity"], infy["t1_quantity"], infy["average_price"]) == (0, 10, 1400.0)
    assert kite_client.orders() == [] and kite_client.trades() == []
    net = kite_client.positions()["net"]
    assert {p["product"] for p in net} == {"NRML"}  # the seeded MCX future carries over
    assert all(p["overnight_quantity"] == p["quantity"] for p in net)
    fake_kite.next_day()
    (infy,) = [h for h in kite_client.holdings() if h["tradingsymbol"] == "INFY"]
    assert (infy["quantity"], infy["t1_quantity"]) == (10, 0)


# -- market data ----------------------------------------------------------------------------------


def test_quote_ltp_ohlc(kite_client: KiteConnect) -> None:
    quote = kite_client.quote("NSE:INFY", "NSE:NOSUCH")
    assert list(quote) == ["NSE:INFY"]
    q = quote["NSE:INFY"]
    assert q["instrument_token"] == INFY
    assert len(q["depth"]["buy"]) == len(q["depth"]["sell"]) == 5
    assert q["ohlc"]["close"] == 1389.65  # seeded from Zerodha's quote mock
    assert isinstance(q["timestamp"], datetime)
    ltp = kite_client.ltp(["NSE:INFY", str(NIFTY)])
    assert ltp["NSE:INFY"] == {"instrument_token": INFY, "last_price": q["last_price"]}
    assert ltp[str(NIFTY)]["instrument_token"] == NIFTY
    assert kite_client.ohlc("NSE:INFY")["NSE:INFY"]["ohlc"] == q["ohlc"]


def test_set_price_moves_quotes(fake_kite: FakeKite, kite_client: KiteConnect) -> None:
    fake_kite.set_price(INFY, 1500.05)
    assert kite_client.ltp("NSE:INFY")["NSE:INFY"]["last_price"] == 1500.05


def test_instruments_csv(kite_client: KiteConnect) -> None:
    everything = kite_client.instruments()
    nse = kite_client.instruments("NSE")
    assert {r["exchange"] for r in nse} == {"NSE"}
    assert len(everything) > len(nse) > 50
    infy = next(r for r in nse if r["tradingsymbol"] == "INFY")
    assert infy["instrument_token"] == INFY
    assert next(r for r in everything if r["instrument_token"] == NIFTY)["segment"] == "INDICES"


def test_margins_and_historical(kite_client: KiteConnect) -> None:
    assert kite_client.margins()["equity"]["enabled"] is True
    assert kite_client.margins("commodity")["net"] == 100661.7
    candles = kite_client.historical_data(
        INFY, "2017-12-15 09:15:00", "2017-12-15 09:20:00", "minute"
    )
    assert len(candles) == 6
    assert candles[0]["date"].utcoffset() == IST.utcoffset(None)
    with_oi = kite_client.historical_data(INFY, "2019-12-04", "2019-12-05", "minute", oi=True)
    assert "oi" in with_oi[0]


# -- faults ---------------------------------------------------------------------------------------


def test_expired_token_gives_token_exception_then_relogin(
    fake_kite: FakeKite, kite_client: KiteConnect
) -> None:
    expired: list[bool] = []
    kite_client.set_session_expiry_hook(lambda: expired.append(True))
    old_token = kite_client.access_token
    fake_kite.expire_token()
    with pytest.raises(kex.TokenException) as err:
        kite_client.orders()
    assert err.value.code == 403
    assert expired == [True]
    session = kite_client.generate_session(fake_kite.request_token, fake_kite.api_secret)
    assert session["access_token"] != old_token
    assert kite_client.orders()


def test_logout_invalidates_the_token(kite_client: KiteConnect) -> None:
    assert kite_client.invalidate_access_token() is True
    with pytest.raises(kex.TokenException):
        kite_client.profile()


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (429, kex.NetworkException),
        (500, kex.GeneralException),
        (502, kex.DataException),
        (503, kex.NetworkException),
    ],
)
def test_fail_next(fake_kite: FakeKite, kite_client: KiteConnect, status: int, exception) -> None:
    fake_kite.fail_next(2, status)
    for _ in range(2):
        with pytest.raises(exception) as err:
            kite_client.orders()
        assert err.value.code == status
    assert kite_client.orders()


def test_fail_after_processing_leaves_the_order_placed(
    fake_kite: FakeKite, kite_client: KiteConnect
) -> None:
    fake_kite.fail_next(1, 503, process=True)
    with pytest.raises(kex.NetworkException):
        _limit_order(kite_client, tag="UNCLEAR1")
    (order,) = fake_kite.orders(tag="UNCLEAR1")
    assert order["status"] == "OPEN"


def test_delay_next_times_the_client_out(fake_kite: FakeKite) -> None:
    client = KiteConnect(
        fake_kite.api_key, access_token=fake_kite.access_token, root=fake_kite.root
    )
    client.timeout = 0.2
    fake_kite.delay_next(1, seconds=1.0)
    with pytest.raises(requests.exceptions.Timeout):
        _limit_order(client, tag="SLOW1")
    # The slow request still lands: the order exists once the server gets to it.
    (order,) = _wait_for(lambda: fake_kite.orders(tag="SLOW1"))
    assert order["status"] == "OPEN"
    client.timeout = 5
    assert client.profile()  # the delay applied to one request only


def test_test_clock_stamps_orders() -> None:
    clock = TestClock(datetime(2026, 11, 25, 9, 30, tzinfo=IST))
    with FakeKite(clock=clock, seed_orders=False, tick_interval=None) as kite:
        client = KiteConnect(kite.api_key, access_token=kite.access_token, root=kite.root)
        order_id = _limit_order(client, tag="CLOCK1")
        assert order_id.startswith("261125")
        (order,) = client.orders()
        assert order["order_timestamp"] == datetime(2026, 11, 25, 9, 30)  # kiteconnect: naive


# -- websocket ------------------------------------------------------------------------------------


async def _recv_until(ws: ClientConnection, predicate: Callable[[Any], Any]) -> Any:
    async with asyncio.timeout(GUARD_S):
        while True:
            message = await ws.recv()
            if predicate(message):
                return message


def _ticks(message: Any) -> list[dict[str, Any]]:
    return parse_frame(message) if isinstance(message, bytes) else []


async def test_websocket_streams_frames_in_the_requested_modes(fake_kite: FakeKite) -> None:
    async with connect(fake_kite.ws_url()) as ws:
        await ws.send(json.dumps({"a": "subscribe", "v": [INFY, NIFTY, USDINR]}))
        await ws.send(json.dumps({"a": "mode", "v": ["full", [INFY, NIFTY]]}))
        await ws.send(json.dumps({"a": "mode", "v": ["ltp", [USDINR]]}))

        def all_modes_set(message: Any) -> bool:
            modes = {t["instrument_token"]: t["mode"] for t in _ticks(message)}
            return modes == {INFY: "full", NIFTY: "full", USDINR: "ltp"}

        ticks = {t["instrument_token"]: t for t in _ticks(await _recv_until(ws, all_modes_set))}
        infy, nifty, usdinr = ticks[INFY], ticks[NIFTY], ticks[USDINR]
        assert len(infy["depth"]["buy"]) == 5
        assert infy["exchange_timestamp"].utcoffset() == IST.utcoffset(None)
        assert infy["tradable"] is True
        assert nifty["tradable"] is False
        assert "depth" not in nifty
        assert 60 < usdinr["last_price"] < 90  # CDS prices decoded with the currency divisor
        heartbeat = await _recv_until(ws, lambda m: isinstance(m, bytes) and len(m) == 1)
        assert parse_frame(heartbeat) == []

        await ws.send(json.dumps({"a": "unsubscribe", "v": [INFY, NIFTY]}))
        only_usdinr = await _recv_until(
            ws, lambda m: {t["instrument_token"] for t in _ticks(m)} == {USDINR}
        )
        assert parse_frame(only_usdinr)[0]["mode"] == "ltp"
    assert fake_kite.subscriptions() == {}


async def test_websocket_default_mode_is_quote(fake_kite: FakeKite) -> None:
    async with connect(fake_kite.ws_url()) as ws:
        await ws.send(json.dumps({"a": "subscribe", "v": [INFY]}))
        frame = await _recv_until(ws, _ticks)
        assert [t["mode"] for t in parse_frame(frame)] == ["quote"]
        assert fake_kite.subscriptions() == {INFY: "quote"}


async def test_websocket_invalid_message_gets_an_error(fake_kite: FakeKite) -> None:
    async with connect(fake_kite.ws_url()) as ws:
        await ws.send("{not json")
        error = await _recv_until(ws, lambda m: isinstance(m, str))
        assert parse_text(error)["type"] == "error"


async def test_order_updates_arrive_on_the_websocket(fake_kite: FakeKite) -> None:
    client = KiteConnect(
        fake_kite.api_key, access_token=fake_kite.access_token, root=fake_kite.root
    )
    async with connect(fake_kite.ws_url()) as ws:
        await _recv_until(ws, lambda m: isinstance(m, bytes))  # connected and served
        order_id = await asyncio.to_thread(_limit_order, client, "WSUPDATE1")
        await asyncio.to_thread(fake_kite.fill_order, order_id)
        statuses = []
        while len(statuses) < 2:
            update = parse_text(await _recv_until(ws, lambda m: isinstance(m, str)))
            assert update["type"] == "order"
            assert update["data"]["order_id"] == order_id
            assert update["data"]["tag"] == "WSUPDATE1"
            statuses.append(update["data"]["status"])
        assert statuses == ["OPEN", "COMPLETE"]


async def test_websocket_refused_with_bad_or_expired_token(fake_kite: FakeKite) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with connect(fake_kite.ws_url(access_token="wrong")):
            pass
    assert err.value.response.status_code == 403

    async with connect(fake_kite.ws_url()) as ws:
        await asyncio.to_thread(fake_kite.expire_token)
        with pytest.raises(ConnectionClosed):
            await _recv_until(ws, lambda m: False)
    with pytest.raises(InvalidStatus) as err:
        async with connect(fake_kite.ws_url()):
            pass
    assert err.value.response.status_code == 403


async def test_drop_and_refuse_websockets(fake_kite: FakeKite) -> None:
    async with connect(fake_kite.ws_url()) as ws:
        await ws.send(json.dumps({"a": "subscribe", "v": [INFY]}))
        await _recv_until(ws, _ticks)
        assert await asyncio.to_thread(fake_kite.drop_websockets) == 1
        with pytest.raises(ConnectionClosed):
            await _recv_until(ws, lambda m: False)
    await asyncio.to_thread(fake_kite.refuse_websockets, 1)
    with pytest.raises(InvalidStatus) as err:
        async with connect(fake_kite.ws_url()):
            pass
    assert err.value.response.status_code == 503
    async with connect(fake_kite.ws_url()) as ws:  # the next handshake succeeds
        assert await _recv_until(ws, lambda m: isinstance(m, bytes))


async def test_push_sends_raw_messages(fake_kite: FakeKite) -> None:
    fake_kite.tick_interval = None
    async with connect(fake_kite.ws_url()) as ws:
        await _recv_until(ws, lambda m: m == b"\x00")  # the server knows this client now
        tick = {"instrument_token": INFY, "mode": "ltp", "last_price": 1234.5}
        assert await asyncio.to_thread(fake_kite.push, [tick]) == 1
        frame = await _recv_until(ws, lambda m: isinstance(m, bytes) and len(m) > 1)
        assert parse_frame(frame) == [{**tick, "tradable": True}]
        await asyncio.to_thread(fake_kite.push, b"\x00\x05garbage")
        assert await _recv_until(ws, lambda m: m != b"\x00") == b"\x00\x05garbage"


async def test_usable_as_async_context_manager() -> None:
    async with FakeKite(tick_interval=None, heartbeat_interval=None) as kite:
        client = KiteConnect(kite.api_key, access_token=kite.access_token, root=kite.root)
        profile = await asyncio.to_thread(client.profile)
        assert profile["user_id"] == kite.user_id
    assert kite.port  # stopped cleanly; stop() is idempotent
    kite.stop()
