"""Alerts: what the desk wants a human to see."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Severity(StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertSource(StrEnum):
    """Which part of the desk raised the alert."""

    RISK = "risk"
    DATA_QUALITY = "data_quality"
    FEED = "feed"
    BROKER = "broker"
    SYSTEM = "system"
    STRATEGY = "strategy"


class AlertRaised(msgspec.Struct, frozen=True):
    """An alert, published on ``alerts.<source>``."""

    alert_id: str
    ts_ns: int
    severity: Severity
    source: AlertSource
    message: str

    @property
    def topic(self) -> str:
        """Bus topic of this alert."""
        return f"alerts.{self.source.value}"
