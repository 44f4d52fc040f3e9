"""The in-process message bus.

Two kinds of traffic, two policies:

* **Ticks** go first through the synchronous hot path (quality → cache), then
  fan out to asynchronous consumers, each with a :class:`TickQueue` that keeps
  only the latest tick per instrument. A slow consumer never blocks the feed;
  ticks it skipped are counted as drops.
* **Events** (orders, fills, alerts, …) are delivered to every subscriber whose
  topic prefix matches, through an :class:`EventQueue` that never drops. A
  consumer that falls behind past a high-water mark is reported degraded.

Topics are dotted: ``orders.manual``, ``alerts.risk``, ``fills.sma``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from engine.model import Tick

TickHandler = Callable[[Sequence[Tick]], Sequence[Tick]]
"""A hot-path stage: takes a batch, returns what passes on (possibly the same batch)."""


class TickQueue:
    """A conflating queue: latest tick per instrument, drops counted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.drops = 0
        self.delivered = 0
        self._pending: dict[int, Tick] = {}
        self._ready = asyncio.Event()

    def put_many(self, ticks: Sequence[Tick]) -> None:
        """Enqueue a batch; never blocks. Ticks overwritten before delivery count as drops."""
        pending = self._pending
        before = len(pending)
        pending.update({tick.instrument_token: tick for tick in ticks})
        self.drops += len(ticks) - (len(pending) - before)
        self._ready.set()

    async def get_batch(self) -> list[Tick]:
        """Wait for ticks and take everything pending (one tick per instrument)."""
        await self._ready.wait()
        self._ready.clear()
        batch = list(self._pending.values())
        self._pending = {}
        self.delivered += len(batch)
        return batch

    @property
    def depth(self) -> int:
        """Instruments with a tick waiting."""
        return len(self._pending)


class EventQueue:
    """A never-dropping queue of events for one consumer."""

    def __init__(self, name: str, high_water: int) -> None:
        self.name = name
        self.high_water = high_water
        self.delivered = 0
        self.peak = 0
        self._items: deque[tuple[str, Any]] = deque()
        self._ready = asyncio.Event()

    def put(self, topic: str, event: Any) -> None:
        """Enqueue without blocking; the queue grows rather than lose an event."""
        self._items.append((topic, event))
        self.peak = max(self.peak, len(self._items))
        self._ready.set()

    async def get(self) -> tuple[str, Any]:
        """Wait for and return the next ``(topic, event)``."""
        while not self._items:
            self._ready.clear()
            await self._ready.wait()
        self.delivered += 1
        return self._items.popleft()

    def get_nowait(self) -> tuple[str, Any] | None:
        """The next ``(topic, event)`` or ``None`` if empty."""
        if not self._items:
            return None
        self.delivered += 1
        return self._items.popleft()

    @property
    def depth(self) -> int:
        """Events waiting."""
        return len(self._items)

    @property
    def over_high_water(self) -> bool:
        """Whether this consumer has fallen behind."""
        return len(self._items) > self.high_water


class MessageBus:
    """Routes ticks and events inside one engine. Single-threaded: call from the engine loop."""

    def __init__(self, event_high_water: int = 10_000) -> None:
        self._event_high_water = event_high_water
        self._hot_path: list[TickHandler] = []
        self._tick_queues: list[TickQueue] = []
        self._subscriptions: list[tuple[str, EventQueue]] = []
        self.ticks_published = 0

    def add_hot_path(self, handler: TickHandler) -> None:
        """Append a synchronous stage run on every tick batch before fan-out."""
        self._hot_path.append(handler)

    def subscribe_ticks(self, name: str) -> TickQueue:
        """A new conflating tick queue for an asynchronous consumer."""
        queue = TickQueue(name)
        self._tick_queues.append(queue)
        return queue

    def unsubscribe_ticks(self, queue: TickQueue) -> None:
        """Stop delivering ticks to ``queue``."""
        self._tick_queues.remove(queue)

    def publish_ticks(self, ticks: Sequence[Tick]) -> None:
        """Run the hot path on a batch, then hand what passed to every tick consumer."""
        self.ticks_published += len(ticks)
        for handler in self._hot_path:
            ticks = handler(ticks)
            if not ticks:
                return
        for queue in self._tick_queues:
            queue.put_many(ticks)

    def subscribe(self, name: str, prefixes: Iterable[str]) -> EventQueue:
        """A never-dropping queue receiving events whose topic starts with any prefix."""
        queue = EventQueue(name, self._event_high_water)
        for prefix in prefixes:
            self._subscriptions.append((prefix, queue))
        return queue

    def unsubscribe(self, queue: EventQueue) -> None:
        """Stop delivering events to ``queue``."""
        self._subscriptions = [(p, q) for p, q in self._subscriptions if q is not queue]

    def publish(self, topic: str, event: Any) -> None:
        """Deliver ``event`` to every matching subscriber, once per subscriber."""
        seen: set[int] = set()
        for prefix, queue in self._subscriptions:
            if topic.startswith(prefix) and id(queue) not in seen:
                seen.add(id(queue))
                queue.put(topic, event)

    def tick_queues(self) -> list[TickQueue]:
        """Current tick consumers (for metrics and health)."""
        return list(self._tick_queues)

    def event_queues(self) -> list[EventQueue]:
        """Current event consumers, each once (for metrics and health)."""
        unique: dict[int, EventQueue] = {}
        for _, queue in self._subscriptions:
            unique[id(queue)] = queue
        return list(unique.values())
