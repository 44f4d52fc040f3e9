"""A fake Kite Connect for tests: REST API and websocket ticker on 127.0.0.1.

The server runs an aiohttp app on its own event loop in a background thread, so sync
tests, async tests and the real (blocking) ``kiteconnect.KiteConnect`` client can all
talk to it::

    with FakeKite() as kite:
        client = KiteConnect(kite.api_key, root=kite.root)
        client.generate_session(kite.request_token, kite.api_secret)
        order_id = client.place_order(variety="regular", exchange="NSE",
                                      tradingsymbol="INFY", transaction_type="BUY",
                                      quantity=1, product="CNC", order_type="LIMIT",
                                      price=1400, tag="ABC123")
        kite.fill_order(order_id)
        # websocket: kite.ws_url() is like wss://ws.kite.trade?api_key=..&access_token=..

REST answers use Kite's envelopes (``{"status": "success", "data": ...}`` and
``{"status": "error", "message": ..., "error_type": ...}`` with Kite's HTTP codes)
and are backed by Zerodha's published mock responses in ``data/``. Every public
method is safe to call from any thread; state lives on the server's loop.

Fault controls: :meth:`fail_next`, :meth:`delay_next`, :meth:`drop_websockets`,
:meth:`expire_token`, :meth:`hold_next_place`, :meth:`fill_order`, :meth:`reject_order`,
:meth:`push`; the trading day moves on with :meth:`next_day`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import copy
import hashlib
import hmac
import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import WSMsgType, web

from engine.clock import NS_PER_SECOND, Clock, LiveClock, now_ist
from tests.kite_fake.book import FakeOrderBook, KiteApiError, input_error
from tests.kite_fake.frames import HEARTBEAT, build_frame
from tests.kite_fake.market import DATA_DIR, FakeMarket

__all__ = ["FakeKite", "KiteApiError", "RecordedRequest"]

T = TypeVar("T")
KITE_TIME = "%Y-%m-%d %H:%M:%S"
MODES = ("ltp", "quote", "full")
DEFAULT_ERROR_TYPES = {
    429: "NetworkException",
    500: "GeneralException",
    502: "DataException",
    503: "NetworkException",
    504: "NetworkException",
}


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One REST request as the fake received it (query and form merged in ``params``)."""

    method: str
    path: str
    params: dict[str, list[str]]


@dataclass(slots=True)
class _Fault:
    status: int
    error_type: str
    message: str
    process: bool


@dataclass(slots=True, eq=False)  # identity hash: kept in a set
class _Connection:
    ws: web.WebSocketResponse
    request: web.Request
    modes: dict[int, str] = field(default_factory=dict)


def _load(data_dir: Path, name: str) -> Any:
    return json.loads((data_dir / name).read_text())["data"]


