"""Pure checks for what Kite rejects, shown live by the order ticket.

Each ``check_*`` returns ``None`` when fine or one line saying what is wrong.
:func:`submit_problems` / :func:`modify_problems` list every problem;
:func:`validate_submit` / :func:`validate_modify` return the first one.
"""

from __future__ import annotations

from engine.model import Instrument, on_tick_grid
from engine.orders.commands import ModifyOrder, SubmitOrder
from engine.orders.model import (
    MARKET_PROTECTION_AUTO,
    MAX_MODIFICATIONS,
    Order,
    OrderType,
    Product,
    Side,
    StatusGroup,
)

CASH_EXCHANGES = frozenset({"NSE", "BSE"})
DERIVATIVE_EXCHANGES = frozenset({"NFO", "BFO", "MCX", "CDS", "BCD"})
# Built once: an enum member lookup costs ~0.1 us, and every order is checked.
_NEEDS_PRICE = (OrderType.LIMIT, OrderType.SL)
_NEEDS_TRIGGER = (OrderType.SL, OrderType.SLM)
_NEEDS_PROTECTION = (OrderType.MARKET, OrderType.SLM)


def check_quantity(quantity: float, lot_size: int = 1) -> str | None:
    """Quantity must be a positive whole number of lots."""
    if isinstance(quantity, bool) or quantity != int(quantity):
        return f"quantity must be a whole number (got {quantity})"
    if quantity <= 0:
        return f"quantity must be positive (got {int(quantity)})"
    lot = max(lot_size, 1)
    if int(quantity) % lot:
        return f"quantity must be a multiple of the lot size {lot} (got {int(quantity)})"
    return None


def check_tick(value: float, tick_size: float, what: str = "price") -> str | None:
    """``value`` must sit on the instrument's tick grid."""
    if not on_tick_grid(value, tick_size):
        return f"{what} {value:g} is not a multiple of the tick size {tick_size:g}"
    return None


def check_prices(
    order_type: OrderType, side: Side, price: float, trigger_price: float, tick_size: float
) -> str | None:
    """Price and trigger each order type needs, on the grid and the right way round."""
    needs_price = order_type in _NEEDS_PRICE
    needs_trigger = order_type in _NEEDS_TRIGGER
    if needs_price and price <= 0:
        return f"{order_type.value} order needs a price above 0"
    if needs_trigger and trigger_price <= 0:
        return f"{order_type.value} order needs a trigger price above 0"
    if needs_price and (problem := check_tick(price, tick_size, "price")):
        return problem
    if needs_trigger and (problem := check_tick(trigger_price, tick_size, "trigger price")):
        return problem
    if order_type is OrderType.SL:
        if side is Side.BUY and trigger_price > price:
            return f"BUY SL trigger {trigger_price:g} must not be above the price {price:g}"
        if side is Side.SELL and trigger_price < price:
            return f"SELL SL trigger {trigger_price:g} must not be below the price {price:g}"
    return None


def check_market_protection(order_type: OrderType, market_protection: float) -> str | None:
    """MARKET and SL-M orders need protection: a percent in (0, 100] or -1 (automatic)."""
    if order_type not in _NEEDS_PROTECTION:
        return None
    if market_protection == MARKET_PROTECTION_AUTO or 0 < market_protection <= 100:
        return None
    return (
        f"{order_type.value} order needs market protection: 0 < % <= 100, or -1 for automatic"
        f" (got {market_protection:g})"
    )


def check_product(exchange: str, product: Product) -> str | None:
    """CNC is for cash equity only; NRML for derivatives only."""
    if product is Product.CNC and exchange in DERIVATIVE_EXCHANGES:
        return f"CNC is for equity delivery; use NRML or MIS on {exchange}"
    if product is Product.NRML and exchange in CASH_EXCHANGES:
        return f"NRML is for derivatives; use CNC or MIS on {exchange}"
    return None


def submit_problems(cmd: SubmitOrder, instrument: Instrument) -> list[str]:
    """Every reason the broker would refuse ``cmd`` for ``instrument``."""
    problems: list[str | None] = []
    if cmd.instrument_token != instrument.instrument_token:
        problems.append(f"order is for token {cmd.instrument_token}, not {instrument.key}")
    if not instrument.tradable:
        problems.append(f"{instrument.key} is an index and cannot be traded")
    problems += [
        check_quantity(cmd.quantity, instrument.lot_size),
        check_prices(cmd.order_type, cmd.side, cmd.price, cmd.trigger_price, instrument.tick_size),
        check_market_protection(cmd.order_type, cmd.market_protection),
        check_product(cmd.exchange, cmd.product),
    ]
    return [p for p in problems if p]


def validate_submit(cmd: SubmitOrder, instrument: Instrument) -> str | None:
    """The first reason ``cmd`` would be refused, or ``None``.

    The checks of :func:`submit_problems` in its order, stopping at the first problem
    (every order passes here: no list is built for a valid one).
    """
    if cmd.instrument_token != instrument.instrument_token:
        return f"order is for token {cmd.instrument_token}, not {instrument.key}"
    if not instrument.tradable:
        return f"{instrument.key} is an index and cannot be traded"
    return (
        check_quantity(cmd.quantity, instrument.lot_size)
        or check_prices(
            cmd.order_type, cmd.side, cmd.price, cmd.trigger_price, instrument.tick_size
        )
        or check_market_protection(cmd.order_type, cmd.market_protection)
        or check_product(cmd.exchange, cmd.product)
    )


def modify_problems(order: Order, cmd: ModifyOrder, instrument: Instrument) -> list[str]:
    """Every reason the broker would refuse modifying ``order`` as ``cmd`` asks."""
    if order.is_closed:
        return [f"order is {order.status.value} and can no longer be modified"]
    if order.group is not StatusGroup.OPEN:
        return [f"order is {order.status.value}; only a resting order can be modified"]
    if order.modifications >= MAX_MODIFICATIONS:
        return [f"order was already modified {order.modifications} times (Kite allows 25)"]
    quantity = order.quantity if cmd.quantity is None else cmd.quantity
    order_type = cmd.order_type or order.order_type
    price = order.price if cmd.price is None else cmd.price
    trigger = order.trigger_price if cmd.trigger_price is None else cmd.trigger_price
    protection = order.market_protection if cmd.market_protection is None else cmd.market_protection
    problems = [
        check_quantity(quantity, instrument.lot_size),
        check_prices(order_type, order.side, price, trigger, instrument.tick_size),
        check_market_protection(order_type, protection),
    ]
    if not problems[0] and quantity <= order.filled_quantity:
        problems.append(f"quantity must exceed the filled {order.filled_quantity}")
    return [p for p in problems if p]


def validate_modify(order: Order, cmd: ModifyOrder, instrument: Instrument) -> str | None:
    """The first reason the modification would be refused, or ``None``."""
    problems = modify_problems(order, cmd, instrument)
    return problems[0] if problems else None
