"""The fake Kite's order book, trades, positions and holdings, in Kite's JSON shapes.

Validation follows Kite's documented rules closely enough to catch client bugs
(required fields, enums, prices per order type, ``tag`` of 1-20 letters and digits).
Not thread-safe: the server touches it only from its own event loop.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tests.kite_fake.market import FakeMarket

OPEN_STATUSES = frozenset({"OPEN", "TRIGGER PENDING", "AMO REQ RECEIVED"})
VARIETIES = frozenset({"regular", "amo"})
PRODUCTS = frozenset({"CNC", "NRML", "MIS", "MTF"})
ORDER_TYPES = frozenset({"MARKET", "LIMIT", "SL", "SL-M"})
VALIDITIES = frozenset({"DAY", "IOC", "TTL"})
_TAG = re.compile(r"[0-9A-Za-z]{1,20}")


class KiteApiError(Exception):
    """An error the fake answers in Kite's error envelope with an HTTP status."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


def input_error(message: str) -> KiteApiError:
    """Kite's 400 InputException."""
    return KiteApiError(400, "InputException", message)


def _int(params: Mapping[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        if default is None:
            raise input_error(f"Missing `{name}`.")
        return default
    try:
        return int(raw)
    except ValueError:
        raise input_error(f"Invalid `{name}`.") from None


def _float(params: Mapping[str, str], name: str, default: float = 0.0) -> float:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise input_error(f"Invalid `{name}`.") from None


def _choice(params: Mapping[str, str], name: str, allowed: frozenset[str]) -> str:
    value = params.get(name)
    if not value:
        raise input_error(f"Missing `{name}`.")
    if value not in allowed:
        raise input_error(f"Invalid `{name}`.")
    return value


class FakeOrderBook:
    """Orders (with their state history), trades and net/day positions."""

    def __init__(
        self,
        market: FakeMarket,
        *,
        user_id: str,
        seed_orders: Sequence[dict[str, Any]] = (),
        seed_trades: Sequence[dict[str, Any]] = (),
        seed_positions: dict[str, list[dict[str, Any]]] | None = None,
        seed_holdings: Sequence[dict[str, Any]] = (),
    ) -> None:
        self._market = market
        self.user_id = user_id
        self.orders: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.trades: list[dict[str, Any]] = [copy.deepcopy(t) for t in seed_trades]
        self.positions: dict[str, list[dict[str, Any]]] = copy.deepcopy(
            seed_positions or {"net": [], "day": []}
        )
        self.holdings: list[dict[str, Any]] = [copy.deepcopy(h) for h in seed_holdings]
        self._next_order = 1
        self._next_trade = 1
        for order in seed_orders:
            self.orders[order["order_id"]] = copy.deepcopy(order)
            self.history[order["order_id"]] = [copy.deepcopy(order)]

    # -- queries ----------------------------------------------------------------------------------

    def get(self, order_id: str) -> dict[str, Any]:
        """The current state of an order; InputException if unknown."""
        order = self.orders.get(order_id)
        if order is None:
            raise input_error("Couldn't find that `order_id`.")
        return order

    def order_trades(self, order_id: str) -> list[dict[str, Any]]:
        """The trades of one order."""
        self.get(order_id)
        return [t for t in self.trades if t["order_id"] == order_id]

    # -- changes (each returns the new order state) ---------------------------------------------

    def place(self, variety: str, params: Mapping[str, str], now: str) -> dict[str, Any]:
        """Validate and accept an order; it rests OPEN (or TRIGGER PENDING, AMO REQ RECEIVED)."""
        if variety not in VARIETIES:
            raise input_error(f"Invalid `variety` ({variety}): the fake supports regular and amo.")
        exchange = params.get("exchange") or ""
        symbol = params.get("tradingsymbol") or ""
        if not exchange or not symbol:
            raise input_error("Missing `exchange` or `tradingsymbol`.")
        instrument = self._market.lookup(exchange, symbol)
        if instrument is None:
            raise input_error("Invalid `tradingsymbol`.")
        if instrument.is_index:
            raise input_error("Indices cannot be traded.")
        side = _choice(params, "transaction_type", frozenset({"BUY", "SELL"}))
        product = _choice(params, "product", PRODUCTS)
        order_type = _choice(params, "order_type", ORDER_TYPES)
        validity = params.get("validity") or "DAY"
        if validity not in VALIDITIES:
            raise input_error("Invalid `validity`.")
        quantity = _int(params, "quantity")
        if quantity <= 0:
            raise input_error("Invalid `quantity`.")
        price, trigger = self._prices(order_type, params)
        tag = params.get("tag")
        if tag is not None and not _TAG.fullmatch(tag):
            raise input_error("Invalid `tag`: 1-20 letters and digits.")

        order_id = f"{now[2:4]}{now[5:7]}{now[8:10]}{self._next_order:09d}"
        self._next_order += 1
        if variety == "amo":
            status = "AMO REQ RECEIVED"
        elif order_type in ("SL", "SL-M"):
            status = "TRIGGER PENDING"
        else:
            status = "OPEN"
        order = {
            "placed_by": self.user_id,
            "order_id": order_id,
            "exchange_order_id": None if variety == "amo" else f"1{order_id}",
            "parent_order_id": None,
            "status": status,
            "status_message": None,
            "status_message_raw": None,
            "order_timestamp": now,
            "exchange_update_timestamp": None if variety == "amo" else now,
            "exchange_timestamp": None if variety == "amo" else now,
            "variety": variety,
            "modified": False,
            "exchange": exchange,
            "tradingsymbol": symbol,
            "instrument_token": instrument.token,
            "order_type": order_type,
            "transaction_type": side,
            "validity": validity,
            "validity_ttl": 0,
            "product": product,
            "quantity": quantity,
            "disclosed_quantity": _int(params, "disclosed_quantity", 0),
            "price": price,
            "trigger_price": trigger,
            "average_price": 0,
            "filled_quantity": 0,
            "pending_quantity": quantity,
            "cancelled_quantity": 0,
            "market_protection": _int(params, "market_protection", 0),
            "meta": {},
            "tag": tag,
            "tags": [tag] if tag else None,
            "guid": f"fake-{order_id}",
        }
        self.orders[order_id] = order
        self.history[order_id] = []
        return self._record(order)

    def modify(
        self, variety: str, order_id: str, params: Mapping[str, str], now: str
    ) -> dict[str, Any]:
        """Change quantity, price, trigger, type or validity of an open order."""
        order = self._open_order(variety, order_id, "modified")
        order_type = params.get("order_type") or order["order_type"]
        if order_type not in ORDER_TYPES:
            raise input_error("Invalid `order_type`.")
        merged = {"price": str(order["price"]), "trigger_price": str(order["trigger_price"])}
        merged.update({k: v for k, v in params.items() if k in merged and v != ""})
        price, trigger = self._prices(order_type, merged)
        quantity = _int(params, "quantity", order["quantity"])
        if quantity <= order["filled_quantity"]:
            raise input_error("Invalid `quantity`: not more than the filled quantity.")
        order.update(
            order_type=order_type,
            price=price,
            trigger_price=trigger,
            quantity=quantity,
            pending_quantity=quantity - order["filled_quantity"],
            validity=params.get("validity") or order["validity"],
            disclosed_quantity=_int(params, "disclosed_quantity", order["disclosed_quantity"]),
            modified=True,
            exchange_update_timestamp=now,
        )
        if order["status"] == "TRIGGER PENDING" and order_type in ("MARKET", "LIMIT"):
            order["status"] = "OPEN"
        return self._record(order)

    def cancel(self, variety: str, order_id: str, now: str) -> dict[str, Any]:
        """Cancel what is left of an open order."""
        order = self._open_order(variety, order_id, "cancelled")
        order.update(
            status="CANCELLED",
            cancelled_quantity=order["pending_quantity"],
            pending_quantity=0,
            exchange_update_timestamp=now,
        )
        return self._record(order)

    def fill(
        self, order_id: str, now: str, price: float | None = None, quantity: int | None = None
    ) -> dict[str, Any]:
        """Fill ``quantity`` (default: all that is pending) at ``price`` (default: LTP)."""
        order = self.get(order_id)
        if order["status"] not in OPEN_STATUSES:
            raise input_error(f"Order {order_id} is {order['status']}, not open.")
        qty = order["pending_quantity"] if quantity is None else quantity
        if not 0 < qty <= order["pending_quantity"]:
            raise input_error(f"Cannot fill {qty} of {order['pending_quantity']} pending.")
        if price is None:
            price = order["price"] or self._market.state(order["instrument_token"]).last_price
        filled = order["filled_quantity"]
        order["average_price"] = round(
            (order["average_price"] * filled + price * qty) / (filled + qty), 4
        )
        order["filled_quantity"] = filled + qty
        order["pending_quantity"] -= qty
        order["status"] = "COMPLETE" if order["pending_quantity"] == 0 else "OPEN"
        order["exchange_update_timestamp"] = now
        order["exchange_timestamp"] = order["exchange_timestamp"] or now
        order["exchange_order_id"] = order["exchange_order_id"] or f"1{order_id}"
        self.trades.append(
            {
                "trade_id": f"{self._next_trade:08d}",
                "order_id": order_id,
                "exchange": order["exchange"],
                "tradingsymbol": order["tradingsymbol"],
                "instrument_token": order["instrument_token"],
                "product": order["product"],
                "average_price": price,
                "quantity": qty,
                "exchange_order_id": order["exchange_order_id"],
                "transaction_type": order["transaction_type"],
                "fill_timestamp": now,
                "order_timestamp": now[11:],
                "exchange_timestamp": now,
            }
        )
        self._next_trade += 1
        self._apply_fill(order, price, qty)
        return self._record(order)

    def reject(self, order_id: str, reason: str, now: str) -> dict[str, Any]:
        """Reject an open order, as the exchange or RMS would."""
        order = self.get(order_id)
        if order["status"] not in OPEN_STATUSES:
            raise input_error(f"Order {order_id} is {order['status']}, not open.")
        order.update(
            status="REJECTED",
            status_message=reason,
            status_message_raw=reason,
            cancelled_quantity=0,
            exchange_update_timestamp=now,
        )
        return self._record(order)

    def next_day(self) -> None:
        """Kite's overnight: the day's books empty, CNC buys become (T1) holdings.

        Yesterday's T1 quantity settles; today's CNC net positions move into holdings
        (a sell reduces the holding); MIS is gone (squared off); NRML carries over as an
        overnight position. Orders and trades are per day, so both books start empty.
        """
        for holding in self.holdings:
            holding["quantity"] += holding["t1_quantity"]
            holding.update(t1_quantity=0, used_quantity=0)
            holding["opening_quantity"] = holding["quantity"]
        carried = []
        for pos in self.positions["net"]:
            if pos["product"] == "CNC" and pos["quantity"]:
                self._to_holding(pos)
            elif pos["product"] == "NRML" and pos["quantity"]:
                fresh = self._blank_position(pos)
                fresh.update(
                    quantity=pos["quantity"],
                    overnight_quantity=pos["quantity"],
                    average_price=pos["average_price"],
                )
                carried.append(fresh)
        self.positions = {"net": carried, "day": []}
        self.holdings = [h for h in self.holdings if h["quantity"] or h["t1_quantity"]]
        self.orders.clear()
        self.history.clear()
        self.trades.clear()

    def _to_holding(self, pos: dict[str, Any]) -> None:
        key = (pos["exchange"], pos["tradingsymbol"])
        holding = next(
            (h for h in self.holdings if (h["exchange"], h["tradingsymbol"]) == key), None
        )
        if holding is None:
            holding = {
                "tradingsymbol": pos["tradingsymbol"],
                "exchange": pos["exchange"],
                "instrument_token": pos["instrument_token"],
                "isin": "",
                "product": "CNC",
                "price": 0,
                "quantity": 0,
                "used_quantity": 0,
                "t1_quantity": 0,
                "realised_quantity": 0,
                "authorised_quantity": 0,
                "opening_quantity": 0,
                "short_quantity": 0,
                "collateral_quantity": 0,
                "collateral_type": "",
                "discrepancy": False,
                "average_price": 0,
                "last_price": pos["last_price"],
                "close_price": pos["last_price"],
                "pnl": 0,
                "day_change": 0,
                "day_change_percentage": 0,
            }
            self.holdings.append(holding)
        qty = pos["quantity"]
        if qty > 0:
            held = holding["quantity"] + holding["t1_quantity"]
            holding["average_price"] = round(
                (holding["average_price"] * held + pos["buy_price"] * qty) / (held + qty), 4
            )
            holding["t1_quantity"] += qty
        else:
            holding["quantity"] += qty  # a sale of held shares: they leave the demat account

    # -- helpers ----------------------------------------------------------------------------------

    def _prices(self, order_type: str, params: Mapping[str, str]) -> tuple[float, float]:
        price = _float(params, "price")
        trigger = _float(params, "trigger_price")
        if order_type in ("LIMIT", "SL") and price <= 0:
            raise input_error("Invalid `price`.")
        if order_type in ("SL", "SL-M") and trigger <= 0:
            raise input_error("Invalid `trigger_price`.")
        if order_type in ("MARKET", "SL-M"):
            price = 0
        if order_type in ("MARKET", "LIMIT"):
            trigger = 0
        return price, trigger

    def _open_order(self, variety: str, order_id: str, verb: str) -> dict[str, Any]:
        order = self.get(order_id)
        if order["variety"] != variety:
            raise input_error(f"Invalid `variety` for order {order_id}.")
        if order["status"] not in OPEN_STATUSES:
            raise input_error(f"Order cannot be {verb} as it is {order['status']}.")
        return order

    def _record(self, order: dict[str, Any]) -> dict[str, Any]:
        snapshot = copy.deepcopy(order)
        self.history[order["order_id"]].append(snapshot)
        return snapshot

    def _apply_fill(self, order: dict[str, Any], price: float, qty: int) -> None:
        for book in ("net", "day"):
            pos = self._position(book, order)
            side = "buy" if order["transaction_type"] == "BUY" else "sell"
            prefixes = (side, f"day_{side}")
            for prefix in prefixes:
                old_qty = pos[f"{prefix}_quantity"]
                pos[f"{prefix}_value"] = round(pos[f"{prefix}_value"] + price * qty, 4)
                pos[f"{prefix}_quantity"] = old_qty + qty
                pos[f"{prefix}_price"] = round(pos[f"{prefix}_value"] / (old_qty + qty), 4)
            pos["quantity"] = pos["buy_quantity"] - pos["sell_quantity"]
            pos["value"] = round(pos["sell_value"] - pos["buy_value"], 4)
            pos["last_price"] = price
            pos["average_price"] = pos["buy_price"] if pos["quantity"] >= 0 else pos["sell_price"]
            pos["pnl"] = round(pos["value"] + pos["quantity"] * price, 4)
            pos["m2m"] = pos["pnl"]

    def _position(self, book: str, order: dict[str, Any]) -> dict[str, Any]:
        for pos in self.positions[book]:
            if (pos["exchange"], pos["tradingsymbol"], pos["product"]) == (
                order["exchange"],
                order["tradingsymbol"],
                order["product"],
            ):
                return pos
        pos = self._blank_position(order)
        self.positions[book].append(pos)
        return pos

    @staticmethod
    def _blank_position(like: dict[str, Any]) -> dict[str, Any]:
        pos = {
            "tradingsymbol": like["tradingsymbol"],
            "exchange": like["exchange"],
            "instrument_token": like["instrument_token"],
            "product": like["product"],
            "quantity": 0,
            "overnight_quantity": 0,
            "multiplier": 1,
            "average_price": 0,
            "close_price": 0,
            "last_price": 0,
            "value": 0,
            "pnl": 0,
            "m2m": 0,
            "unrealised": 0,
            "realised": 0,
        }
        for prefix in ("buy", "sell", "day_buy", "day_sell"):
            pos.update({f"{prefix}_quantity": 0, f"{prefix}_price": 0, f"{prefix}_value": 0})
        pos.update(buy_m2m=0, sell_m2m=0)
        return pos
