"""Rejection bookkeeping: the recent list, a metric per check and rate-limited alerts."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from engine.alerts import Severity
from engine.clock import NS_PER_SECOND
from engine.risk.records import RiskRejection

AlertSink = Callable[[Severity, str], None]


class RejectionLog:
    """Keeps the last ``capacity`` rejections, counts them per check, alerts at most once per
    check and strategy every ``alert_interval_s`` (a flood is one alert, not a thousand)."""

    def __init__(
        self,
        capacity: int,
        alert_interval_s: float,
        alert: AlertSink,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.recent: deque[RiskRejection] = deque(maxlen=capacity)
        """The most recent rejections, oldest first."""
        self.total = 0
        self.alerts_suppressed = 0
        self.counter = Counter(
            "alphapt_risk_rejections",
            "Orders rejected by a pre-trade risk check.",
            ["check"],
            registry=registry if registry is not None else CollectorRegistry(),
        )
        self._children: dict[str, Any] = {}
        self._alert = alert
        self._interval_ns = int(alert_interval_s * NS_PER_SECOND)
        self._last_alert: dict[tuple[str, str], int] = {}
        self._suppressed: dict[tuple[str, str], int] = {}

    def record(
        self,
        check: str,
        now_ns: int,
        summary: str,
        detail: str,
        strategy: str = "",
        critical: bool = False,
    ) -> str:
        """Record one rejection and return its reason line: ``rejected by <check>: <detail>``."""
        reason = f"rejected by {check}: {detail}"
        self.recent.append(RiskRejection(now_ns, check, summary, reason, strategy))
        self.total += 1
        child = self._children.get(check)
        if child is None:
            child = self._children[check] = self.counter.labels(check)
        child.inc()
        key = (check, strategy)
        last = self._last_alert.get(key)
        if critical or last is None or now_ns - last >= self._interval_ns:
            more = self._suppressed.pop(key, 0)
            tail = f" (+{more} more since the last alert)" if more else ""
            self._last_alert[key] = now_ns
            severity = Severity.CRITICAL if critical else Severity.WARNING
            self._alert(severity, f"{reason} [{summary}]{tail}")
        else:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            self.alerts_suppressed += 1
        return reason
