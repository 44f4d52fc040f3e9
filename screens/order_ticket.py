"""The order ticket: place or modify an order with live validation as you type."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.ordered_input import OrderedInput, when_typed
from engine.orders.commands import ModifyOrder, SubmitOrder
from engine.orders.model import (
    MARKET_PROTECTION_AUTO,
    Order,
    OrderType,
    Product,
    Side,
    Validity,
    Variety,
)
from engine.orders.validation import DERIVATIVE_EXCHANGES
from engine.snapshot import CommandResult
from engine.trading.views import OrderEstimate
from screens.confirm import ConfirmScreen


def _options(enum: type) -> list[tuple[str, str]]:
    return [(member.value, member.value) for member in enum]


class TicketInstrument:
    """What the ticket needs to know about the instrument it trades."""

    def __init__(self, token: int, exchange: str, symbol: str, ltp: float) -> None:
        self.token = token
        self.exchange = exchange
        self.symbol = symbol
        self.ltp = ltp


class OrderTicketScreen(ModalScreen[CommandResult | None]):
    """Returns the engine's result once an order is placed or modified, ``None`` if closed."""

    CSS_PATH = "order_ticket.tcss"
    BINDINGS = [
        Binding("escape", "close", "Close"),
        Binding("ctrl+s", "submit", "Place", priority=True),
        Binding("ctrl+t", "toggle_side", "Buy/Sell", priority=True),
    ]

    def __init__(
        self,
        instrument: TicketInstrument,
        side: Side = Side.BUY,
        modifying: Order | None = None,
    ) -> None:
        super().__init__()
        self.instrument = instrument
        self.side = side
        self.modifying = modifying
        self.estimate: OrderEstimate | None = None
        self.local_problems: list[str] = []
        self._lot_known = False

    @classmethod
    def for_modify(cls, order: Order) -> OrderTicketScreen:
        """A ticket prefilled with an open order, to change its quantity, price or trigger."""
        instrument = TicketInstrument(
            order.instrument_token, order.exchange, order.tradingsymbol, order.price
        )
        return cls(instrument, order.side, modifying=order)

    def _default_product(self) -> Product:
        # CNC is equity delivery; futures and options carry overnight as NRML.
        derivative = self.instrument.exchange in DERIVATIVE_EXCHANGES
        return Product.NRML if derivative else Product.CNC

    def compose(self) -> ComposeResult:
        order = self.modifying
        price = order.price if order else self.instrument.ltp
        with Vertical(id="ticket"):
            yield Label(id="title")
            with Grid(id="fields"):
                yield Label("Quantity")
                yield OrderedInput(
                    str(order.quantity if order else 1), id="quantity", type="integer"
                )
                yield Label("Type")
                yield Select(
                    _options(OrderType),
                    value=(order.order_type if order else OrderType.LIMIT).value,
                    allow_blank=False,
                    id="order_type",
                )
                yield Label("Price")
                yield OrderedInput(f"{price:.2f}", id="price")
                yield Label("Trigger")
                yield OrderedInput(f"{order.trigger_price:.2f}" if order else "0", id="trigger")
                yield Label("Product")
                yield Select(
                    _options(Product),
                    value=(order.product if order else self._default_product()).value,
                    allow_blank=False,
                    id="product",
                    disabled=order is not None,
                )
                yield Label("Validity")
                yield Select(
                    _options(Validity),
                    value=(order.validity if order else Validity.DAY).value,
                    allow_blank=False,
                    id="validity",
                )
            yield Checkbox("After-market order (AMO)", id="amo", disabled=order is not None)
            yield Static(id="estimate")
            yield Static(id="problems")
            with Horizontal(id="buttons"):
                yield Button("Place (ctrl+s)", variant="success", id="place")
                yield Button("Close (esc)", id="close")

    def on_mount(self) -> None:
        self._show_title()
        self.query_one("#quantity", Input).focus()
        self._changed()

    def _show_title(self) -> None:
        verb = "MODIFY" if self.modifying else self.side.value
        title = self.query_one("#title", Label)
        title.update(
            f" {verb} {self.instrument.symbol} ({self.instrument.exchange})   "
            f"LTP {fmt.price(self.instrument.ltp)} "
        )
        title.set_class(self.side == Side.BUY, "buy")
        title.set_class(self.side == Side.SELL, "sell")
        place = self.query_one("#place", Button)
        place.label = "Modify (ctrl+s)" if self.modifying else f"{self.side.value} (ctrl+s)"
        place.variant = "success" if self.side == Side.BUY else "error"

    # -- reading the form -------------------------------------------------------

    def _value(self, widget_id: str) -> str:
        widget = self.query_one(f"#{widget_id}")
        if isinstance(widget, Select):
            return str(widget.value)
        assert isinstance(widget, Input)
        return widget.value.strip()

    def build_command(self) -> SubmitOrder | None:
        """The order as typed, or ``None`` with ``local_problems`` saying why it cannot be read."""
        problems: list[str] = []
        quantity_text = self._value("quantity")
        quantity = 0
        try:
            quantity = int(quantity_text)
        except ValueError:
            problems.append(f"quantity must be a whole number (got {quantity_text or 'nothing'})")
        prices: dict[str, float] = {}
        for field in ("price", "trigger"):
            text = self._value(field).replace(",", "") or "0"
            try:
                prices[field] = float(text)
            except ValueError:
                problems.append(f"{field} must be a number (got {text})")
        self.local_problems = problems
        if problems:
            return None
        order_type = OrderType(self._value("order_type"))
        return SubmitOrder(
            user="local",
            exchange=self.instrument.exchange,
            tradingsymbol=self.instrument.symbol,
            instrument_token=self.instrument.token,
            side=self.side,
            order_type=order_type,
            product=Product(self._value("product")),
            quantity=quantity,
            price=prices["price"] if order_type in (OrderType.LIMIT, OrderType.SL) else 0.0,
            trigger_price=prices["trigger"] if order_type in (OrderType.SL, OrderType.SLM) else 0.0,
            market_protection=(
                MARKET_PROTECTION_AUTO if order_type in (OrderType.MARKET, OrderType.SLM) else 0.0
            ),
            validity=Validity(self._value("validity")),
            variety=Variety.AMO if self.query_one("#amo", Checkbox).value else Variety.REGULAR,
        )

    # -- live validation -------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        order_type = self._value("order_type")
        self.query_one("#price", Input).disabled = order_type in ("MARKET", "SL-M")
        self.query_one("#trigger", Input).disabled = order_type in ("MARKET", "LIMIT")
        command = self.build_command()
        if command is None:
            self.estimate = None
            self._show()
            return
        self._estimate(command)

    @work(exclusive=True, group="estimate")
    async def _estimate(self, command: SubmitOrder) -> None:
        try:
            self.estimate = await self.app.client.estimate(command)
        except Exception as exc:
            self.estimate = None
            self.local_problems = [f"engine unreachable: {type(exc).__name__}"]
        first = not self._lot_known
        self._lot_known = True
        if first and self.estimate is not None and self.modifying is None:
            lot = self.estimate.lot_size
            quantity = self.query_one("#quantity", Input)
            if lot > 1 and quantity.value == "1":
                # A new F&O ticket opens with one lot, not one unit the exchange refuses.
                quantity.value = str(lot)
                return
        self._show()

    def _show(self) -> None:
        estimate = self.estimate
        if estimate is not None:
            self.query_one("#estimate", Static).update(
                f"Value ₹{fmt.price(estimate.value) if estimate.value else '0.00'}   "
                f"Charges ₹{fmt.price(estimate.charges) if estimate.charges else '0.00'}   "
                f"Margin ₹{fmt.price(estimate.margin_required) if estimate.margin_required else '0.00'}"
                f"   Available ₹{fmt.price(estimate.available) if estimate.available else '0.00'}"
            )
        problems = [*self.local_problems, *(estimate.problems if estimate else ())]
        self.query_one("#problems", Static).update("\n".join(f"✗ {p}" for p in problems))
        self.query_one("#place", Button).disabled = bool(problems)

    # -- actions ---------------------------------------------------------------

    def action_toggle_side(self) -> None:
        """Switch between buy and sell (not when modifying)."""
        if self.modifying is None:
            self.side = Side.SELL if self.side == Side.BUY else Side.BUY
            self._show_title()
            self._changed()

    def action_close(self) -> None:
        """Close without sending anything."""
        self.dismiss(None)

    @on(Button.Pressed, "#close")
    def _close_pressed(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#place")
    @on(Input.Submitted)
    def action_submit(self) -> None:
        """Send the order (asking first above the configured value).

        Keys typed just before (ctrl+s in the same burst as the digits) reach the fields
        first, and the order is judged on a fresh estimate of what the fields now say,
        never on the last estimate shown, which may be of a smaller quantity.
        """
        when_typed(self.focused, self._submit)

    @work(exclusive=True, group="submit")
    async def _submit(self) -> None:
        command = self.build_command()
        if command is None:
            self._show()
            self.notify("fix the ticket first", severity="error")
            return
        try:
            self.estimate = await self.app.client.estimate(command)
        except Exception as exc:
            self.estimate = None
            self.local_problems = [f"engine unreachable: {type(exc).__name__}"]
        self._show()
        if self.estimate is None or not self.estimate.ok:
            self.notify("fix the ticket first", severity="error")
            return
        value = self.estimate.value
        threshold = self.app.settings.ui.confirm_above
        if self.modifying is None and value > threshold:

            def answered(yes: bool | None) -> None:
                if yes:
                    self._send(command)

            self.app.push_screen(
                ConfirmScreen(
                    f"{command.side.value} {command.quantity} {command.tradingsymbol}"
                    f" worth ₹{fmt.price(value)}?",
                    f"Above the confirmation threshold of ₹{fmt.price(threshold)}.",
                ),
                answered,
            )
            return
        self._send(command)

    @work(exclusive=True, group="send")
    async def _send(self, command: SubmitOrder) -> None:
        sent: object = command
        if self.modifying is not None:
            sent = ModifyOrder(
                user="local",
                client_order_id=self.modifying.client_order_id,
                quantity=command.quantity,
                price=command.price,
                trigger_price=command.trigger_price,
                order_type=command.order_type,
                validity=command.validity,
            )
        result = await self.app.send(sent)
        if result.ok:
            self.dismiss(result)
        else:
            self.local_problems = [result.message]
            self._show()
