"""Order domain: records, commands, events, the state machine and validation."""

from engine.orders.book import OrderBook
from engine.orders.commands import CancelAllOrders, CancelOrder, ModifyOrder, SubmitOrder
from engine.orders.events import (
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderEvent,
    OrderFilled,
    OrderInitialized,
    OrderModified,
    OrderModifyRejected,
    OrderPendingCancel,
    OrderPendingModify,
    OrderRejected,
    OrderSubmitted,
    OrderTriggered,
    fill_event_id,
)
from engine.orders.ids import ClientOrderIdMinter, is_valid_client_order_id
from engine.orders.model import (
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Product,
    Side,
    StatusGroup,
    Validity,
    Variety,
)
from engine.orders.state import InvalidTransition, apply, initial_order
from engine.orders.validation import validate_modify, validate_submit

__all__ = [
    "CancelAllOrders",
    "CancelOrder",
    "ClientOrderIdMinter",
    "Fill",
    "InvalidTransition",
    "ModifyOrder",
    "Order",
    "OrderAccepted",
    "OrderBook",
    "OrderCancelRejected",
    "OrderCancelled",
    "OrderEvent",
    "OrderFilled",
    "OrderInitialized",
    "OrderModified",
    "OrderModifyRejected",
    "OrderPendingCancel",
    "OrderPendingModify",
    "OrderRejected",
    "OrderStatus",
    "OrderSubmitted",
    "OrderTriggered",
    "OrderType",
    "Product",
    "Side",
    "StatusGroup",
    "SubmitOrder",
    "Validity",
    "Variety",
    "apply",
    "fill_event_id",
    "initial_order",
    "is_valid_client_order_id",
    "validate_modify",
    "validate_submit",
]
