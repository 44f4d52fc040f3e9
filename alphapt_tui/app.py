"""The desk application: pulls engine snapshots on a timer and hands them to the screens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen

from alphapt_tui.navigation import SCREENS
from engine.alert_log import AlertEntry
from engine.cache import QuoteRow
from engine.client import EngineClient
from engine.orders.model import Fill, Order
from engine.settings import Settings
from engine.snapshot import (
    CommandResult,
    DeskSnapshot,
    EngineStatus,
    HaltTrading,
    KillSwitch,
    ResumeTrading,
)
from engine.trading.views import FundsView, PositionView
from screens.confirm import ConfirmScreen
from screens.help import HelpScreen


@runtime_checkable
class DeskView(Protocol):
    """A screen that shows engine state: told after every applied snapshot."""

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        """Show what ``snapshot`` changed; the app's model already holds it."""
        ...


class DeskApp(App[None]):
    """The AlphaPT desk over one engine client (local thread or remote daemon)."""

    TITLE = "AlphaPT"
    MODES = {name: screen for name, (_, _, screen) in SCREENS.items()}
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("ctrl+p", "command_palette", "Commands", show=False),
        Binding("ctrl+k", "kill_switch(False)", "Kill switch", priority=True, show=False),
        *(
            Binding(key, f"switch_mode('{name}')", title, show=False)
            for name, (key, title, _) in SCREENS.items()
        ),
    ]

    # The app draws nothing itself: watchers show these. A repainting reactive on the app
    # repaints the whole screen, which at 4 Hz was most of the UI thread's time.
    status: reactive[EngineStatus | None] = reactive(None, always_update=True, repaint=False)
    """The engine's latest status, shown by every screen's header."""
    engine_error: reactive[str] = reactive("", repaint=False)
    """Why the engine cannot be reached, empty while it answers."""
    funds: reactive[FundsView | None] = reactive(None, repaint=False)
    """The account: free funds and the day's P&L, shown in the header."""

    def __init__(
        self,
        client: EngineClient,
        settings: Settings,
        after_first_frame: Callable[[], object] | None = None,
    ) -> None:
        """``after_first_frame`` runs once the first screen is on the terminal (the local
        desk starts its engine there, so start-up work does not hold up that frame)."""
        super().__init__()
        self.client = client
        self.settings = settings
        self._after_first_frame = after_first_frame
        self.version = 0
        self.trading_version = -1
        self.quotes: dict[int, QuoteRow] = {}
        self.watchlist: tuple[str, ...] = ()
        self.watchlist_keys: frozenset[str] = frozenset()
        self.token_by_key: dict[str, int] = {}
        self.orders: tuple[Order, ...] = ()
        self.fills: tuple[Fill, ...] = ()
        self.positions: tuple[PositionView, ...] = ()
        self.alerts: tuple[AlertEntry, ...] = ()
        self.alerts_version = -1
        self._pulling = False

    def on_mount(self) -> None:
        self.switch_mode("watch")
        self.set_interval(1.0 / self.settings.ui.refresh_hz, self.refresh_from_engine)
        self.call_later(self.refresh_from_engine)
        if self._after_first_frame is not None:
            self.call_after_refresh(self._after_first_frame)

    async def refresh_from_engine(self) -> None:
        """Pull what changed since the last frame and apply it; at most one pull in flight."""
        if self._pulling:
            return
        self._pulling = True
        try:
            snapshot = await self.client.snapshot(
                self.version,
                self.trading_version if self.trading_version >= 0 else None,
                self.alerts_version if self.alerts_version >= 0 else None,
            )
        except Exception as exc:
            # Before the first answer the header already says "connecting to engine…".
            if self.status is not None:
                self.engine_error = f"engine unreachable: {type(exc).__name__}"
            return
        finally:
            self._pulling = False
        if not self.is_running:
            # The app began shutting down during the pull: its screens are being taken apart.
            return
        self.engine_error = ""
        started = time.perf_counter()
        with self.batch_update():
            self.apply_snapshot(snapshot)
        self.client.report_frame(time.perf_counter() - started)

    def apply_snapshot(self, snapshot: DeskSnapshot) -> None:
        """Fold a snapshot into the app's model and let the screens show it."""
        self.version = snapshot.version
        for row in snapshot.quotes:
            self.quotes[row.instrument_token] = row
            self.token_by_key[f"{row.exchange}:{row.tradingsymbol}"] = row.instrument_token
        watchlist_changed = snapshot.watchlist != self.watchlist
        if watchlist_changed:
            self.watchlist = snapshot.watchlist
            self.watchlist_keys = frozenset(snapshot.watchlist)
        if snapshot.orders is not None:
            self.orders = snapshot.orders
        if snapshot.fills is not None:
            self.fills = snapshot.fills
        if snapshot.positions is not None:
            self.positions = snapshot.positions
        if snapshot.funds is not None:
            self.funds = snapshot.funds
        self.trading_version = snapshot.trading_version
        if snapshot.alerts is not None:
            self.alerts = snapshot.alerts
        self.alerts_version = snapshot.alerts_version
        self.status = snapshot.status
        # Screens under a modal (help, ticket) keep moving too.
        for screen in self.screen_stack:
            if isinstance(screen, DeskView):
                screen.on_desk_update(snapshot, watchlist_changed)

    async def send(self, command: object) -> CommandResult:
        """Send a command to the engine and show its result as a notification."""
        try:
            result = await self.client.send(command)
        except Exception as exc:
            result = CommandResult(False, f"engine unreachable: {type(exc).__name__}")
        self.notify(result.message, severity="information" if result.ok else "error")
        await self.refresh_from_engine()
        return result

    def action_kill_switch(self, flatten: bool) -> None:
        """After confirmation: HALT and cancel every open order (and flatten, if asked)."""
        open_orders = sum(1 for o in self.orders if not o.is_closed)
        question = "KILL SWITCH: cancel every open order and HALT trading?"
        if flatten:
            question = (
                "KILL SWITCH: cancel every order, HALT, and flatten every position at market?"
            )

        def answered(yes: bool | None) -> None:
            if yes:
                command = KillSwitch(reason="kill switch from the desk", flatten=flatten)
                self.run_worker(self.send(command))

        detail = f"{open_orders} open order(s). Trading stays HALTED until you resume it."
        self.push_screen(ConfirmScreen(question, detail), answered)

    def action_halt(self) -> None:
        """Stop new orders now (cancels still pass)."""
        self.run_worker(self.send(HaltTrading(reason="halted from the desk")))

    def action_resume(self) -> None:
        """Lift a halt, after confirmation."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.send(ResumeTrading()))

        self.push_screen(ConfirmScreen("Resume trading (state ACTIVE)?"), answered)

    def action_help(self) -> None:
        """Show the key bindings of the current screen."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "Show the keys of this screen", self.action_help)
        yield SystemCommand(
            "Kill switch",
            "Cancel every open order and HALT (ctrl+k)",
            lambda: self.action_kill_switch(False),
        )
        yield SystemCommand(
            "Kill switch and flatten",
            "Cancel every order, HALT, close every position at market",
            lambda: self.action_kill_switch(True),
        )
        yield SystemCommand("Halt trading", "Refuse new orders until resumed", self.action_halt)
        yield SystemCommand("Resume trading", "Lift a halt", self.action_resume)
        for name, (key, title, _) in SCREENS.items():
            yield SystemCommand(
                f"Go to {title}", f"Screen (key {key})", lambda name=name: self.switch_mode(name)
            )
        commands = getattr(screen, "desk_commands", None)
        if commands is not None:
            yield from commands()
