"""Component health: every component is visible as starting, running, degraded, failed or stopped."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class HealthState(StrEnum):
    """Lifecycle and health of one component."""

    STARTING = "starting"
    RUNNING = "running"
    DEGRADED = "degraded"
    FAILED = "failed"
    STOPPED = "stopped"


class ComponentHealth(msgspec.Struct, frozen=True):
    """An immutable view of one component's health."""

    name: str
    state: HealthState
    since_ns: int
    detail: str = ""
    critical: bool = False


_SEVERITY = {
    HealthState.RUNNING: 0,
    HealthState.STOPPED: 0,
    HealthState.STARTING: 1,
    HealthState.DEGRADED: 2,
    HealthState.FAILED: 3,
}


class HealthRegistry:
    """Current health of every component, keyed by name."""

    def __init__(self) -> None:
        self._components: dict[str, ComponentHealth] = {}
        self.version = 0

    def set(
        self, name: str, state: HealthState, now_ns: int, detail: str = "", critical: bool = False
    ) -> None:
        """Record a component's state (a no-op if nothing changed)."""
        current = self._components.get(name)
        if current is not None and current.state == state and current.detail == detail:
            return
        since = current.since_ns if current is not None and current.state == state else now_ns
        self._components[name] = ComponentHealth(name, state, since, detail, critical)
        self.version += 1

    def get(self, name: str) -> ComponentHealth | None:
        """One component's health, if registered."""
        return self._components.get(name)

    def all(self) -> tuple[ComponentHealth, ...]:
        """Every component, in registration order."""
        return tuple(self._components.values())

    def overall(self) -> HealthState:
        """The worst state of any component (RUNNING when all are fine)."""
        if not self._components:
            return HealthState.STARTING
        worst = max(self._components.values(), key=lambda c: _SEVERITY[c.state])
        if _SEVERITY[worst.state] == 0:
            return HealthState.RUNNING
        return worst.state
