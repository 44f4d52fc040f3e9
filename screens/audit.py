"""Audit: who did what, from where, and what came of it; filter by user and action."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from alphapt_tui.widgets.header import DeskHeader
from engine.auth.rows import AuditRow
from engine.clock import ns_to_ist

COLUMNS = (
    ("time", "Time", 19),
    ("user", "User", 12),
    ("source", "Source", 15),
    ("session", "Session", 12),
    ("action", "Action", 20),
    ("result", "Result", 8),
    ("detail", "Detail", 60),
)
MAX_ROWS = 500
"""Newest entries shown; ``alphapt-tui audit export`` has them all."""
RESULT_STYLE = {"ok": "green", "failed": "yellow", "refused": "bold red"}


def summary(detail: str) -> str:
    """One line from an audit detail: the engine's reply, else the JSON itself."""
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    return str(data.get("reply") or detail) if isinstance(data, dict) else detail


def matches(row: AuditRow, action: str) -> bool:
    """Whether ``row``'s action contains ``action`` (case-insensitive; empty matches all)."""
    return action.strip().lower() in row.action.lower()


class AuditScreen(Screen[None]):
    """The audit trail, newest first, pulled from the engine's ledger."""

    BINDINGS = [Binding("r", "reload", "Reload")]
    DEFAULT_CSS = """
    AuditScreen #audit-filters { height: 3; }
    AuditScreen #audit-filters Input { width: 1fr; }
    AuditScreen #audit { height: 1fr; }
    AuditScreen #audit-status { height: 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: tuple[AuditRow, ...] = ()

    def compose(self) -> ComposeResult:
        yield DeskHeader("Audit")
        with Horizontal(id="audit-filters"):
            yield Input(placeholder="user (Enter)", id="audit-user")
            yield Input(placeholder="action, e.g. Order (Enter)", id="audit-action")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-status")
        yield Footer()

    @property
    def table(self) -> DataTable[Any]:
        """The audit table."""
        return self.query_one("#audit", DataTable)

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.table.focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    @on(Input.Submitted)
    def _filter(self) -> None:
        self.action_reload()
        self.table.focus()

    def action_reload(self) -> None:
        """Pull the audit trail again with the current user filter."""
        user = self.query_one("#audit-user", Input).value.strip() or None
        self.load(user)

    @work(exclusive=True, group="audit")
    async def load(self, user: str | None) -> None:
        """Fetch entries for ``user`` (all when None) and show them."""
        status = self.query_one("#audit-status", Static)
        try:
            self.rows = await self.app.client.audit(0, 2**62, user)  # type: ignore[attr-defined]
        except Exception as exc:
            status.update(f"audit unavailable: {type(exc).__name__}")
            return
        self.show()

    def show(self) -> None:
        """Redraw the table from the fetched rows and the action filter."""
        action = self.query_one("#audit-action", Input).value
        shown = [row for row in reversed(self.rows) if matches(row, action)][:MAX_ROWS]
        table = self.table
        table.clear()
        for row in shown:
            table.add_row(
                ns_to_ist(row.ts_ns).strftime("%Y-%m-%d %H:%M:%S"),
                row.user,
                row.source,
                row.session,
                row.action,
                Text(row.result, style=RESULT_STYLE.get(row.result, "")),
                summary(row.detail),
                key=str(row.id),
            )
        self.query_one("#audit-status", Static).update(f"{len(shown)} of {len(self.rows)} entries")
