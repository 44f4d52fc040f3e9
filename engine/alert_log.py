"""Every alert of the session, newest last, with acknowledgement."""

from __future__ import annotations

from collections import deque

import msgspec

from engine.alerts import AlertRaised


class AlertEntry(msgspec.Struct, frozen=True):
    """An alert as the alerts screen shows it."""

    alert: AlertRaised
    acknowledged: bool = False
    acknowledged_by: str = ""


class AlertLog:
    """A bounded log of alerts; ``version`` bumps on every new alert or acknowledgement."""

    def __init__(self, capacity: int = 1000) -> None:
        self._entries: deque[AlertEntry] = deque(maxlen=capacity)
        self.version = 0
        self.unacknowledged = 0

    def add(self, alert: AlertRaised) -> None:
        """Record a new, unacknowledged alert (the oldest falls off when full)."""
        if len(self._entries) == self._entries.maxlen and not self._entries[0].acknowledged:
            self.unacknowledged -= 1
        self._entries.append(AlertEntry(alert))
        self.unacknowledged += 1
        self.version += 1

    def acknowledge(self, alert_id: str | None, user: str) -> int:
        """Acknowledge one alert (or all when ``alert_id`` is None); returns how many."""
        count = 0
        for index, entry in enumerate(self._entries):
            if entry.acknowledged or (alert_id is not None and entry.alert.alert_id != alert_id):
                continue
            self._entries[index] = AlertEntry(entry.alert, True, user)
            count += 1
        if count:
            self.unacknowledged -= count
            self.version += 1
        return count

    def entries(self) -> tuple[AlertEntry, ...]:
        """Every kept alert, oldest first."""
        return tuple(self._entries)
