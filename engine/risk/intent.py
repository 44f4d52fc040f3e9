"""One shape for what a SubmitOrder or ModifyOrder would leave at the exchange.

Checks read an :class:`OrderIntent`, never the raw command: a modification is
judged as the order it would become (its new quantity, price and type on the
original's instrument and side). Facts that cost a context call (LTP, whether
the order reduces exposure) are computed once, on first use.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.model import Instrument
from engine.orders.commands import ModifyOrder, SubmitOrder
from engine.orders.model import Order, OrderType, Product, Side, Variety
from engine.trading.context import TradingContext
from engine.trading.views import FundsView

_UNSET = object()


def money(value: float) -> str:
    """Rupees with thousands separators and paise: ``1,612.00``."""
    return f"{value:,.2f}"


class OrderIntent:
    """The order a command asks for, with lazily computed market and exposure facts."""

    __slots__ = (
        "_funds",
        "_ltp",
        "_open",
        "_pending",
        "_reduces",
        "client_order_id",
        "cmd",
        "ctx",
        "instrument",
        "kill_switch",
        "market_protection",
        "order",
        "order_type",
        "price",
        "product",
        "quantity",
        "side",
        "strategy_id",
        "token",
        "trigger_price",
        "variety",
    )

    def __init__(
        self, cmd: SubmitOrder | ModifyOrder, ctx: TradingContext, order: Order | None = None
    ) -> None:
        self.cmd = cmd
        self.ctx = ctx
        self.order = order
        self.kill_switch = False
        self._ltp: object = _UNSET
        self._reduces: bool | None = None
        self._open: Sequence[Order] | None = None
        self._pending = -1
        self._funds: FundsView | None = None
        if order is None:
            assert isinstance(cmd, SubmitOrder)
            self.client_order_id = cmd.client_order_id
            self.token = cmd.instrument_token
            self.side: Side = cmd.side
            self.order_type: OrderType = cmd.order_type
            self.product: Product = cmd.product
            self.quantity = cmd.quantity
            self.price = cmd.price
            self.trigger_price = cmd.trigger_price
            self.market_protection = cmd.market_protection
            self.variety: Variety = cmd.variety
            self.strategy_id = cmd.strategy_id
        else:
            assert isinstance(cmd, ModifyOrder)
            self.client_order_id = order.client_order_id
            self.token = order.instrument_token
            self.side = order.side
            self.order_type = cmd.order_type or order.order_type
            self.product = order.product
            self.quantity = order.quantity if cmd.quantity is None else cmd.quantity
            self.price = order.price if cmd.price is None else cmd.price
            self.trigger_price = (
                order.trigger_price if cmd.trigger_price is None else cmd.trigger_price
            )
            mp = cmd.market_protection
            self.market_protection = order.market_protection if mp is None else mp
            self.variety = order.variety
            self.strategy_id = order.strategy_id
        self.instrument: Instrument | None = ctx.instrument(self.token)

    @property
    def is_modify(self) -> bool:
        """Whether this is a modification of a resting order."""
        return self.order is not None

    @property
    def open_quantity(self) -> int:
        """Units the order would leave unfilled at the exchange."""
        filled = self.order.filled_quantity if self.order is not None else 0
        return max(self.quantity - filled, 0)

    @property
    def is_option(self) -> bool:
        """Whether the instrument is an option (CE/PE)."""
        return self.instrument is not None and self.instrument.instrument_type in ("CE", "PE")

    def ltp(self) -> float | None:
        """The instrument's last traded price (asked of the context once)."""
        if self._ltp is _UNSET:
            self._ltp = self.ctx.ltp(self.token)
        return self._ltp  # type: ignore[return-value]

    def reference_price(self) -> float | None:
        """The price the order would trade near: limit price, SL-M trigger, or LTP for MARKET."""
        if self.order_type is OrderType.LIMIT or self.order_type is OrderType.SL:
            return self.price if self.price > 0 else None
        if self.order_type is OrderType.SLM and self.trigger_price > 0:
            return self.trigger_price
        return self.ltp()

    def value(self) -> float | None:
        """Reference price × open quantity, ₹; ``None`` if there is no price to value it at."""
        price = self.reference_price()
        return None if price is None else price * self.open_quantity

    def funds(self) -> FundsView:
        """The account's funds (asked of the context once)."""
        if self._funds is None:
            self._funds = self.ctx.funds()
        return self._funds

    def open_orders(self) -> Sequence[Order]:
        """Every open order (asked of the context once)."""
        if self._open is None:
            self._open = self.ctx.open_orders()
        return self._open

    def pending_same_side(self) -> int:
        """Unfilled quantity of our other open orders on this instrument and side."""
        if self._pending < 0:
            token, side, own = self.token, self.side, self.client_order_id
            pending = 0
            for order in self.open_orders():
                if (
                    order.instrument_token == token
                    and order.side is side
                    and order.client_order_id != own
                ):
                    pending += order.quantity - order.filled_quantity
            self._pending = pending
        return self._pending

    def reduces(self) -> bool:
        """Whether the order, with our other resting orders on its side, only shrinks |position|.

        Resting same-side orders count as if filled first, so several reducing
        orders cannot together flip the position.
        """
        if self._reduces is None:
            self._reduces = self._compute_reduces()
        return self._reduces

    def _compute_reduces(self) -> bool:
        net = self.ctx.net_position(self.token)
        if net == 0 or (net > 0) == (self.side is Side.BUY):
            return False
        pending = self.pending_same_side()
        return self.open_quantity + pending <= abs(net)

    def summary(self) -> str:
        """One line for the rejections table: ``BUY 10 NSE:RELIANCE LIMIT 1,612.00 (manual)``."""
        inst = self.instrument
        where = inst.key if inst is not None else f"token {self.token}"
        price = ""
        if self.order_type is OrderType.LIMIT or self.order_type is OrderType.SL:
            price = f" {money(self.price)}"
        if self.order_type is OrderType.SL or self.order_type is OrderType.SLM:
            price += f" trg {money(self.trigger_price)}"
        text = f"{self.side.value} {self.quantity} {where} {self.order_type.value}{price}"
        prefix = f"MODIFY {self.client_order_id}: " if self.is_modify else ""
        return f"{prefix}{text} ({self.strategy_id})"
