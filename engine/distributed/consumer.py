"""A durable pull consumer that notices when it has gone silent and re-subscribes.

After a server restart a nats-py pull subscription can stop receiving while the
consumer still has messages pending (a known nats-py failure). The supervisor here
compares the last-message age with the consumer's pending count on the server and
re-creates the subscription when messages wait but none arrive.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress

import nats.errors
import structlog
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from engine.clock import Clock
from engine.distributed.connection import NatsConnection, backoff
from engine.distributed.settings import NatsSettings

log = structlog.get_logger("engine.distributed")

Handler = Callable[[list[Msg]], Awaitable[None]]


class SeenIds:
    """The last ``capacity`` message ids, for consumer-side deduplication."""

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._order: deque[str] = deque()
        self._ids: set[str] = set()

    def add(self, ident: str) -> bool:
        """Remember ``ident``; ``False`` if it was already seen."""
        if ident in self._ids:
            return False
        self._ids.add(ident)
        self._order.append(ident)
        if len(self._order) > self.capacity:
            self._ids.discard(self._order.popleft())
        return True


class SupervisedPullConsumer:
    """Fetches from one durable consumer forever, handing batches to ``handler``.

    ``ack`` selects explicit acknowledgement (each message of a handled batch is acked, so
    one lost in flight is sent again); without it the server forgets a message once sent,
    which suits ticks.
    """

    def __init__(
        self,
        connection: NatsConnection,
        settings: NatsSettings,
        clock: Clock,
        *,
        stream: str,
        durable: str,
        subject: str,
        handler: Handler,
        ack: bool = True,
        deliver: DeliverPolicy = DeliverPolicy.ALL,
        fetch_timeout_s: float = 1.0,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.clock = clock
        self.stream = stream
        self.durable = durable
        self.subject = subject
        self.handler = handler
        self.ack = ack
        self.deliver = deliver
        self.fetch_timeout_s = fetch_timeout_s
        self.received = 0
        self.recreated = 0
        """Subscriptions re-created because the consumer went silent or vanished."""
        self.errors = 0
        self._sub: nats.js.JetStreamContext.PullSubscription | None = None
        self._last_progress = clock.monotonic()

    @property
    def subscribed(self) -> bool:
        """Whether a subscription is bound to the durable consumer right now."""
        return self._sub is not None

    @property
    def last_message_age_s(self) -> float:
        """Seconds since a message last arrived (or since the subscription was made)."""
        return self.clock.monotonic() - self._last_progress

    def config(self) -> ConsumerConfig:
        """The consumer's configuration on the server."""
        return ConsumerConfig(
            durable_name=self.durable,
            deliver_policy=self.deliver,
            # Explicit, not "all": after a restart messages can reach a subscription that is
            # then dropped; acking a later message must not settle those (it would lose them).
            ack_policy=AckPolicy.EXPLICIT if self.ack else AckPolicy.NONE,
            ack_wait=max(1.0, self.settings.consumer_stall_s * 2),
            filter_subject=self.subject,
            max_ack_pending=-1 if not self.ack else 20_000,
        )

    async def run(self) -> None:
        """Fetch and handle until cancelled; errors back off and retry, never end the loop."""
        failures = 0
        this = asyncio.current_task()
        while True:
            if this is not None and this.cancelling():
                # Python 3.11's wait_for (inside nats-py's fetch) returns the result and drops
                # the cancellation when both land at once: honour the request here instead.
                raise asyncio.CancelledError
            try:
                await self.connection.wait_connected()
                if self._sub is None:
                    await self._subscribe()
                await self._pull_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.errors += 1
                log.warning("pull consumer error", durable=self.durable, error=type(exc).__name__)
                await self._drop_subscription()
                s = self.settings
                await asyncio.sleep(backoff(failures, s.reconnect_wait_s, s.reconnect_max_wait_s))

    async def _subscribe(self) -> None:
        js = self.connection.js
        assert js is not None
        self._sub = await js.pull_subscribe(
            self.subject, durable=self.durable, stream=self.stream, config=self.config()
        )
        self._last_progress = self.clock.monotonic()

    async def _pull_once(self) -> None:
        assert self._sub is not None
        try:
            msgs = await self._sub.fetch(self.settings.fetch_batch, timeout=self.fetch_timeout_s)
        except TimeoutError:
            # nats.errors.TimeoutError, or asyncio's own when the deadline is spent before
            # the fetch's second pull request (a loaded machine): no message in time either way.
            msgs = []
        if not msgs:
            await self.check_stall()
            return
        self._last_progress = self.clock.monotonic()
        self.received += len(msgs)
        await self.handler(msgs)
        if self.ack:
            for msg in msgs:
                await msg.ack()

    async def check_stall(self) -> bool:
        """Re-create the subscription if messages wait on the server but none arrive."""
        if self.last_message_age_s < self.settings.consumer_stall_s:
            return False
        js = self.connection.js
        assert js is not None
        try:
            info = await js.consumer_info(self.stream, self.durable)
            waiting = info.num_pending or info.num_ack_pending
        except nats.js.errors.NotFoundError:
            waiting = 1  # the consumer itself is gone (a memory-store restart): make it again
        if not waiting:
            self._last_progress = self.clock.monotonic()
            return False
        self.recreated += 1
        log.warning("pull consumer silent, re-subscribing", durable=self.durable)
        await self._drop_subscription()
        return True

    async def _drop_subscription(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            # A server round trip: bounded like the connection's flush, so a stop never hangs.
            with suppress(Exception):
                await asyncio.wait_for(sub.unsubscribe(), self.settings.connect_timeout_s)

    async def close(self) -> None:
        """Unsubscribe (the durable consumer stays on the server)."""
        await self._drop_subscription()
