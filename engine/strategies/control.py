"""Runtime control of strategies (start, stop, enable, disable, parameters) and their views."""

from __future__ import annotations

from typing import Any

from engine.strategies.base import Strategy, StrategyState
from engine.strategies.loader import validate_params
from engine.strategies.settings import StrategiesSettings, StrategyLimits
from engine.strategies.slot import StrategySlot
from engine.strategies.viewing import build_view
from engine.strategies.views import StrategyView


class StrategyControl:
    """What the front end may do to strategies; mixed into :class:`StrategyManager`."""

    settings: StrategiesSettings
    _slots: dict[str, StrategySlot]

    def call(self, slot: StrategySlot, where: str, fn: Any, *args: Any) -> None:
        """Run a strategy callback in isolation (provided by the manager)."""
        raise NotImplementedError

    def rebuild(self) -> None:
        """Recompute the dispatch tables (provided by the manager)."""
        raise NotImplementedError

    def _changed(self, name: str) -> None:
        """Save a runtime-added strategy after a change (provided by the runtime mixin)."""
        raise NotImplementedError

    def _start(self, slot: StrategySlot) -> None:
        slot.state = StrategyState.RUNNING
        slot.last_error = ""
        slot.timeframes.clear()
        self.call(slot, "on_start", slot.strategy.on_start)
        self.rebuild()

    def _stop(self, slot: StrategySlot) -> None:
        self.call(slot, "on_stop", slot.strategy.on_stop)
        if slot.state is StrategyState.RUNNING:
            slot.state = StrategyState.STOPPED
        slot.cancel_timers()
        self.rebuild()
        if self.settings.cancel_on_stop and slot.book.open_orders():
            slot.cancel_all(f"strategy {slot.name} stopped")

    def start_strategy(self, name: str) -> str | None:
        """Start a stopped (or failed) strategy; the reason it cannot, or ``None``."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is StrategyState.RUNNING:
            return f"strategy {name} is already running"
        if slot.state is StrategyState.DISABLED:
            return f"strategy {name} is disabled; enable it first"
        self._start(slot)
        self._changed(name)
        return slot.last_error or None

    def stop_strategy(self, name: str) -> str | None:
        """Stop a running strategy (its open orders are cancelled if ``cancel_on_stop``)."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is not StrategyState.RUNNING:
            return f"strategy {name} is not running ({slot.state.value})"
        self._stop(slot)
        self._changed(name)
        return None

    def enable(self, name: str) -> str | None:
        """Enable a disabled strategy and start it."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is not StrategyState.DISABLED:
            return f"strategy {name} is not disabled ({slot.state.value})"
        slot.state = StrategyState.STOPPED
        return self.start_strategy(name)

    def disable(self, name: str) -> str | None:
        """Stop a strategy if it runs and keep it idle until enabled."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        if slot.state is StrategyState.DISABLED:
            return f"strategy {name} is already disabled"
        if slot.running:
            self._stop(slot)
        slot.state = StrategyState.DISABLED
        self._changed(name)
        return None

    def update_params(self, name: str, params: dict[str, Any]) -> str | None:
        """Validate and apply new parameter values; the one-line reason they are refused, or ``None``."""
        slot = self._slots.get(name)
        if slot is None:
            return f"unknown strategy {name!r}"
        old = slot.params
        merged = validate_params(slot.cls, {**old.model_dump(), **params})
        if isinstance(merged, str):
            return f"strategy {name}: {merged}"
        slot.params = slot.strategy.params = merged
        if slot.running:
            self.call(slot, "on_params_changed", slot.strategy.on_params_changed, old)
        self._changed(name)
        return None

    # -- views -------------------------------------------------------------------

    def views(self) -> tuple[StrategyView, ...]:
        """An immutable view of every loaded strategy, in settings order."""
        return tuple(build_view(slot) for slot in self._slots.values())

    def state(self, name: str) -> StrategyState | None:
        """The state of one strategy, ``None`` if unknown."""
        slot = self._slots.get(name)
        return slot.state if slot is not None else None

    def strategy(self, name: str) -> Strategy | None:
        """The strategy object itself (tests and the engine's own tools)."""
        slot = self._slots.get(name)
        return slot.strategy if slot is not None else None

    def limits(self) -> dict[str, StrategyLimits]:
        """Per-strategy risk limits, for the risk manager."""
        return {name: slot.entry.limits for name, slot in self._slots.items()}

    def _latency_source(self) -> list[tuple[str, Any]]:
        return [(name, slot.latency) for name, slot in self._slots.items()]
