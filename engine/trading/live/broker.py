"""The Kite broker: the live counterpart of the paper broker, over Kite Connect REST.

It takes orders already recorded in the ledger and answers only with order events
(through ``emit``), like :class:`~engine.trading.paper.PaperBroker`. Every REST call runs
in a task, never blocking the loop. The client order id travels as Kite's ``tag``, so an
unclear outcome (timeout, 5xx, connection reset) is settled by finding the order by tag
in ``GET /orders``; the order stays IN FLIGHT meanwhile and is never sent twice.
Kite's order updates (websocket postbacks, fetched after each call, or polled from the
order book while the websocket is down) go through one queue, so they apply in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import structlog

from engine.alerts import AlertSource, Severity
from engine.clock import Clock
from engine.kite.ratelimit import RateLimiter
from engine.kite.rest import KiteApiError, KiteRest
from engine.orders.commands import ModifyOrder
from engine.orders.events import (
    OrderCancelRejected,
    OrderEvent,
    OrderModified,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingModify,
    OrderRejected,
    OrderSubmitted,
)
from engine.orders.model import Order, OrderStatus
from engine.trading.live.mapping import (
    Outcome,
    classify,
    is_session_error,
    modify_form,
    place_form,
    refusal_reason,
)
from engine.trading.live.poll import OrderBookPoll
from engine.trading.live.sync import KiteOrderSync

log = structlog.get_logger("engine.trading.live")

Emit = Callable[[OrderEvent], None]
Lookup = Callable[[str], Order | None]
RaiseAlert = Callable[[Severity, AlertSource, str], Any]
_CANCELLABLE = frozenset({OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING})


class KiteBroker(KiteOrderSync):
    """Live broker adapter: place, modify and cancel on Kite; Kite's answers become events.

    ``lookup`` finds the service's current order by client order id. ``reconcile_delays``
    are the waits (seconds) between searches by tag after an unclear outcome. Set
    :attr:`socket_up` before :meth:`open` to poll the order book while the ticker
    websocket that carries order updates is down (every ``order_poll_interval_s``).
    """

    def __init__(
        self,
        rest: KiteRest,
        clock: Clock,
        emit: Emit,
        new_id: Callable[[], str],
        lookup: Lookup,
        raise_alert: RaiseAlert,
        *,
        limiter: RateLimiter | None = None,
        max_retries: int = 5,
        reconcile_delays: Sequence[float] = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0),
        order_poll_interval_s: float = 2.0,
    ) -> None:
        self.rest = rest
        self.clock = clock
        self._emit = emit
        self._new_id = new_id
        self._lookup = lookup
        self._alert = raise_alert
        self.limiter = limiter or RateLimiter(clock, 10)
        self.max_retries = max_retries
        self.reconcile_delays = tuple(reconcile_delays)
        self.working: dict[str, Order] = {}
        """Orders sent and not closed (the service's blocking orders)."""
        self.by_token: dict[int, Any] = {}
        """Always empty: Kite, not the tick path, works live orders."""
        self.has_due = False
        self.reconcile_problem: str | None = "live reconciliation has not run"
        """None once startup reconciliation with Kite passed; else why it did not."""
        self._tasks: set[asyncio.Task[None]] = set()
        self._updates: asyncio.Queue[tuple[dict[str, Any], list[dict[str, Any]] | None]] = (
            asyncio.Queue()
        )
        self._worker: asyncio.Task[None] | None = None
        self._trade_retries: dict[str, int] = {}
        self.socket_up: Callable[[], bool] | None = None
        """Whether the websocket carrying order updates is up (None: no such socket to watch)."""
        self.order_poll_interval_s = order_poll_interval_s
        self.order_poll: OrderBookPoll | None = None
        self._poller: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def open(self) -> None:
        """Open the REST session and start applying order updates."""
        await self.rest.__aenter__()
        loop = asyncio.get_running_loop()
        self._worker = loop.create_task(self._apply_updates())
        if self.socket_up is not None:
            self.order_poll = OrderBookPoll(
                self.clock,
                self.socket_up,
                lambda: self.call("GET", "/orders"),
                lambda: bool(self.working),
                self.working.__contains__,
                lambda row: self._updates.put_nowait((row, None)),
                self.order_poll_interval_s,
            )
            self._poller = loop.create_task(self.order_poll.run())

    async def close(self) -> None:
        """Stop every pending call and close the REST session."""
        loops = [task for task in (self._worker, self._poller) if task is not None]
        tasks = [*self._tasks, *loops]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.rest.__aexit__()

    async def idle(self) -> None:
        """Wait until no call is pending and every queued update is applied (tests)."""
        while self._tasks or not self._updates.empty():
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
            await self._updates.join()

    # -- the broker interface the trading service drives ------------------------------

    def submit(self, order: Order) -> None:
        """Send a recorded order (IN FLIGHT until Kite's answer)."""
        self._event(OrderSubmitted, order.client_order_id)
        self._spawn(self._place(order))

    def modify(self, order: Order, cmd: ModifyOrder) -> None:
        """Change a resting order (already validated by the service)."""
        self._event(OrderPendingModify, order.client_order_id)
        self._spawn(self._modify(order, cmd))

    def cancel(self, order: Order, reason: str = "cancelled by user") -> None:
        """Ask Kite to cancel a resting order; CANCELLED comes with Kite's update."""
        self._event(OrderPendingCancel, order.client_order_id)
        self._spawn(self._cancel(order, reason))

    def cancel_now(self, coid: str, reason: str) -> None:
        """Cancel (square-off): the same round trip as :meth:`cancel` on Kite."""
        order = self._lookup(coid)
        if order is not None and order.status in _CANCELLABLE:
            self.cancel(order, reason)

    def run_due(self) -> None:
        """Nothing is timed locally in live mode."""

    def on_tick(self, tick: object) -> None:
        """Ticks do not fill live orders."""

    def on_order_update(self, data: dict[str, Any]) -> None:
        """Kite's websocket order update (``KiteFeed.on_order_update``)."""
        if isinstance(data, dict) and self._lookup(str(data.get("tag") or "")) is not None:
            self._updates.put_nowait((data, None))

    # -- calls ------------------------------------------------------------------------

    async def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        """One REST call through the rate limiter; HTTP 429 is retried, others raise."""
        for attempt in range(self.max_retries + 1):
            await self.limiter.acquire()
            try:
                return await self.rest.request(method, path, form=form)
            except KiteApiError as exc:
                if classify(exc) is not Outcome.RETRY or attempt == self.max_retries:
                    raise
                await self.clock.sleep(self.limiter.per_s / self.limiter.rate * (attempt + 1))
        raise AssertionError("unreachable")

    async def _place(self, order: Order) -> None:
        coid = order.client_order_id
        try:
            data = await self.call("POST", f"/orders/{order.variety.value}", place_form(order))
        except KiteApiError as exc:
            if classify(exc) is Outcome.UNCLEAR:
                self._alert(
                    Severity.WARNING,
                    AlertSource.SYSTEM,
                    f"order {coid}: unclear answer from Kite ({exc.message}); "
                    "finding it by tag, not sending again",
                )
                await self.find_by_tag(coid)
                return
            self._refused(exc)
            self._event(OrderRejected, coid, reason=refusal_reason(exc))
            return
        await self.refresh(str(data["order_id"]))

    async def _modify(self, order: Order, cmd: ModifyOrder) -> None:
        coid = order.client_order_id
        changes = {
            k: v
            for k, v in (
                ("quantity", cmd.quantity),
                ("price", cmd.price),
                ("trigger_price", cmd.trigger_price),
                ("order_type", cmd.order_type),
                ("validity", cmd.validity),
                ("market_protection", cmd.market_protection),
            )
            if v is not None
        }
        path = f"/orders/{order.variety.value}/{order.broker_order_id}"
        try:
            await self.call("PUT", path, modify_form(changes))
        except KiteApiError as exc:
            if classify(exc) is Outcome.UNCLEAR:
                await self.refresh(str(order.broker_order_id), settle_modify=True)
                return
            self._refused(exc)
            self._event(OrderModifyRejected, coid, reason=refusal_reason(exc))
            return
        current = self._lookup(coid)
        if current is not None and current.status is OrderStatus.MODIFY_PENDING:
            self._event(OrderModified, coid, **changes)
        await self.refresh(str(order.broker_order_id))

    async def _cancel(self, order: Order, reason: str) -> None:
        path = f"/orders/{order.variety.value}/{order.broker_order_id}"
        try:
            await self.call("DELETE", path)
        except KiteApiError as exc:
            if classify(exc) is not Outcome.UNCLEAR:
                self._refused(exc)
                self._event(OrderCancelRejected, order.client_order_id, reason=refusal_reason(exc))
                return
        await self.refresh(str(order.broker_order_id), cancel_reason=reason)

    async def refresh(
        self, broker_order_id: str, *, settle_modify: bool = False, cancel_reason: str = ""
    ) -> None:
        """Fetch the order's latest state from Kite and queue it as an update."""
        try:
            history = await self.call("GET", f"/orders/{broker_order_id}")
        except KiteApiError as exc:
            log.warning("order refresh failed", order_id=broker_order_id, error=exc.message)
            return
        if isinstance(history, list) and history:
            latest = dict(history[-1])
            if cancel_reason and latest.get("status") == "CANCELLED":
                latest.setdefault("status_message", None)
                latest["status_message"] = latest["status_message"] or cancel_reason
            if settle_modify:
                latest["_settle_modify"] = True
            self._updates.put_nowait((latest, None))

    async def _refresh_later(self, broker_order_id: str, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        await self.refresh(broker_order_id)

    async def find_by_tag(self, coid: str) -> bool:
        """Search Kite's order book for ``coid`` after an unclear place; never re-places."""
        for delay in self.reconcile_delays:
            await self.clock.sleep(delay)
            try:
                orders = await self.call("GET", "/orders")
            except KiteApiError as exc:
                log.warning("reconciliation by tag failed", coid=coid, error=exc.message)
                continue
            found = [o for o in orders or () if o.get("tag") == coid]
            for kite_order in found:
                self._updates.put_nowait((kite_order, None))
            if found:
                return True
        self._alert(
            Severity.CRITICAL,
            AlertSource.SYSTEM,
            f"order {coid}: not found at Kite after an unclear place; left in flight, "
            "check the Kite order book before trading it",
        )
        return False

    # -- helpers ----------------------------------------------------------------------

    def _refused(self, exc: KiteApiError) -> None:
        if is_session_error(exc):
            self._alert(
                Severity.CRITICAL,
                AlertSource.SYSTEM,
                f"live order refused: {exc.message}; log in again with `alphapt-tui login`",
            )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _event(self, kind: type, coid: str, **fields: Any) -> None:
        self._emit(
            kind(event_id=self._new_id(), ts_ns=self.clock.now_ns(), client_order_id=coid, **fields)
        )
        self._track(coid)

    def _track(self, coid: str) -> None:
        order = self._lookup(coid)
        if order is None or order.is_closed:
            self.working.pop(coid, None)
        else:
            self.working[coid] = order


def build_kite_broker(
    settings: Any,
    clock: Clock,
    emit: Emit,
    new_id: Callable[[], str],
    lookup: Lookup,
    raise_alert: RaiseAlert,
) -> KiteBroker:
    """A :class:`KiteBroker` from the desk settings (``kite`` section, stored login token)."""
    from engine.kite.token_store import token_provider

    kite = settings.kite
    if not kite.api_key:
        raise ValueError("live mode needs kite.api_key [ALPHAPT_KITE__API_KEY]")
    rest = KiteRest(
        kite.root,
        kite.api_key,
        token_provider(kite.resolved_token_file(settings.data_dir), clock),
        timeout_s=kite.request_timeout_s,
    )
    return KiteBroker(
        rest,
        clock,
        emit,
        new_id,
        lookup,
        raise_alert,
        order_poll_interval_s=kite.order_poll_interval_s,
    )
