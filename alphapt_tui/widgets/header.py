"""The desk header: IST clock, trading mode, feed state, tick rate and engine health."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from alphapt_tui import formatting as fmt
from engine.clock import ns_to_ist
from engine.snapshot import EngineStatus
from engine.trading.views import FundsView

HEALTH_STYLE = {
    "running": "bold green",
    "starting": "yellow",
    "degraded": "bold yellow",
    "failed": "bold white on red",
    "stopped": "dim",
}
STATE_STYLE = {
    "ACTIVE": "bold black on green",
    "REDUCING": "bold black on yellow",
    "HALTED": "bold white on red",
}
FEED_STYLE = {"live": "green", "connecting": "yellow", "closed": "dim", "stopped": "dim"}


class DeskHeader(Static):
    """One line at the top of every screen; it follows the app's ``status``."""

    DEFAULT_CSS = """
    DeskHeader {
        dock: top;
        height: 1;
        background: $panel;
        color: $text;
    }
    """

    def __init__(self, title: str = "") -> None:
        super().__init__(id="desk-header")
        self.screen_title = title

    def on_mount(self) -> None:
        self.watch(self.app, "status", self.show_status)
        self.watch(self.app, "engine_error", lambda _: self.show_status(self.app.status))
        self.watch(self.app, "funds", lambda _: self.show_status(self.app.status))

    def on_resize(self) -> None:
        self.show_status(getattr(self.app, "status", None))

    def show_status(self, status: EngineStatus | None) -> None:
        """Render the header line from the engine status."""
        app = self.app
        line = self.render_status(
            status, getattr(app, "engine_error", ""), getattr(app, "funds", None)
        )
        # One docked row whatever the text: no layout pass (it re-rendered the whole screen 4x/s).
        self.update(line, layout=False)

    def render_status(
        self, status: EngineStatus | None, engine_error: str = "", funds: FundsView | None = None
    ) -> Text:
        """The header line as styled text; below 150 columns it drops words, not facts."""
        wide = self.size.width >= 150 or self.size.width == 0
        line = Text(" AlphaPT ", style="bold")
        if self.screen_title and wide:
            line.append(f"· {self.screen_title} ", style="bold cyan")
        separator = (" │ ", "dim") if wide else ("│", "dim")
        if status is None:
            line.append_text(Text.assemble(separator, ("connecting to engine…", "yellow")))
            return line
        clock = ns_to_ist(status.now_ns).strftime("%d %b %H:%M:%S IST" if wide else "%H:%M:%S")
        mode_style = "bold white on dark_green" if status.mode == "PAPER" else "bold white on red"
        line.append_text(
            Text.assemble(
                separator,
                (clock, ""),
                separator,
                (f" {status.mode} ", mode_style),
                " ",
                (f" {status.trading_state} ", STATE_STYLE.get(status.trading_state, "")),
                separator,
                ("feed " if wide else "", "dim"),
                (status.feed_state, FEED_STYLE.get(status.feed_state, "")),
                " " if wide else "",
                separator if wide else (" ", ""),
                (f"{status.ticks_per_second:,.0f} {'ticks/s' if wide else 't/s'}", ""),
                separator,
                ("engine " if wide else "", "dim"),
                (status.health, HEALTH_STYLE.get(status.health, "")),
            )
        )
        if status.unacknowledged_alerts:
            count = status.unacknowledged_alerts
            label = f"⚠ {count} alert{'' if count == 1 else 's'}" if wide else f"⚠{count}"
            line.append_text(Text.assemble(separator, (label, "bold yellow")))
        if funds is not None:
            pnl = funds.net_pnl
            pnl_style = "bold green" if pnl > 0 else "bold red" if pnl < 0 else ""
            available = fmt.price(funds.available) if funds.available else "0.00"
            line.append_text(
                Text.assemble(
                    separator,
                    ("funds " if wide else "", "dim"),
                    (f"₹{available}" if wide else f"₹{fmt.quantity(int(funds.available))}", ""),
                    ("  day P&L " if wide else " P&L ", "dim"),
                    (fmt.signed(pnl), pnl_style),
                )
            )
        if engine_error:
            line.append_text(Text.assemble(separator, (engine_error, "bold white on red")))
        return line
