"""The ``?`` overlay: every key of the screen underneath, and the global ones."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

GLOBAL_KEYS = (
    ("1 2 3 4 5", "market watch · orders · positions · trades · strategies"),
    ("6 7 8 9", "alerts · audit · health · risk"),
    ("ctrl+k", "KILL SWITCH: cancel every order and HALT (asks first)"),
    ("?", "this help"),
    ("ctrl+p", "command palette: screens and actions"),
    ("q", "quit the desk (the engine stops cleanly)"),
)


class HelpScreen(ModalScreen[None]):
    """Key bindings of the screen it was opened over."""

    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]

    def __init__(self, under: Screen) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        rows = []
        for binding in self.under.BINDINGS:
            if isinstance(binding, Binding) and binding.description:
                keys = binding.key_display or binding.key.replace(",", " / ")
                rows.append((keys, binding.description))
        with VerticalScroll(id="dialog"):
            yield Label(f"Keys: {type(self.under).__name__.removesuffix('Screen')}", id="title")
            yield Static(self._table(rows))
            yield Label("Everywhere", classes="section")
            yield Static(self._table(GLOBAL_KEYS))
            yield Label("Esc closes", classes="hint")

    @staticmethod
    def _table(rows) -> str:
        return "\n".join(f"[b]{keys:>12}[/b]  {description}" for keys, description in rows)

    def action_close(self) -> None:
        """Close the overlay."""
        self.dismiss(None)
