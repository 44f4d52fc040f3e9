"""Order updates missed while the ticker websocket is down come from polling Kite's order book.

A live trading service and a real KiteFeed talk to the fake Kite over real sockets,
wired as the kernel wires them: the feed's order updates go to the broker, and the
broker polls ``GET /orders`` while the feed is not live.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.bus import MessageBus
from engine.clock import LiveClock, TestClock
from engine.feeds.kite_ticker import KiteFeed
from engine.kite.rest import KiteApiError
from engine.orders import OrderStatus
from engine.trading.live.poll import OrderBookPoll
from tests.kite_fake.server import FakeKite
from tests.test_kite_live import LiveDesk, eventually, limit, new_desk
from tests.test_kite_ticker import kite_settings

POLL_S = 0.05


@dataclass
class Session:
    kite: FakeKite
    desk: LiveDesk
    feed: KiteFeed

    def polls(self) -> OrderBookPoll:
        poll = self.desk.broker.order_poll
        assert poll is not None
        return poll

    def order_fetches(self) -> int:
        return sum(1 for r in self.kite.requests if r.method == "GET" and r.path == "/orders")

    async def socket_down(self) -> None:
        await asyncio.to_thread(self.kite.refuse_websockets, 1_000_000)
        await asyncio.to_thread(self.kite.drop_websockets)
        await eventually(lambda: self.feed.state != "live" and self.polls().polling)

    async def socket_back(self) -> None:
        await asyncio.to_thread(self.kite.allow_websockets)
        await eventually(lambda: self.feed.state == "live")

    async def open_order(self, quantity: int = 5) -> str:
        coid = (await self.desk.service.submit(limit(quantity))).client_order_id
        await eventually(lambda: self.desk.order(coid).status is OrderStatus.OPEN)
        return coid


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Session]:
    async with FakeKite(seed_orders=False, tick_interval=None, heartbeat_interval=0.1) as kite:
        desk = new_desk(tmp_path, kite)
        broker = desk.broker
        feed = KiteFeed(
            kite_settings(kite),
            LiveClock(),
            MessageBus(),
            lambda *alert: None,
            lambda: kite.access_token,
            on_order_update=broker.on_order_update,
            rng=random.Random(3),
        )
        broker.socket_up = lambda: feed.state == "live"
        broker.order_poll_interval_s = POLL_S
        await desk.start(pump=False)
        running = asyncio.create_task(feed.run())
        try:
            await eventually(lambda: feed.state == "live")
            yield Session(kite, desk, feed)
        finally:
            await feed.stop()
            await asyncio.wait_for(running, 10)
            await desk.stop()


async def test_no_polling_while_the_socket_is_up(session: Session) -> None:
    await session.open_order()
    checks = session.polls().checks
    await eventually(lambda: session.polls().checks >= checks + 5)
    assert session.polls().polls == 0 and not session.polls().polling


async def test_a_fill_missed_while_the_socket_is_down_is_recovered_once(
    session: Session,
) -> None:
    desk, kite = session.desk, session.kite
    coid = await session.open_order()
    bid = desk.order(coid).broker_order_id
    await session.socket_down()
    await asyncio.to_thread(kite.fill_order, bid, price=1499.0, quantity=2)  # nobody hears it
    await eventually(lambda: desk.order(coid).filled_quantity == 2)
    assert session.polls().rows_applied >= 1  # recovered by the poll: nothing else asked Kite
    polls = session.polls().polls
    await eventually(lambda: session.polls().polls >= polls + 2)  # the partial fill, seen again
    assert len(desk.service.fills()) == 1
    await asyncio.to_thread(kite.fill_order, bid, price=1498.0)
    await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
    await desk.broker.idle()
    fills = [(f.quantity, f.price) for f in desk.service.fills()]
    assert fills == [(2, 1499.0), (3, 1498.0)]
    assert desk.service.positions()[0].net_quantity == 5
    assert coid not in desk.broker.working


async def test_a_cancel_at_kite_while_the_socket_is_down_is_recovered(session: Session) -> None:
    desk, kite = session.desk, session.kite
    coid = await session.open_order()
    await session.socket_down()
    (row,) = kite.orders(tag=coid)
    await asyncio.to_thread(kite.reject_order, row["order_id"], "RMS:Blocked")
    await eventually(lambda: desk.order(coid).status is OrderStatus.REJECTED)
    assert desk.order(coid).status_message == "RMS:Blocked"


async def test_polling_stops_when_the_socket_is_back_and_a_late_duplicate_changes_nothing(
    session: Session,
) -> None:
    desk, kite = session.desk, session.kite
    coid = await session.open_order()
    await session.socket_down()
    await asyncio.to_thread(kite.fill_order, desk.order(coid).broker_order_id, price=1500.0)
    await eventually(lambda: desk.order(coid).status is OrderStatus.COMPLETE)
    await session.socket_back()
    await eventually(lambda: not session.polls().polling)
    fetches, checks = session.order_fetches(), session.polls().checks
    await eventually(lambda: session.polls().checks >= checks + 5)
    assert session.order_fetches() == fetches
    # Kite's update for the fill, heard late on the websocket: already applied, so nothing moves.
    await desk.broker.idle()
    version = desk.service.orders_version
    heard = session.feed.stats.order_updates
    (row,) = kite.orders(tag=coid)
    await asyncio.to_thread(kite.push, json.dumps({"type": "order", "data": row}))
    await eventually(lambda: session.feed.stats.order_updates == heard + 1)
    await desk.broker.idle()
    assert desk.service.orders_version == version
    assert len(desk.service.fills()) == 1


# -- the loop's rule, on a test clock (unit) ---------------------------------------------------


class Book:
    """A scripted order book: each fetch returns ``rows`` or raises the next queued error."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = [{"tag": "MINE1"}, {"tag": "OTHER"}, "junk"]  # type: ignore[list-item]
        self.errors: list[KiteApiError] = []
        self.fetches = 0
        self.applied: list[dict[str, Any]] = []
        self.up = True

    async def fetch(self) -> Any:
        self.fetches += 1
        if self.errors:
            raise self.errors.pop()
        return self.rows


async def test_poll_rule_down_polls_back_polls_once_more_then_stops() -> None:
    book = Book()
    poll = OrderBookPoll(
        TestClock(), lambda: book.up, book.fetch, lambda: True, {"MINE1"}.__contains__,
        book.applied.append,
    )  # fmt: skip
    await poll.check()
    assert book.fetches == 0
    book.up = False
    await poll.check()
    await poll.check()
    assert book.fetches == 2 and book.applied == [{"tag": "MINE1"}] * 2 and poll.polling
    book.up = True
    book.errors.append(KiteApiError(503, "NetworkException", "down"))
    await poll.check()  # the catch-up poll fails: try again next turn
    await poll.check()
    await poll.check()
    assert book.fetches == 4 and poll.polls == 3 and not poll.polling


async def test_poll_rule_no_working_order_means_no_fetch() -> None:
    book = Book()
    book.up = False
    poll = OrderBookPoll(
        TestClock(), lambda: book.up, book.fetch, lambda: False, lambda tag: True,
        book.applied.append,
    )  # fmt: skip
    await poll.check()
    await poll.check()
    assert book.fetches == 0 and poll.polling and poll.checks == 2
