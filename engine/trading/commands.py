"""Order commands of the trading service: submit, modify, cancel, cancel all, estimate.

A submit runs: validate → pre-trade (risk) hook → mint the client order id →
write the order and its first event in one transaction → hand it to the broker.
Nothing is sent that is not in the ledger; input the broker would refuse is
refused here with its reason and nothing written; a risk rejection is recorded
as a REJECTED order so the blotter shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import structlog
from msgspec.structs import replace

from engine import charges
from engine.alerts import AlertSource, Severity
from engine.clock import ns_to_ist
from engine.ledger.errors import LedgerError, LedgerUnavailable
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.orders.events import OrderInitialized, OrderRejected
from engine.orders.ids import is_valid_client_order_id
from engine.orders.model import Order, OrderStatus, OrderType, Product
from engine.orders.state import apply, initial_order
from engine.orders.validation import modify_problems, submit_problems
from engine.snapshot import CommandResult
from engine.trading.margin import order_margin, order_price
from engine.trading.paper.checks import broker_refusal
from engine.trading.squareoff import square_off_order
from engine.trading.views import OrderEstimate

if TYPE_CHECKING:
    from engine.trading.service import TradingService

log = structlog.get_logger("engine.trading")

_CANCELLABLE = frozenset(
    {OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING, OrderStatus.MODIFY_PENDING}
)


def describe(order: Order | SubmitOrder) -> str:
    """``BUY 10 NSE:RELIANCE LIMIT 1500 MIS``."""
    price = ""
    if order.order_type in (OrderType.LIMIT, OrderType.SL):
        price = f" {order.price:g}"
    if order.order_type in (OrderType.SL, OrderType.SLM):
        price += f" trigger {order.trigger_price:g}"
    return (
        f"{order.side.value} {order.quantity} {order.exchange}:{order.tradingsymbol}"
        f" {order.order_type.value}{price} {order.product.value}"
    )


class OrderCommands:
    """The command half of :class:`~engine.trading.service.TradingService`."""

    async def submit(self: TradingService, cmd: SubmitOrder) -> CommandResult:
        """Place an order; the result names its client order id."""
        return await self._place(cmd, risk=True)

    async def _place(self: TradingService, cmd: SubmitOrder, *, risk: bool) -> CommandResult:
        if (refusal := self._not_ready()) is not None:
            return refusal
        instrument = self.cache.instruments.get(cmd.instrument_token)
        if instrument is None or instrument.tradingsymbol != cmd.tradingsymbol:
            return CommandResult(False, f"unknown instrument {cmd.exchange}:{cmd.tradingsymbol}")
        if problems := submit_problems(cmd, instrument):
            return CommandResult(False, problems[0])
        if cmd.client_order_id is not None and (
            not is_valid_client_order_id(cmd.client_order_id) or cmd.client_order_id in self.book
        ):
            return CommandResult(
                False, f"client order id {cmd.client_order_id!r} is invalid or in use"
            )
        reason = self._risk(cmd) if risk else None
        coid = cmd.client_order_id or self._minter.next()
        cmd = replace(cmd, client_order_id=coid)
        init = OrderInitialized(
            event_id=self._new_event_id(),
            ts_ns=self.clock.now_ns(),
            client_order_id=coid,
            command=cmd,
        )
        order = initial_order(init)
        if reason is not None:
            rejected = OrderRejected(
                event_id=self._new_event_id(), ts_ns=init.ts_ns, client_order_id=coid, reason=reason
            )
            final = apply(order, rejected)
            if (failure := await self._write_now(final, [(init, 1), (rejected, 2)])) is not None:
                return failure
            self._apply_recorded(init, rejected)
            return CommandResult(False, f"{coid} rejected by risk: {reason}", client_order_id=coid)
        if (failure := await self._write_now(order, [(init, 1)])) is not None:
            return failure
        self._apply_recorded(init)
        self.broker.submit(order)
        placed = self.book[coid]
        if placed.status is OrderStatus.REJECTED:
            return CommandResult(
                False, f"{coid} rejected: {placed.status_message}", client_order_id=coid
            )
        return CommandResult(True, f"{coid} placed: {describe(order)}", client_order_id=coid)

    def _risk(self: TradingService, cmd: object) -> str | None:
        if self.pre_trade is None:
            return None
        try:
            return self.pre_trade(cmd, self)
        except Exception as exc:  # a broken risk check must not let an order through
            log.exception("pre-trade check failed")
            return f"risk check failed: {type(exc).__name__}: {exc}"

    def _not_ready(self: TradingService) -> CommandResult | None:
        if not self.ready or self.ledger is None:
            return CommandResult(False, "trading is not ready: the ledger is not open")
        if not self.ledger_up:
            return CommandResult(
                False, "ledger unavailable: new orders are refused until it is back"
            )
        return None

    async def _write_now(
        self: TradingService, order: Order, events: list[tuple[Any, int]]
    ) -> CommandResult | None:
        assert self.ledger is not None
        from engine.ledger import rows  # the database layer loads with the ledger, not at import

        try:
            await self.ledger.write_batch(
                orders=[order], events=[rows.event_row(e, seq) for e, seq in events]
            )
        except LedgerUnavailable as exc:
            self._ledger_down(str(exc))
            return CommandResult(False, "ledger unavailable: order not sent")
        except LedgerError as exc:
            self.raise_alert(
                Severity.CRITICAL, AlertSource.SYSTEM, f"ledger refused an order: {exc}"
            )
            return CommandResult(False, f"ledger refused the order: {str(exc).splitlines()[0]}")
        return None

    def _apply_recorded(self: TradingService, *events: Any) -> None:
        """Apply events already in the ledger: book, bus, views (not the journal)."""
        for event in events:
            order = self.book.apply(event)
            if order is not None:
                self.bus.publish(f"orders.{order.strategy_id}", event)
        self._changed(orders=True)

    async def modify(self: TradingService, cmd: ModifyOrder) -> CommandResult:
        """Change a resting order."""
        order = self.book.get(cmd.client_order_id)
        if order is None:
            return CommandResult(False, f"unknown order {cmd.client_order_id}")
        instrument = self.cache.instruments.get(order.instrument_token)
        if instrument is None:
            return CommandResult(
                False, f"unknown instrument {order.exchange}:{order.tradingsymbol}"
            )
        if problems := modify_problems(order, cmd, instrument):
            return CommandResult(False, problems[0])
        if order.status is not OrderStatus.OPEN and order.status is not OrderStatus.TRIGGER_PENDING:
            return CommandResult(False, f"order is {order.status.value}; try again when it rests")
        if (refusal := self._not_ready()) is not None:
            return refusal
        if (reason := self._risk(cmd)) is not None:
            return CommandResult(False, f"modify rejected by risk: {reason}")
        self.broker.modify(order, cmd)
        after = self.book[order.client_order_id]
        if after.status_message and after.status is not OrderStatus.MODIFY_PENDING:
            return CommandResult(False, f"modify rejected: {after.status_message}")
        return CommandResult(
            True, f"{order.client_order_id} modified", client_order_id=order.client_order_id
        )

    async def cancel(self: TradingService, cmd: CancelOrder) -> CommandResult:
        """Cancel one order (cancels never go through risk)."""
        order = self.book.get(cmd.client_order_id)
        if order is None:
            return CommandResult(False, f"unknown order {cmd.client_order_id}")
        if order.is_closed:
            return CommandResult(False, f"order is {order.status.value}; nothing to cancel")
        if order.status not in _CANCELLABLE:
            return CommandResult(False, f"order is {order.status.value}; try again when it rests")
        self.broker.cancel(order)
        status = self.book[order.client_order_id].status.value
        return CommandResult(
            True, f"{order.client_order_id} {status.lower()}", client_order_id=order.client_order_id
        )

    async def cancel_all(self: TradingService, cmd: CancelAllOrders) -> CommandResult:
        """Cancel every resting order of the user (of one strategy, if named)."""
        targets = [
            o
            for o in self.book.working(user=cmd.user, strategy_id=cmd.strategy_id)
            if o.status in _CANCELLABLE
        ]
        for order in targets:
            self.broker.cancel(order, cmd.reason or "cancelled by cancel-all")
        in_flight = len(self.book.working(user=cmd.user, strategy_id=cmd.strategy_id)) - len(
            targets
        )
        tail = f"; {in_flight} still being placed" if in_flight > 0 else ""
        return CommandResult(True, f"cancel sent for {len(targets)} order(s){tail}")

    async def square_off_mis(self: TradingService) -> None:
        """Cancel open MIS orders and close MIS positions with MARKET orders (once a day)."""
        today = ns_to_ist(self.clock.now_ns()).date()
        if self._mis_closed_on == today or not self.ready:
            return
        for order in self.book.working():
            if order.product is Product.MIS and order.status in _CANCELLABLE:
                self.broker.cancel_now(order.client_order_id, "MIS square-off")
        ok = True
        for p in list(self.portfolio.positions.values()):
            if p.product != Product.MIS.value or p.net_quantity == 0:
                continue
            owner = next(
                (o.user for o in self.book if o.instrument_token == p.instrument_token), "local"
            )
            result = await self._place(square_off_order(p, owner), risk=False)
            ok = ok and result.ok
        if ok:
            self._mis_closed_on = today
            self.raise_alert(Severity.INFO, AlertSource.RISK, "MIS positions squared off")

    def estimate(self: TradingService, cmd: SubmitOrder) -> OrderEstimate:
        """Value, charges, margin and every problem of an order the ticket is building."""
        available = self.funds().available
        instrument = self.cache.instruments.get(cmd.instrument_token)
        if instrument is None:
            return OrderEstimate(
                0.0,
                0.0,
                0.0,
                available,
                (f"unknown instrument {cmd.exchange}:{cmd.tradingsymbol}",),
            )
        problems = submit_problems(cmd, instrument)
        ltp = self.ltps.get(cmd.instrument_token)
        price = order_price(cmd.order_type, cmd.price, cmd.trigger_price, ltp)
        quantity = int(cmd.quantity) if cmd.quantity > 0 else 0
        value = price * quantity
        held = self.portfolio.positions.get(
            (cmd.instrument_token, cmd.product.value, cmd.strategy_id)
        )
        margin = order_margin(
            side_sign=cmd.side.sign,
            quantity=quantity,
            product=cmd.product,
            value_price=price,
            net=held.net_quantity if held else 0,
            paper=self.paper,
        )
        cost = 0.0
        if quantity and price > 0:
            try:
                cost = charges.estimate(
                    exchange=cmd.exchange,
                    tradingsymbol=cmd.tradingsymbol,
                    side=cmd.side,
                    product=cmd.product,
                    quantity=quantity,
                    price=price,
                    on_date=ns_to_ist(self.clock.now_ns()).date(),
                    instrument_type=instrument.instrument_type,
                ).total
            except (LookupError, ValueError) as exc:
                problems.append(f"charges unknown: {exc}")
        if not problems:
            init = OrderInitialized(
                event_id="estimate",
                ts_ns=self.clock.now_ns(),
                client_order_id="estimate",
                command=cmd,
            )
            order = initial_order(init)
            now = self.clock.now_ns()
            day = self.cache.days.get(cmd.instrument_token)
            reason = broker_refusal(order, instrument, day, now, self.paper) or self._account_check(
                order
            )
            if reason:
                problems.append(reason)
        if (refusal := self._not_ready()) is not None:
            problems.append(refusal.message)
        return OrderEstimate(
            value, cost, margin, available, tuple(problems), max(1, instrument.lot_size)
        )