class FakeKite:
    """A fake Kite Connect server (REST + websocket ticker) in a background thread.

    ``tick_interval`` is the seconds between tick frames on every websocket with
    subscriptions (``None``: only :meth:`push` sends ticks); ``heartbeat_interval``
    the seconds between 1-byte heartbeats (``None``: none). MARKET orders fill at
    once at the simulated price when ``auto_fill_market``; every other order rests
    until :meth:`fill_order` or :meth:`reject_order`. ``seed_orders`` preloads the
    order book, trades, positions and holdings from Zerodha's mocks; without it they start empty.
    """

    def __init__(
        self,
        *,
        api_key: str = "fakekey",
        api_secret: str = "fakesecret",
        request_token: str = "fakerequesttoken",
        access_token: str = "fakeaccesstoken",
        user_id: str = "AB1234",
        tick_interval: float | None = 0.05,
        heartbeat_interval: float | None = 1.0,
        auto_fill_market: bool = True,
        seed_orders: bool = True,
        seed: int = 1,
        clock: Clock | None = None,
        data_dir: Path = DATA_DIR,
    ) -> None:
        self.api_key = api_key
        self.api_secret = api_secret
        self.request_token = request_token
        self.user_id = user_id
        self.tick_interval = tick_interval
        self.heartbeat_interval = heartbeat_interval
        self.auto_fill_market = auto_fill_market
        self.clock: Clock = clock or LiveClock()
        self._data_dir = data_dir
        self._access_token = access_token
        self._token_valid = True
        self._token_generation = 0
        self.market = FakeMarket(data_dir, seed=seed)
        self.book = FakeOrderBook(
            self.market,
            user_id=user_id,
            seed_orders=_load(data_dir, "orders.json") if seed_orders else [],
            seed_trades=_load(data_dir, "trades.json") if seed_orders else [],
            seed_positions=_load(data_dir, "positions.json") if seed_orders else None,
            seed_holdings=_load(data_dir, "holdings.json") if seed_orders else (),
        )
        self._session = _load(data_dir, "generate_session.json")
        self._profile = _load(data_dir, "profile.json")
        self._margins = _load(data_dir, "margins.json")
        self._historical = _load(data_dir, "historical_minute.json")
        self._historical_oi = _load(data_dir, "historical_oi.json")
        self._postback = json.loads((data_dir / "postback.json").read_text())
        self._faults: deque[_Fault] = deque()
        self._delays: deque[float] = deque()
        self._connections: set[_Connection] = set()
        self._requests: list[RecordedRequest] = []
        self._ws_refusals = 0
        self._held_places = 0
        self.place_held = threading.Event()
        """Set when a held place was carried out (see :meth:`hold_next_place`)."""
        self._release: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._outbox: asyncio.Queue[str] | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> FakeKite:
        """Start serving on a free port of 127.0.0.1; returns self."""
        if self._thread is not None:
            raise RuntimeError("FakeKite already started")
        loop = asyncio.new_event_loop()
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = loop
        self._thread = threading.Thread(
            target=self._serve, args=(loop, started), name="fake-kite", daemon=True
        )
        self._thread.start()
        started.result(timeout=10)
        return self

    def stop(self) -> None:
        """Close every connection and stop the server thread."""
        if self._loop is None or self._thread is None:
            return
        loop, thread = self._loop, self._thread
        if loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> FakeKite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> FakeKite:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    def _serve(
        self, loop: asyncio.AbstractEventLoop, started: concurrent.futures.Future[None]
    ) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._startup())
        except BaseException as exc:
            started.set_exception(exc)
            loop.close()
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _startup(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/", self._ws_handler)
        routes = [
            ("POST", "/session/token", self._session_token),
            ("DELETE", "/session/token", self._session_logout),
            ("GET", "/user/profile", self._profile_handler),
            ("GET", "/user/margins", self._margins_handler),
            ("GET", "/user/margins/{segment}", self._margins_handler),
            ("GET", "/instruments", self._instruments),
            ("GET", "/instruments/{exchange}", self._instruments),
            ("GET", "/instruments/historical/{token}/{interval}", self._historical_handler),
            ("GET", "/quote", self._quote),
            ("GET", "/quote/ltp", self._ltp),
            ("GET", "/quote/ohlc", self._ohlc),
            ("GET", "/orders", self._orders),
            ("POST", "/orders/{variety}", self._place),
            ("PUT", "/orders/{variety}/{order_id}", self._modify),
            ("DELETE", "/orders/{variety}/{order_id}", self._cancel),
            ("GET", "/orders/{order_id}", self._order_history),
            ("GET", "/orders/{order_id}/trades", self._order_trades),
            ("GET", "/trades", self._trades),
            ("GET", "/portfolio/positions", self._positions),
            ("GET", "/portfolio/holdings", self._holdings),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, handler)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._outbox = asyncio.Queue()
        self._release = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._stream()),
            loop.create_task(self._heartbeats()),
            loop.create_task(self._send_updates()),
        ]

    async def _shutdown(self) -> None:
        if self._release is not None:
            self._release.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_connections(clean=True)
        if self._runner is not None:
            await self._runner.cleanup()

    # -- addresses and credentials ----------------------------------------------------------------

    @property
    def root(self) -> str:
        """REST root for ``KiteConnect(root=...)``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_token(self) -> str:
        """The access token the fake currently accepts (or last accepted, if expired)."""
        return self._access_token

    def ws_url(self, api_key: str | None = None, access_token: str | None = None) -> str:
        """Websocket URL with credentials, like ``wss://ws.kite.trade?api_key=..&access_token=..``."""
        key = self.api_key if api_key is None else api_key
        token = self._access_token if access_token is None else access_token
        return f"ws://127.0.0.1:{self.port}/?api_key={key}&access_token={token}"

    def checksum(self, request_token: str | None = None) -> str:
        """The checksum a client must send to exchange ``request_token``."""
        token = self.request_token if request_token is None else request_token
        return hashlib.sha256((self.api_key + token + self.api_secret).encode()).hexdigest()

    # -- thread hopping ---------------------------------------------------------------------------

    def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server loop and return its result (from any thread)."""
        loop = self._loop
        if loop is None:
            return fn()  # not started: nothing else touches the state
        if threading.current_thread() is self._thread:
            return fn()

        async def run() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout=10)

    def _await(self, coro_fn: Callable[[], Any]) -> Any:
        if self._loop is None:
            raise RuntimeError("FakeKite is not running")
        return asyncio.run_coroutine_threadsafe(coro_fn(), self._loop).result(timeout=10)

    # -- fault controls ---------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        *,
        error_type: str | None = None,
        message: str | None = None,
        process: bool = False,
    ) -> None:
        """Answer the next ``n`` REST requests with ``status`` in Kite's error envelope.

        ``error_type`` defaults by status (429/503/504 NetworkException, 500
        GeneralException, 502 DataException). With ``process`` the request is still
        carried out (an order is placed) before the error goes back: the "unclear
        outcome" case a client must reconcile rather than retry.
        """
        kind = error_type or DEFAULT_ERROR_TYPES.get(status, "GeneralException")
        text = message or ("Too many requests" if status == 429 else "Fake Kite fault injected")
        self._call(
            lambda: self._faults.extend(_Fault(status, kind, text, process) for _ in range(n))
        )

    def delay_next(self, n: int = 1, seconds: float = 10.0) -> None:
        """Hold the next ``n`` REST requests ``seconds`` before handling them (client timeouts).

        The request is still carried out after the delay, as a slow Kite would.
        """
        self._call(lambda: self._delays.extend([seconds] * n))

    def hold_next_place(self) -> None:
        """Carry out the next order placement but do not answer it until :meth:`stop`.

        The order is in the book (with its tag) and :attr:`place_held` is set: the moment
        to kill a client between Kite's "placed" and anything it writes afterwards.
        """

        def hold() -> None:
            self._held_places += 1
            self.place_held.clear()

        self._call(hold)

    def clear_faults(self) -> None:
        """Forget pending injected failures and delays."""
        self._call(lambda: (self._faults.clear(), self._delays.clear()))

    def drop_websockets(self, *, clean: bool = False) -> int:
        """Disconnect every websocket client; returns how many were connected.

        By default the TCP connection is just cut (the client sees 1006, as on a
        network drop); ``clean`` sends a close frame with 1001 (going away) first.
        """
        return self._await(lambda: self._close_connections(clean=clean))

    def refuse_websockets(self, n: int = 1) -> None:
        """Refuse the next ``n`` websocket handshakes with HTTP 503."""

        def set_refusals() -> None:
            self._ws_refusals += n

        self._call(set_refusals)

    def allow_websockets(self) -> None:
        """Accept websocket handshakes again (forget pending refusals)."""
        self._call(lambda: setattr(self, "_ws_refusals", 0))

    def expire_token(self, *, drop_websockets: bool = True) -> None:
        """Invalidate the access token: REST answers 403 TokenException, the ticker refuses 403.

        A new :meth:`kiteconnect.KiteConnect.generate_session` mints a fresh token.
        """
        self._call(lambda: setattr(self, "_token_valid", False))
        if drop_websockets:
            self.drop_websockets(clean=True)

    # -- order hooks ------------------------------------------------------------------------------

    def fill_order(
        self, order_id: str, *, price: float | None = None, quantity: int | None = None
    ) -> dict[str, Any]:
        """Fill an open order (all pending by default, at its limit price or the LTP).

        Sends the order update on the websockets; returns the order's new state.
        """
        return self._call(
            lambda: self._change(self.book.fill, order_id, self._now(), price, quantity)
        )

    def reject_order(self, order_id: str, reason: str = "RMS:Margin Exceeds") -> dict[str, Any]:
        """Reject an open order with ``reason``; sends the order update."""
        return self._call(lambda: self._change(self.book.reject, order_id, reason, self._now()))

    def next_day(self) -> None:
        """Move to the next trading day: empty order and trade books, CNC buys held (T1)."""
        self._call(self.book.next_day)

    def holdings(self) -> list[dict[str, Any]]:
        """A copy of the holdings."""
        return self._call(lambda: copy.deepcopy(self.book.holdings))

    def orders(self, *, tag: str | None = None) -> list[dict[str, Any]]:
        """A copy of the order book, optionally only orders with ``tag``."""
        return self._call(
            lambda: [
                copy.deepcopy(o)
                for o in self.book.orders.values()
                if tag is None or o.get("tag") == tag
            ]
        )

    # -- market hooks -----------------------------------------------------------------------------

    def list_instrument(self, row: dict[str, str]) -> None:
        """List a new instrument (a row of the dump's columns): the next dump has it."""
        self._call(lambda: self.market.add_row(row))

    def set_price(self, instrument_token: int, price: float) -> None:
        """Trade ``instrument_token`` at ``price`` now (next ticks and quotes show it)."""
        self._call(lambda: self.market.set_price(instrument_token, price, self._now_s()))

    def push(self, message: bytes | str | list[dict[str, Any]]) -> int:
        """Send one message to every websocket now: raw bytes, text, or tick dicts.

        Tick dicts are encoded with :func:`build_frame`. Returns how many clients got it.
        """
        payload = build_frame(message) if isinstance(message, list) else message
        return self._await(lambda: self._broadcast(payload))

    def subscriptions(self) -> dict[int, str]:
        """Union of every connection's subscribed tokens and their modes."""

        def union() -> dict[int, str]:
            merged: dict[int, str] = {}
            for conn in self._connections:
                merged.update(conn.modes)
            return merged

        return self._call(union)

    def connection_count(self) -> int:
        """How many websocket clients are connected."""
        return self._call(lambda: len(self._connections))

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every REST request received so far, oldest first (a copy)."""
        return self._call(lambda: list(self._requests))

    # -- internals: time, auth, envelopes ---------------------------------------------------------

    def _now(self) -> str:
        return now_ist(self.clock).strftime(KITE_TIME)

    def _now_s(self) -> int:
        return self.clock.now_ns() // NS_PER_SECOND

    def _token_ok(self, api_key: str | None, token: str | None) -> bool:
        return (
            self._token_valid
            and api_key is not None
            and token is not None
            and hmac.compare_digest(api_key, self.api_key)
            and hmac.compare_digest(token, self._access_token)
        )

    def _require_auth(self, request: web.Request) -> None:
        header = request.headers.get("Authorization", "")
        scheme, _, credentials = header.partition(" ")
        api_key, _, token = credentials.partition(":")
        if scheme != "token" or not self._token_ok(api_key, token):
            raise KiteApiError(403, "TokenException", "Incorrect `api_key` or `access_token`.")

    @staticmethod
    def _ok(data: Any) -> web.Response:
        return web.json_response({"status": "success", "data": data})

    @staticmethod
    def _error(status: int, error_type: str, message: str) -> web.Response:
        body = {"status": "error", "message": message, "data": None, "error_type": error_type}
        return web.json_response(body, status=status)

    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path == "/":
            return await handler(request)
        params: dict[str, list[str]] = {}
        for key, value in request.query.items():
            params.setdefault(key, []).append(value)
        if request.method in ("POST", "PUT"):
            for key, value in (await request.post()).items():
                params.setdefault(key, []).append(str(value))
        self._requests.append(RecordedRequest(request.method, request.path, params))
        if self._delays:
            await asyncio.sleep(self._delays.popleft())
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and not fault.process:
            return self._error(fault.status, fault.error_type, fault.message)
        try:
            response = await handler(request)
        except KiteApiError as exc:
            response = self._error(exc.status, exc.error_type, exc.message)
        if fault is not None:
            return self._error(fault.status, fault.error_type, fault.message)
        return response

    # -- REST handlers ----------------------------------------------------------------------------

    async def _session_token(self, request: web.Request) -> web.Response:
        form = await request.post()
        api_key = str(form.get("api_key", ""))
        request_token = str(form.get("request_token", ""))
        checksum = str(form.get("checksum", ""))
        if api_key != self.api_key or request_token != self.request_token:
            raise KiteApiError(403, "TokenException", "Token is invalid or has expired.")
        if not hmac.compare_digest(checksum, self.checksum(request_token)):
            raise KiteApiError(403, "TokenException", "Invalid `checksum`.")
        if not self._token_valid:
            self._token_generation += 1
            self._access_token = f"fakeaccesstoken{self._token_generation}"
            self._token_valid = True
        session = copy.deepcopy(self._session)
        session.update(
            api_key=self.api_key,
            access_token=self._access_token,
            public_token=f"public{self._token_generation}",
            user_id=self.user_id,
            login_time=self._now(),
        )
        return self._ok(session)

    async def _session_logout(self, request: web.Request) -> web.Response:
        if not self._token_ok(request.query.get("api_key"), request.query.get("access_token")):
            raise KiteApiError(403, "TokenException", "Incorrect `api_key` or `access_token`.")
        self._token_valid = False
        return self._ok(True)

    async def _profile_handler(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok({**self._profile, "user_id": self.user_id})

    async def _margins_handler(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        segment = request.match_info.get("segment")
        if segment is None:
            return self._ok(self._margins)
        if segment not in self._margins:
            raise input_error("Invalid segment.")
        return self._ok(self._margins[segment])

    async def _instruments(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        exchange = request.match_info.get("exchange")
        return web.Response(text=self.market.csv_dump(exchange), content_type="text/csv")

    async def _historical_handler(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        token = request.match_info["token"]
        if not token.isdigit() or int(token) not in self.market.by_token:
            raise input_error("Invalid `instrument_token`.")
        if not request.query.get("from") or not request.query.get("to"):
            raise input_error("Missing `from` or `to`.")
        return self._ok(self._historical_oi if request.query.get("oi") == "1" else self._historical)

    def _instruments_asked(self, request: web.Request) -> list[tuple[str, Any]]:
        self._require_auth(request)
        names = request.query.getall("i", [])
        if not names:
            raise input_error("No instruments given.")
        found = [(name, self.market.resolve(name)) for name in names]
        return [(name, state) for name, state in found if state is not None]

    async def _quote(self, request: web.Request) -> web.Response:
        now = self._now()
        return self._ok(
            {name: self.market.quote(s, now, now) for name, s in self._instruments_asked(request)}
        )

    async def _ltp(self, request: web.Request) -> web.Response:
        return self._ok(
            {
                name: {"instrument_token": s.token, "last_price": s.last_price}
                for name, s in self._instruments_asked(request)
            }
        )

    async def _ohlc(self, request: web.Request) -> web.Response:
        return self._ok(
            {
                name: {
                    "instrument_token": s.token,
                    "last_price": s.last_price,
                    "ohlc": {"open": s.open, "high": s.high, "low": s.low, "close": s.close},
                }
                for name, s in self._instruments_asked(request)
            }
        )

    async def _orders(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok(list(self.book.orders.values()))

    async def _place(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        form = {k: str(v) for k, v in (await request.post()).items()}
        order = self._change(self.book.place, request.match_info["variety"], form, self._now())
        if (
            self.auto_fill_market
            and order["order_type"] == "MARKET"
            and order["variety"] == "regular"
        ):
            self._change(self.book.fill, order["order_id"], self._now())
        if self._held_places and self._release is not None:
            self._held_places -= 1
            self.place_held.set()
            await self._release.wait()
        return self._ok({"order_id": order["order_id"]})

    async def _modify(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        form = {k: str(v) for k, v in (await request.post()).items()}
        info = request.match_info
        order = self._change(self.book.modify, info["variety"], info["order_id"], form, self._now())
        return self._ok({"order_id": order["order_id"]})

    async def _cancel(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        info = request.match_info
        order = self._change(self.book.cancel, info["variety"], info["order_id"], self._now())
        return self._ok({"order_id": order["order_id"]})

    async def _order_history(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        order_id = request.match_info["order_id"]
        self.book.get(order_id)
        return self._ok(self.book.history[order_id])

    async def _order_trades(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok(self.book.order_trades(request.match_info["order_id"]))

    async def _trades(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok(self.book.trades)

    async def _positions(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok(self.book.positions)

    async def _holdings(self, request: web.Request) -> web.Response:
        self._require_auth(request)
        return self._ok(self.book.holdings)

    # -- order updates ----------------------------------------------------------------------------

    def _change(self, method: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
        """Apply a book change and announce it on every websocket, as Kite does."""
        order = method(*args)
        self._announce(order)
        return order

    def _announce(self, order: dict[str, Any]) -> None:
        if self._outbox is None or not self._connections:
            return
        update = {
            **self._postback,
            **order,
            "user_id": self.user_id,
            "unfilled_quantity": order["pending_quantity"],
            # Kite's postback checksum: sha256(order_id + order_timestamp + api_secret).
            "checksum": hashlib.sha256(
                (order["order_id"] + (order["order_timestamp"] or "") + self.api_secret).encode()
            ).hexdigest(),
        }
        # One sender task keeps updates in order (OPEN before COMPLETE) on every socket.
        self._outbox.put_nowait(json.dumps({"type": "order", "id": "", "data": update}))

    async def _send_updates(self) -> None:
        assert self._outbox is not None
        while True:
            await self._broadcast(await self._outbox.get())

    # -- websocket ticker -------------------------------------------------------------------------

    async def _ws_handler(self, request: web.Request) -> web.StreamResponse:
        if self._ws_refusals:
            self._ws_refusals -= 1
            return web.Response(status=503, text="Service unavailable")
        if not self._token_ok(request.query.get("api_key"), request.query.get("access_token")):
            return web.Response(status=403, text="Invalid api_key or access_token")
        ws = web.WebSocketResponse(timeout=1.0, autoping=True)
        await ws.prepare(request)
        conn = _Connection(ws=ws, request=request)
        self._connections.add(conn)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    error = self._on_client_message(conn, msg.data)
                    if error:
                        await ws.send_str(json.dumps({"type": "error", "data": error}))
        finally:
            self._connections.discard(conn)
        return ws

    def _on_client_message(self, conn: _Connection, data: str | bytes) -> str | None:
        """Apply a subscribe/unsubscribe/mode message; returns an error text if invalid."""
        try:
            msg = json.loads(data)
            action, value = msg["a"], msg["v"]
        except (ValueError, TypeError, KeyError):
            return "Invalid message"
        if action in ("subscribe", "unsubscribe"):
            if not isinstance(value, list) or not all(isinstance(t, int) for t in value):
                return "Invalid tokens"
            for token in value:
                if action == "subscribe":
                    conn.modes.setdefault(token, "quote")
                else:
                    conn.modes.pop(token, None)
            return None
        if action == "mode":
            if (
                not isinstance(value, list)
                or len(value) != 2
                or value[0] not in MODES
                or not isinstance(value[1], list)
            ):
                return "Invalid mode"
            for token in value[1]:
                if token in conn.modes:
                    conn.modes[token] = value[0]
            return None
        return "Invalid action"

    async def _broadcast(self, payload: bytes | str) -> int:
        sent = 0
        for conn in list(self._connections):
            try:
                if isinstance(payload, str):
                    await conn.ws.send_str(payload)
                else:
                    await conn.ws.send_bytes(payload)
                sent += 1
            except (ConnectionError, RuntimeError):
                self._connections.discard(conn)
        return sent

    async def _close_connections(self, *, clean: bool) -> int:
        conns = list(self._connections)
        self._connections.clear()
        for conn in conns:
            if clean:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=1001, message=b"going away")
            elif conn.request.transport is not None:
                conn.request.transport.close()
        return len(conns)

    async def _stream(self) -> None:
        while True:
            interval = self.tick_interval
            await asyncio.sleep(interval if interval is not None else 0.05)
            if interval is None or not self._connections:
                continue
            now_s = self._now_s()
            tokens = {t for conn in self._connections for t in conn.modes}
            for token in tokens:
                self.market.step(token, now_s)
            for conn in list(self._connections):
                if not conn.modes:
                    continue
                frame = build_frame(
                    self.market.tick(token, mode, now_s) for token, mode in conn.modes.items()
                )
                try:
                    await conn.ws.send_bytes(frame)
                except (ConnectionError, RuntimeError):
                    self._connections.discard(conn)

    async def _heartbeats(self) -> None:
        while True:
            interval = self.heartbeat_interval
            await asyncio.sleep(interval if interval is not None else 0.5)
            if interval is not None:
                await self._broadcast(HEARTBEAT)
