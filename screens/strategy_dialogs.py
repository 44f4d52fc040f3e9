"""Dialogs of the strategies screen: a new strategy, and its parameters."""

from __future__ import annotations

import json
import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from alphapt_tui.widgets.ordered_input import OrderedInput, when_typed
from engine.snapshot import CommandResult
from engine.strategies.commands import AddStrategy, UpdateStrategyParams
from engine.strategies.views import StrategyView

_PAIR = re.compile(r"(?:^|[\s,;])([A-Za-z_]\w*)\s*=")
_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def parse_value(text: str) -> Any:
    """A typed value: JSON when it parses (``10``, ``true``, ``[1, 3]``), else the text itself."""
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(text: str) -> dict[str, Any] | str:
    """``fast=5, slow=20 average=ema`` → a dict; the one-line reason it cannot be read."""
    text = text.strip()
    if not text:
        return {}
    matches = list(_PAIR.finditer(text))
    if not matches or text[: matches[0].start()].strip(" ,;"):
        return f"parameters must be key=value pairs (could not read {text.split()[0]!r})"
    params: dict[str, Any] = {}
    for match, after in zip(matches, [*matches[1:], None], strict=True):
        end = after.start() if after is not None else len(text)
        value = text[match.end() : end].strip().rstrip(",;").strip()
        if not value:
            return f"parameter {match.group(1)} has no value"
        params[match.group(1)] = parse_value(value)
    return params


def split_instruments(text: str) -> tuple[str, ...]:
    """``reliance, NSE:INFY tcs`` → ``("RELIANCE", "NSE:INFY", "TCS")``."""
    return tuple(s.upper() for s in re.split(r"[\s,]+", text) if s)


