"""An input that applies every key in the order it was typed, however fast it arrives.

Textual inserts a typed character as soon as the focused input reads its key, but runs
the input's own bindings (Backspace, Delete, arrows, Enter) only after the key has
bubbled up to the app and come back, and moves focus on Tab from the app as well. Keys
that arrive in one read (a lagged SSH link, a pasted burst, a desk busy redrawing)
therefore run out of order: Backspace 3 0 Enter on a quantity of 1 gives 3, not 30. On
an order ticket that is a wrong order, so these fields take their editing keys,
and Tab, in arrival order, and forward a key that was queued behind a Tab to the field
that now has focus.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import events, on
from textual.message import Message
from textual.widgets import Input


class OrderedInput(Input):
    """An :class:`~textual.widgets.Input` whose keys take effect in arrival order."""

    class AfterTyping(Message, bubble=False):
        """Run ``callback`` once every key queued before this message has been applied."""

        def __init__(self, callback: Callable[[], object]) -> None:
            super().__init__()
            self.callback = callback

    def after_typing(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` after the keys already sent to this field have been applied."""
        self.post_message(self.AfterTyping(callback))

    @on(AfterTyping)
    def _run_after_typing(self, message: AfterTyping) -> None:
        message.callback()

    async def _on_key(self, event: events.Key) -> None:
        focused = self.screen.focused
        if focused is not self and focused is not None:
            # Focus moved on (a Tab earlier in the same burst): the key belongs there.
            event.stop()
            event.prevent_default()
            focused.post_message(events.Key(event.key, event.character))
            return
        if event.key in ("tab", "shift+tab"):
            event.stop()
            event.prevent_default()
            if event.key == "tab":
                self.screen.focus_next()
            else:
                self.screen.focus_previous()
            return
        if not event.is_printable:
            for binding in self._bindings.key_to_bindings.get(event.key, ()):
                event.stop()
                event.prevent_default()
                self._restart_blink()
                await self.run_action(binding.action)
                return
        await super()._on_key(event)


def when_typed(focused: object, callback: Callable[[], object]) -> None:
    """Run ``callback`` after the keys already sent to ``focused`` are applied, if it is an
    :class:`OrderedInput` (a submit key in the same burst as the digits); at once otherwise."""
    if isinstance(focused, OrderedInput):
        focused.after_typing(callback)
    else:
        callback()
