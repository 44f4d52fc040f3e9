"""A small dialog that asks for a symbol, suggesting known instruments as you type."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label


class AddSymbolScreen(ModalScreen[str | None]):
    """Returns the symbol typed (``RELIANCE`` or ``NSE:RELIANCE``), or ``None`` on Esc."""

    CSS_PATH = "add_symbol.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, known_keys: tuple[str, ...]) -> None:
        super().__init__()
        symbols = [key.partition(":")[2] for key in known_keys]
        self.suggester = SuggestFromList([*symbols, *known_keys], case_sensitive=False)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Add to watchlist")
            yield Input(placeholder="symbol, e.g. INFY or NSE:INFY", suggester=self.suggester)
            yield Label("Enter adds · Tab completes · Esc cancels", classes="hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)
