"""A pull consumer that goes silent is noticed and re-subscribed (real NATS server)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from nats.aio.msg import Msg
from nats.protocol.command import unsub_cmd

from engine.clock import LiveClock
from engine.distributed.connection import NatsConnection
from engine.distributed.consumer import SeenIds, SupervisedPullConsumer
from engine.distributed.settings import NatsSettings
from engine.distributed.streams import ensure_streams, stream_name
from tests.test_distributed_bridge import eventually, nats_settings, nats_url

__all__ = ["nats_settings", "nats_url"]


@pytest.fixture
async def connection(nats_settings: NatsSettings) -> AsyncIterator[NatsConnection]:
    """A connection with this test's streams set up."""
    connection = NatsConnection(nats_settings)
    await connection.start()
    assert connection.js is not None
    await ensure_streams(connection.js, nats_settings)
    yield connection
    await connection.stop()


async def silence(consumer: SupervisedPullConsumer, connection: NatsConnection) -> None:
    """Make the server forget the subscription's inbox while the client still holds it.

    This is what a server restart can leave behind: fetches then expire with nothing,
    though messages wait. It reaches into nats-py on purpose; nothing public does this.
    """
    nc = connection.nc
    assert nc is not None and consumer._sub is not None
    await nc._send_command(unsub_cmd(consumer._sub._sub._id, 0))
    await nc.flush()


@contextlib.asynccontextmanager
async def running_consumer(
    connection: NatsConnection,
    settings: NatsSettings,
    durable: str,
    fetch_timeout_s: float,
    handler: Callable[[list[Msg]], Awaitable[None]] | None = None,
) -> AsyncIterator[tuple[SupervisedPullConsumer, asyncio.Task[None]]]:
    """A consumer of the audit stream, running and subscribed; cancelled and closed after."""
    consumer = SupervisedPullConsumer(
        connection,
        settings,
        LiveClock(),
        stream=stream_name(settings, "audit"),
        durable=durable,
        subject=f"{settings.subject_prefix}.audit.>",
        handler=handler or (lambda msgs: asyncio.sleep(0)),
        fetch_timeout_s=fetch_timeout_s,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await eventually(lambda: consumer.subscribed)
        yield consumer, task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await consumer.close()


async def test_silent_pull_consumer_is_detected_and_resubscribed(
    nats_settings: NatsSettings, connection: NatsConnection
) -> None:
    settings = nats_settings.model_copy(update={"consumer_stall_s": 0.5})
    got: list[bytes] = []

    async def handle(msgs: list[Msg]) -> None:
        got.extend(msg.data for msg in msgs)

    js = connection.js
    assert js is not None
    subject = f"{settings.subject_prefix}.audit.test"
    async with running_consumer(connection, settings, "watched", 0.2, handle) as (consumer, _):
        for n in range(3):
            await js.publish(subject, b"before %d" % n)
        await eventually(lambda: len(got) == 3)
        await silence(consumer, connection)
        for n in range(5):
            await js.publish(subject, b"after %d" % n)
        await eventually(lambda: consumer.recreated >= 1)
        await eventually(lambda: len(got) >= 8)
        assert got[:3] == [b"before 0", b"before 1", b"before 2"]
        assert set(got[3:]) == {b"after %d" % n for n in range(5)}


async def test_a_quiet_stream_is_not_mistaken_for_a_silent_consumer(
    nats_settings: NatsSettings, connection: NatsConnection
) -> None:
    settings = nats_settings.model_copy(update={"consumer_stall_s": 0.2})
    async with running_consumer(connection, settings, "quiet", 0.1) as (consumer, _):
        checks = 0
        while checks < 3:  # three stall checks, each past the stall age, with nothing pending
            await asyncio.sleep(settings.consumer_stall_s)
            assert not await consumer.check_stall()
            checks += 1
        assert consumer.recreated == 0


async def test_a_fetch_whose_deadline_runs_out_is_an_empty_pull_not_an_error(
    nats_settings: NatsSettings, connection: NatsConnection
) -> None:
    # nats-py raises asyncio's own TimeoutError (not nats.errors.TimeoutError) when the
    # fetch's deadline is spent before its second pull request, as on a loaded machine.
    async with running_consumer(connection, nats_settings, "hurried", 1e-9) as (consumer, _):
        await asyncio.sleep(0.3)
        assert consumer.errors == 0
        assert consumer.subscribed


async def test_a_cancellation_the_fetch_swallows_still_stops_the_consumer(
    nats_settings: NatsSettings, connection: NatsConnection
) -> None:
    async with running_consumer(connection, nats_settings, "stubborn", 0.05) as (consumer, task):
        fetching = asyncio.Event()
        swallowed: list[bool] = []

        async def swallowing_fetch(batch: int, timeout: float) -> list[Msg]:
            fetching.set()
            try:
                await asyncio.sleep(timeout)
            except asyncio.CancelledError:
                if swallowed:  # only once: a broken consumer fails this test, not hangs it
                    raise
                # Python 3.11's wait_for, when its inner future is done at the same moment.
                swallowed.append(True)
            return []

        assert consumer._sub is not None
        consumer._sub.fetch = swallowing_fetch  # type: ignore[method-assign]
        await fetching.wait()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert swallowed and task in done and task.cancelled()


async def test_messages_lost_in_flight_are_sent_again_after_later_ones_are_acked(
    nats_settings: NatsSettings, connection: NatsConnection
) -> None:
    # After a server restart, messages can reach a pull subscription that is then dropped
    # (re-subscribing a silent consumer). Acking later messages must not settle those.
    settings = nats_settings.model_copy(update={"consumer_stall_s": 0.2})  # ack wait 1 s
    js = connection.js
    assert js is not None
    subject = f"{settings.subject_prefix}.audit.test"
    for n in range(10):
        await js.publish(subject, b"%d" % n)
    probe = SupervisedPullConsumer(
        connection,
        settings,
        LiveClock(),
        stream=stream_name(settings, "audit"),
        durable="lossy",
        subject=f"{settings.subject_prefix}.audit.>",
        handler=lambda msgs: asyncio.sleep(0),
    )
    doomed = await js.pull_subscribe(
        probe.subject, durable="lossy", stream=probe.stream, config=probe.config()
    )
    lost = await doomed.fetch(3, timeout=2)
    await doomed.unsubscribe()
    assert [m.data for m in lost] == [b"0", b"1", b"2"]

    got: list[bytes] = []

    async def handle(msgs: list[Msg]) -> None:
        got.extend(m.data for m in msgs)

    async with running_consumer(connection, settings, "lossy", 0.2, handle):
        await eventually(lambda: {b"%d" % n for n in range(10)} <= set(got), timeout=10)


def test_seen_ids_forget_the_oldest_beyond_capacity() -> None:
    seen = SeenIds(capacity=2)
    assert seen.add("a") and seen.add("b")
    assert not seen.add("a")
    assert seen.add("c")
    assert seen.add("a"), "a was forgotten when c came"
