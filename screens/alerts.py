"""Alerts: everything the desk raised, newest first; acknowledge one or all."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from alphapt_tui.widgets.header import DeskHeader
from engine.clock import ns_to_ist
from engine.snapshot import AcknowledgeAlert, DeskSnapshot

SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}
COLUMNS = (
    ("time", "Time", 8),
    ("severity", "Severity", 8),
    ("source", "Source", 12),
    ("message", "Message", 80),
    ("ack", "Ack by", 8),
)


class AlertsScreen(Screen[None]):
    """The alert log with acknowledgement."""

    BINDINGS = [
        Binding("enter,space", "acknowledge", "Acknowledge"),
        Binding("A", "acknowledge_all", "Acknowledge all"),
    ]
    DEFAULT_CSS = """
    AlertsScreen #alerts { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown_version = -1
        self._ids: list[str] = []

    def compose(self) -> ComposeResult:
        yield DeskHeader("Alerts")
        yield DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The alerts table."""
        return self.query_one("#alerts", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.table.focus()
        self.show_alerts()

    def on_screen_resume(self) -> None:
        self.show_alerts()

    def on_desk_update(self, snapshot: DeskSnapshot, watchlist_changed: bool) -> None:
        if self.app.alerts_version != self._shown_version:
            self.show_alerts()

    def show_alerts(self) -> None:
        """Redraw, keeping the cursor on the same alert."""
        if not self.table.columns:  # updates can arrive before on_mount adds them
            return
        self._shown_version = self.app.alerts_version
        table = self.table
        selected = self._ids[table.cursor_row] if self._ids and table.row_count else None
        entries = list(reversed(self.app.alerts))
        table.clear()
        self._ids = [entry.alert.alert_id for entry in entries]
        for entry in entries:
            alert = entry.alert
            style = "dim" if entry.acknowledged else ""
            table.add_row(
                ns_to_ist(alert.ts_ns).strftime("%H:%M:%S"),
                Text(alert.severity.value, style=SEVERITY_STYLE.get(alert.severity.value, "")),
                alert.source.value,
                Text(alert.message, style=style),
                entry.acknowledged_by or Text("—", style="bold yellow"),
                key=alert.alert_id,
            )
        if selected in self._ids:
            table.move_cursor(row=self._ids.index(selected), animate=False)

    def action_acknowledge(self) -> None:
        """Acknowledge the alert under the cursor."""
        if self._ids:
            alert_id = self._ids[min(self.table.cursor_row, len(self._ids) - 1)]
            self.run_worker(self.app.send(AcknowledgeAlert(alert_id=alert_id)))

    def action_acknowledge_all(self) -> None:
        """Acknowledge every alert."""
        self.run_worker(self.app.send(AcknowledgeAlert()))