class NewStrategyScreen(ModalScreen[str | None]):
    """Pick a class, name it, give it instruments and parameters; the engine validates.

    Dismissed with the new strategy's name once the engine accepts it.
    """

    CSS_PATH = "strategy_dialogs.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "add(True)", "Add and start"),
    ]

    def __init__(self, classes: tuple[tuple[str, str], ...]) -> None:
        super().__init__()
        self.choices = classes

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("New strategy", id="title")
            yield OptionList(*(Option(key, id=key) for key, _ in self.choices), id="classes")
            yield Static("", id="describe", markup=False)
            # Typed in a burst (paste, SSH lag), Tab must move on before the next characters.
            yield OrderedInput(placeholder="name, e.g. trend_1", id="name")
            yield OrderedInput(placeholder="instruments: RELIANCE, INFY, NSE:TCS", id="instruments")
            yield OrderedInput(placeholder="parameters: fast=10 slow=30 quantity=1", id="params")
            yield Static("", id="message", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Add", id="add", variant="primary")
                yield Button("Add and start (ctrl+s)", id="start", variant="success")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        options = self.query_one("#classes", OptionList)
        if self.choices:
            options.highlighted = 0
        options.focus()

    @property
    def class_name(self) -> str | None:
        """The highlighted class."""
        options = self.query_one("#classes", OptionList)
        if options.highlighted is None:
            return None
        return options.get_option_at_index(options.highlighted).id

    @on(OptionList.OptionHighlighted, "#classes")
    def _describe(self) -> None:
        description = dict(self.choices).get(self.class_name or "", "")
        self.query_one("#describe", Static).update(description)

    @on(OptionList.OptionSelected, "#classes")
    def _picked(self) -> None:
        self.query_one("#name", Input).focus()

    @on(Input.Changed)
    def _check(self) -> None:
        self.show(self.problem() or "")

    def problem(self) -> str | None:
        """What is wrong before the engine is asked (name shape, parameter syntax)."""
        name = self.query_one("#name", Input).value.strip()
        if name and not _NAME.fullmatch(name):
            return "name: 1-32 lowercase letters, digits, _ or -, starting with a letter"
        params = parse_params(self.query_one("#params", Input).value)
        return params if isinstance(params, str) else None

    def show(self, message: str, ok: bool = False) -> None:
        """The validation line under the form."""
        line = self.query_one("#message", Static)
        line.update(message)
        line.set_class(bool(message) and not ok, "-error")

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_add(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self.action_add(event.button.id == "start")

    def action_cancel(self) -> None:
        """Close without adding."""
        self.dismiss(None)

    def action_add(self, start: bool) -> None:
        """Ask the engine to add (and maybe start) the strategy; its answer decides.

        Keys typed just before (ctrl+s in the same burst) reach the fields first.
        """
        when_typed(self.focused, lambda: self._add(start))

    def _add(self, start: bool) -> None:
        problem = self.problem()
        name = self.query_one("#name", Input).value.strip()
        if problem is None and not name:
            problem = "give the strategy a name"
        if problem is None and self.class_name is None:
            problem = "pick a strategy class"
        if problem is not None:
            self.show(problem)
            return
        params = parse_params(self.query_one("#params", Input).value)
        assert isinstance(params, dict)
        command = AddStrategy(
            name=name,
            class_name=self.class_name or "",
            instruments=split_instruments(self.query_one("#instruments", Input).value),
            params=params,
            start=start,
        )
        self.show("asking the engine…", ok=True)
        self.run_worker(self._send(command), exclusive=True, group="add")

    async def _send(self, command: AddStrategy) -> None:
        result = await send(self, command)
        if result.ok:
            self.app.notify(result.message)
            self.dismiss(command.name)
        else:
            self.show(result.message)


class ParamsScreen(ModalScreen[bool]):
    """Edit one strategy's parameters; only changed values are sent, the engine validates."""

    CSS_PATH = "strategy_dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "save", "Save")]

    def __init__(self, view: StrategyView) -> None:
        super().__init__()
        self.view = view

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"Parameters of {self.view.name} ({self.view.class_name})", id="title")
            with VerticalScroll(id="fields"):
                for key, value in self.view.params:
                    with Horizontal(classes="field"):
                        yield Label(key, classes="key")
                        yield OrderedInput(_shown(value), id=f"p-{key}", classes="value")
            yield Static("", id="message", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def changed(self) -> dict[str, Any]:
        """The parameters whose text differs from the current value."""
        changes = {}
        for key, value in self.view.params:
            text = self.query_one(f"#p-{key}", Input).value
            if text != _shown(value):
                changes[key] = parse_value(text)
        return changes

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.dismiss(False)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        """Close without changes."""
        self.dismiss(False)

    def action_save(self) -> None:
        """Send the changed values; stay open with the engine's reason if it refuses.

        Keys typed just before (ctrl+s in the same burst) reach the fields first.
        """
        when_typed(self.focused, self._save)

    def _save(self) -> None:
        changes = self.changed()
        if not changes:
            self.dismiss(False)
            return
        self.query_one("#message", Static).update("asking the engine…")
        command = UpdateStrategyParams(name=self.view.name, params=changes)
        self.run_worker(self._send(command), exclusive=True, group="params")

    async def _send(self, command: UpdateStrategyParams) -> None:
        result = await send(self, command)
        if result.ok:
            self.app.notify(result.message)
            self.dismiss(True)
        else:
            message = self.query_one("#message", Static)
            message.update(result.message)
            message.add_class("-error")


def _shown(encoded: str) -> str:
    """A JSON-encoded value as typed: strings without their quotes."""
    value = json.loads(encoded)
    return value if isinstance(value, str) else encoded


async def send(screen: ModalScreen[Any], command: object) -> CommandResult:
    """Send through the app's client; an unreachable engine is a refusal, not a crash."""
    try:
        return await screen.app.client.send(command)  # type: ignore[attr-defined]
    except Exception as exc:
        return CommandResult(False, f"engine unreachable: {type(exc).__name__}")
