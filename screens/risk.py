"""Risk: the trading state, every limit with its usage, and the last rejections."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from alphapt_tui import formatting as fmt
from alphapt_tui.widgets.header import STATE_STYLE, DeskHeader
from engine.clock import ns_to_ist
from engine.risk import RiskSnapshot

BAR_WIDTH = 20


def usage_bar(used: float, limit: float) -> Text:
    """A bar of how much of a limit is used: green, yellow past 70 %, red past 90 %."""
    share = 0.0 if limit <= 0 else min(1.0, max(0.0, used / limit))
    filled = round(share * BAR_WIDTH)
    style = "red" if share >= 0.9 else "yellow" if share >= 0.7 else "green"
    return Text.assemble(("█" * filled, style), ("░" * (BAR_WIDTH - filled), "grey37"))


def amount(value: float, unit: str) -> str:
    """A limit or usage in its unit."""
    if unit in ("₹", "INR", "rupees"):
        return f"₹{fmt.price(value)}" if value else "₹0"
    if unit == "%":
        return f"{value:.2f}%"
    return f"{value:,.0f}{(' ' + unit) if unit else ''}"


class RiskScreen(Screen[None]):
    """Pulled once a second; halt, resume and the kill switch are one key away."""

    BINDINGS = [
        Binding("h", "app.halt", "Halt"),
        Binding("r", "app.resume", "Resume"),
    ]
    DEFAULT_CSS = """
    RiskScreen #state { height: 3; padding: 1 1 0 1; }
    RiskScreen #limits { height: 1fr; }
    RiskScreen #rejections { height: 1fr; }
    """

    def compose(self) -> ComposeResult:
        yield DeskHeader("Risk")
        yield Static(id="state")
        yield DataTable(id="limits", cursor_type="row", zebra_stripes=True)
        yield DataTable(id="rejections", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        limits = self.query_one("#limits", DataTable)
        for key, label, width in (
            ("check", "Limit", 28),
            ("bar", "Usage", BAR_WIDTH),
            ("used", "Used", 16),
            ("limit", "Limit value", 16),
        ):
            limits.add_column(label, key=key, width=width)
        rejections = self.query_one("#rejections", DataTable)
        for key, label, width in (
            ("time", "Time", 8),
            ("check", "Rejected by", 18),
            ("order", "Order", 30),
            ("reason", "Reason", 60),
        ):
            rejections.add_column(label, key=key, width=width)
        self.load()
        self.set_interval(1.0, self.load)

    @work(exclusive=True, group="risk")
    async def load(self) -> None:
        """Fetch the risk snapshot and show it."""
        try:
            snapshot = await self.app.client.risk()
        except Exception as exc:
            self.query_one("#state", Static).update(f"engine unreachable: {type(exc).__name__}")
            return
        self.show(snapshot)

    def show(self, snapshot: RiskSnapshot) -> None:
        """Render the state line and both tables."""
        since = ns_to_ist(snapshot.since_ns).strftime("%H:%M:%S")
        self.query_one("#state", Static).update(
            Text.assemble(
                ("Trading ", "bold"),
                (f" {snapshot.state.value} ", STATE_STYLE.get(snapshot.state.value, "")),
                (f"  since {since}  ", "dim"),
                (snapshot.reason, ""),
                (f"   {snapshot.rejected_total} rejected today", "dim"),
            )
        )
        limits = self.query_one("#limits", DataTable)
        limits.clear()
        for usage in snapshot.usage:
            limits.add_row(
                usage.label,
                usage_bar(usage.used, usage.limit),
                Text(amount(usage.used, usage.unit), justify="right"),
                Text(amount(usage.limit, usage.unit), justify="right"),
            )
        rejections = self.query_one("#rejections", DataTable)
        rejections.clear()
        for rejection in reversed(snapshot.rejections):
            rejections.add_row(
                ns_to_ist(rejection.ts_ns).strftime("%H:%M:%S"),
                Text(rejection.check, style="bold red"),
                rejection.order,
                rejection.reason,
            )
