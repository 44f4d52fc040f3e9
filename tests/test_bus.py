import asyncio

from engine.bus import MessageBus
from engine.model import Tick


def tick(token: int, ltp: float) -> Tick:
    return Tick(token, ltp, 1, ltp, 10, 0, 0, ltp, ltp, ltp, ltp, 0, 0)


async def test_tick_queue_keeps_latest_per_instrument_and_counts_drops() -> None:
    bus = MessageBus()
    queue = bus.subscribe_ticks("strategy")
    bus.publish_ticks([tick(1, 100.0), tick(2, 50.0)])
    bus.publish_ticks([tick(1, 101.0)])
    bus.publish_ticks([tick(1, 102.0), tick(3, 7.0)])
    batch = await queue.get_batch()
    assert {t.instrument_token: t.ltp for t in batch} == {1: 102.0, 2: 50.0, 3: 7.0}
    assert queue.drops == 2
    assert queue.delivered == 3
    assert queue.depth == 0


async def test_consumer_that_keeps_up_loses_nothing() -> None:
    bus = MessageBus()
    queue = bus.subscribe_ticks("writer")
    for i in range(100):
        bus.publish_ticks([tick(1, 100.0 + i), tick(2, 50.0 + i)])
        batch = await queue.get_batch()
        assert len(batch) == 2
    assert queue.drops == 0


def test_slow_tick_consumer_never_blocks_the_publisher() -> None:
    bus = MessageBus()
    slow = bus.subscribe_ticks("slow")
    for i in range(10_000):
        bus.publish_ticks([tick(i % 50, float(i))])
    assert slow.depth == 50
    assert slow.drops == 10_000 - 50


def test_hot_path_runs_in_order_and_can_stop_a_batch() -> None:
    bus = MessageBus()
    seen: list[str] = []
    queue = bus.subscribe_ticks("after")

    def first(ticks):
        seen.append("first")
        return [t for t in ticks if t.ltp > 0]

    def second(ticks):
        seen.append("second")
        return ticks

    bus.add_hot_path(first)
    bus.add_hot_path(second)
    bus.publish_ticks([tick(1, -1.0)])
    assert seen == ["first"]
    assert queue.depth == 0
    bus.publish_ticks([tick(1, 5.0)])
    assert seen == ["first", "first", "second"]
    assert queue.depth == 1


async def test_events_are_never_dropped_and_arrive_in_order() -> None:
    bus = MessageBus(event_high_water=10)
    orders = bus.subscribe("blotter", ["orders."])
    for i in range(1000):
        bus.publish(f"orders.s{i % 3}", i)
    assert orders.depth == 1000
    assert orders.over_high_water
    received = [(await orders.get())[1] for _ in range(1000)]
    assert received == list(range(1000))
    assert not orders.over_high_water


def test_events_route_by_prefix_once_per_subscriber() -> None:
    bus = MessageBus()
    alerts = bus.subscribe("alerts-screen", ["alerts."])
    both = bus.subscribe("audit", ["alerts.", "alerts.risk"])
    bus.publish("alerts.risk", "limit")
    bus.publish("orders.manual", "order")
    assert alerts.get_nowait() == ("alerts.risk", "limit")
    assert alerts.get_nowait() is None
    assert both.depth == 1


async def test_get_waits_for_a_later_event() -> None:
    bus = MessageBus()
    queue = bus.subscribe("c", ["fills."])
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    bus.publish("fills.manual", "fill")
    assert await waiter == ("fills.manual", "fill")
