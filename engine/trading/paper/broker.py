"""The paper broker: works orders against the live tick stream and reports order events.

It receives orders already recorded in the ledger and answers only with events
(through ``emit``), exactly as a live broker adapter would; the trading service
applies them. Broker round trips take ``latency_ms`` of engine time; the
matching itself runs on the bus hot path, O(1) per tick of an instrument with
no working order. Fill rules are in :mod:`engine.trading.paper.matching`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

from msgspec.structs import replace

from engine.cache import MarketCache
from engine.clock import NS_PER_SECOND, Clock
from engine.model import Tick
from engine.orders.commands import ModifyOrder
from engine.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderEvent,
    OrderFilled,
    OrderModified,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingModify,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    fill_event_id,
)
from engine.orders.model import MARKET_PROTECTION_AUTO, Fill, Order, OrderStatus, Validity, Variety
from engine.trading.paper.checks import broker_refusal
from engine.trading.paper.matching import (
    DepthUse,
    Working,
    protection_price,
    stop_reached,
    traded_through,
    walk_depth,
)
from engine.trading.paper.session import next_open_ns
from engine.trading.settings import PaperSettings

Emit = Callable[[OrderEvent], None]
Check = Callable[[Order], str | None]


class PaperBroker:
    """Simulated broker and exchange for paper trading.

    ``new_id`` makes event ids unique across restarts; ``check`` is the account
    check (funds, holdings, MIS cut-off) run when an order or a modification
    reaches the broker.
    """

    def __init__(
        self,
        paper: PaperSettings,
        clock: Clock,
        cache: MarketCache,
        emit: Emit,
        new_id: Callable[[], str],
        check: Check,
    ) -> None:
        self.paper = paper
        self.clock = clock
        self.cache = cache
        self._emit = emit
        self._new_id = new_id
        self._check = check
        self.working: dict[str, Working] = {}
        self.by_token: dict[int, dict[str, Working]] = {}
        self._orders: dict[str, Order] = {}
        self._depth: dict[int, DepthUse] = {}
        self._timers: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._latency_ns = int(paper.latency_ms * 1_000_000)

    # -- requests from the service ----------------------------------------------------

    def submit(self, order: Order) -> None:
        """Send a recorded order; it is accepted or rejected after the latency."""
        bid = broker_order_id(order.client_order_id)
        self._event(OrderSubmitted, order.client_order_id, broker_order_id=bid)
        self._later(lambda: self.arrive(order))

    def modify(self, order: Order, cmd: ModifyOrder) -> None:
        """Change a resting order (already validated by the service)."""
        self._event(OrderPendingModify, order.client_order_id)
        self._later(lambda: self._apply_modify(order, cmd))

    def cancel(self, order: Order, reason: str = "cancelled by user") -> None:
        """Cancel a working order after the latency."""
        self._event(OrderPendingCancel, order.client_order_id)
        self._later(lambda: self._apply_cancel(order.client_order_id, reason))

    def resume(self, order: Order, fills_so_far: int) -> None:
        """Work an order that was resting before a restart, as it rested."""
        w = self._working_of(order, order.broker_order_id or broker_order_id(order.client_order_id))
        w.triggered = order.status is OrderStatus.OPEN
        w.rested = True
        w.trade_seq = fills_so_far
        if order.variety is Variety.AMO:
            w.active_from_ns = next_open_ns(order.created_ns, self.paper.market_open)
        self._add(w, order)

    # -- hot path ---------------------------------------------------------------------

    def on_tick(self, tick: Tick) -> None:
        """Match every order working on this tick's instrument."""
        book = self.by_token.get(tick.instrument_token)
        if book:
            for w in list(book.values()):
                self._try(w, tick, fresh=False)

    @property
    def has_due(self) -> bool:
        """Whether any broker round trip is waiting for its latency."""
        return bool(self._timers)

    def run_due(self) -> None:
        """Carry out broker round trips whose latency has elapsed."""
        now = self.clock.now_ns()
        while self._timers and self._timers[0][0] <= now:
            _, _, action = heapq.heappop(self._timers)
            action()

    # -- internals --------------------------------------------------------------------

    def _later(self, action: Callable[[], None]) -> None:
        if self._latency_ns == 0:
            action()
            return
        heapq.heappush(
            self._timers, (self.clock.now_ns() + self._latency_ns, next(self._seq), action)
        )
        asyncio.get_running_loop().create_task(self._wake(self._latency_ns / NS_PER_SECOND))

    async def _wake(self, delay_s: float) -> None:
        await self.clock.sleep(delay_s)
        self.run_due()

    def _event(self, kind: type, coid: str, **fields: object) -> None:
        self._emit(
            kind(event_id=self._new_id(), ts_ns=self.clock.now_ns(), client_order_id=coid, **fields)
        )

    def arrive(self, order: Order) -> None:
        """The order reaches the exchange: rejected, or accepted and matched at once."""
        bid = broker_order_id(order.client_order_id)
        now = self.clock.now_ns()
        instrument = self.cache.instruments.get(order.instrument_token)
        reason = broker_refusal(
            order, instrument, self.cache.days.get(order.instrument_token), now, self.paper
        )
        reason = reason or self._check(order)
        if reason:
            self._event(OrderRejected, order.client_order_id, reason=reason, broker_order_id=bid)
            return
        self._event(OrderAccepted, order.client_order_id, broker_order_id=bid)
        w = self._working_of(order, bid)
        if order.variety is Variety.AMO:
            w.active_from_ns = next_open_ns(now, self.paper.market_open)
        self._add(w, order)
        tick = self.cache.last.get(order.instrument_token)
        if tick is not None:
            self._try(w, tick, fresh=True)

    def _working_of(self, order: Order, bid: str) -> Working:
        instrument = self.cache.instruments.get(order.instrument_token)
        return Working(
            client_order_id=order.client_order_id,
            broker_order_id=bid,
            instrument_token=order.instrument_token,
            side=order.side,
            order_type=order.order_type,
            price=order.price,
            trigger_price=order.trigger_price,
            market_protection=order.market_protection,
            remaining=order.pending_quantity,
            ioc=order.validity is Validity.IOC,
            triggered=False,
            tick_size=instrument.tick_size if instrument else 0.05,
            lot_size=instrument.lot_size if instrument else 1,
        )

    def _add(self, w: Working, order: Order) -> None:
        self.working[w.client_order_id] = w
        self._orders[w.client_order_id] = order
        self.by_token.setdefault(w.instrument_token, {})[w.client_order_id] = w

    def _remove(self, coid: str) -> Working | None:
        w = self.working.pop(coid, None)
        self._orders.pop(coid, None)
        if w is not None:
            book = self.by_token.get(w.instrument_token)
            if book is not None:
                book.pop(coid, None)
                if not book:
                    del self.by_token[w.instrument_token]
        return w

    def _try(self, w: Working, tick: Tick, fresh: bool) -> None:
        if w.active_from_ns and self.clock.now_ns() < w.active_from_ns:
            return
        if w.waits_for_trigger:
            if not stop_reached(w.side, w.trigger_price, tick.ltp):
                w.rested = True
                return
            w.triggered = True
            fresh = True
            self._event(OrderTriggered, w.client_order_id)
        if w.is_market:
            if not w.protect_px:
                pct = w.market_protection
                if pct == MARKET_PROTECTION_AUTO or pct <= 0:
                    pct = self.paper.market_protection_pct
                w.protect_px = protection_price(w.side, tick.ltp, pct, w.tick_size)
            cap = w.protect_px
        else:
            cap = w.price
        use = self._depth.get(tick.instrument_token)
        if use is None or use.tick is not tick:
            use = self._depth[tick.instrument_token] = DepthUse(tick)
        for qty, price in walk_depth(w, use, cap, self.paper.slippage_bps):
            self._fill(w, qty, price)
        if w.remaining > 0 and not w.is_market and not fresh and traded_through(w, tick.ltp):
            self._fill(w, w.remaining, w.price)
        if w.remaining <= 0:
            self._remove(w.client_order_id)
        elif w.ioc:
            self._remove(w.client_order_id)
            self._event(
                OrderCancelled, w.client_order_id, reason="IOC: unfilled quantity cancelled"
            )
        else:
            w.rested = True

    def _fill(self, w: Working, qty: int, price: float) -> None:
        order = self._orders[w.client_order_id]
        w.remaining -= qty
        w.trade_seq += 1
        trade_id = f"{w.client_order_id}.{w.trade_seq}"
        now = self.clock.now_ns()
        fill = Fill(
            trade_id=trade_id,
            client_order_id=w.client_order_id,
            broker_order_id=w.broker_order_id,
            instrument_token=w.instrument_token,
            exchange=order.exchange,
            tradingsymbol=order.tradingsymbol,
            side=w.side,
            product=order.product,
            quantity=qty,
            price=price,
            ts_ns=now,
            strategy_id=order.strategy_id,
        )
        self._emit(
            OrderFilled(
                event_id=fill_event_id(trade_id),
                ts_ns=now,
                client_order_id=w.client_order_id,
                fill=fill,
            )
        )

    def _apply_modify(self, order: Order, cmd: ModifyOrder) -> None:
        w = self.working.get(order.client_order_id)
        if w is None:
            self._event(
                OrderModifyRejected, order.client_order_id, reason="order is no longer open"
            )
            return
        current = self._orders[order.client_order_id]
        filled = current.quantity - w.remaining
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
        new = replace(current, **changes, filled_quantity=filled)
        now = self.clock.now_ns()
        instrument = self.cache.instruments.get(order.instrument_token)
        day = self.cache.days.get(order.instrument_token)
        reason = broker_refusal(new, instrument, day, now, self.paper, modifying=True)
        reason = reason or self._check(new)
        if reason:
            self._event(OrderModifyRejected, order.client_order_id, reason=reason)
            return
        self._event(OrderModified, order.client_order_id, **changes)
        w.price, w.trigger_price = new.price, new.trigger_price
        w.order_type, w.market_protection = new.order_type, new.market_protection
        w.remaining = new.quantity - filled
        w.ioc = new.validity is Validity.IOC
        w.protect_px = 0.0
        self._orders[w.client_order_id] = new
        tick = self.cache.last.get(order.instrument_token)
        if tick is not None:
            self._try(w, tick, fresh=True)

    def cancel_now(self, coid: str, reason: str) -> None:
        """Cancel a working order at once (restart recovery, square-off)."""
        self._apply_cancel(coid, reason)

    def _apply_cancel(self, coid: str, reason: str) -> None:
        if self._remove(coid) is not None:
            self._event(OrderCancelled, coid, reason=reason)


def broker_order_id(client_order_id: str) -> str:
    """The paper broker's order id for a client order id (stable across restarts)."""
    return f"PAPER{client_order_id}"
