"""Translations between Kite's REST/postback records and the engine's orders and fills.

Pure functions: a place form from an :class:`Order`, a :class:`Fill` from a Kite trade,
and how a :class:`KiteApiError` is to be treated (retry, unclear outcome, or refusal).
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from engine.clock import NS_PER_SECOND
from engine.feeds.kite_protocol import KiteFrameError, parse_kite_time
from engine.kite.rest import KiteApiError, KiteTokenError
from engine.orders.model import MARKET_PROTECTION_AUTO, Fill, Order, OrderType

KITE_PRE_ACCEPT = frozenset({"PUT ORDER REQ RECEIVED", "VALIDATION PENDING", "OPEN PENDING"})
"""Kite statuses of an order that has not reached the exchange yet."""
STATIC_IP_REASON = (
    "Kite refused the order: orders must come from the static IP registered with "
    "your Kite Connect app; add this machine's IP at developers.kite.trade"
)
TOKEN_REASON = "Kite session expired or invalid: run `alphapt-tui login`"
_STATIC_IP = re.compile(r"\bIP\b|static ip|whitelist", re.IGNORECASE)


class Outcome(Enum):
    """How a failed Kite call is treated."""

    RETRY = "retry"
    """HTTP 429: nothing happened; try again after the rate limiter."""
    UNCLEAR = "unclear"
    """No answer, a timeout or a 5xx: the call may have taken effect; reconcile, never resend."""
    REFUSED = "refused"
    """Kite said no (4xx): nothing happened."""


def classify(exc: KiteApiError) -> Outcome:
    """Whether ``exc`` is retried, reconciled or taken as a refusal."""
    if exc.status == 429:
        return Outcome.RETRY
    if exc.status == 0 or exc.status >= 500:
        return Outcome.UNCLEAR
    return Outcome.REFUSED


def refusal_reason(exc: KiteApiError) -> str:
    """One line for a refused call: static-IP rule, expired session, or Kite's message."""
    if exc.status == 403 and _STATIC_IP.search(exc.message):
        return STATIC_IP_REASON
    if isinstance(exc, KiteTokenError):
        return TOKEN_REASON
    return f"Kite: {exc.message}"


def is_session_error(exc: KiteApiError) -> bool:
    """A token problem (not the static-IP 403): the trader must log in again."""
    return isinstance(exc, KiteTokenError) and not _STATIC_IP.search(exc.message)


def protection(order: Order) -> str:
    """``market_protection`` for the form: never 0 on MARKET and SL-M (-1: Kite picks)."""
    pct = order.market_protection
    if pct == 0 or pct == MARKET_PROTECTION_AUTO or pct < 0:
        return "-1"
    return f"{pct:g}"


def place_form(order: Order) -> dict[str, str]:
    """The ``POST /orders/{variety}`` form; ``tag`` is the client order id."""
    form = {
        "exchange": order.exchange,
        "tradingsymbol": order.tradingsymbol,
        "transaction_type": order.side.value,
        "order_type": order.order_type.value,
        "quantity": str(order.quantity),
        "product": order.product.value,
        "validity": order.validity.value,
        "tag": order.client_order_id,
    }
    if order.order_type in (OrderType.LIMIT, OrderType.SL):
        form["price"] = f"{order.price:g}"
    if order.order_type in (OrderType.SL, OrderType.SLM):
        form["trigger_price"] = f"{order.trigger_price:g}"
    if order.order_type in (OrderType.MARKET, OrderType.SLM):
        form["market_protection"] = protection(order)
    return form


def modify_form(changes: dict[str, Any]) -> dict[str, str]:
    """The ``PUT /orders/{variety}/{order_id}`` form from the changed fields."""
    form: dict[str, str] = {}
    for key, value in changes.items():
        if key == "market_protection":
            form[key] = "-1" if value <= 0 else f"{value:g}"
        elif hasattr(value, "value"):
            form[key] = str(value.value)
        else:
            form[key] = f"{value:g}" if isinstance(value, float) else str(value)
    return form


def kite_ns(value: Any, default: int) -> int:
    """A Kite timestamp as epoch ns, or ``default`` when absent or malformed."""
    try:
        when = parse_kite_time(value) if isinstance(value, str) else None
    except KiteFrameError:
        return default
    return int(when.timestamp()) * NS_PER_SECOND if when is not None else default


def fill_of(order: Order, trade: dict[str, Any], now_ns: int) -> Fill:
    """The engine's fill for one row of Kite's trades of ``order``."""
    return Fill(
        trade_id=str(trade["trade_id"]),
        client_order_id=order.client_order_id,
        broker_order_id=str(trade.get("order_id") or order.broker_order_id or ""),
        instrument_token=order.instrument_token,
        exchange=order.exchange,
        tradingsymbol=order.tradingsymbol,
        side=order.side,
        product=order.product,
        quantity=int(trade["quantity"]),
        price=float(trade["average_price"]),
        ts_ns=kite_ns(trade.get("fill_timestamp") or trade.get("exchange_timestamp"), now_ns),
        strategy_id=order.strategy_id,
    )
