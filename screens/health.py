"""Health: components, queues, storage, connections and data quality, pulled once a second."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from alphapt_tui.widgets.header import FEED_STYLE, HEALTH_STYLE, DeskHeader
from engine.clock import NS_PER_SECOND, ns_to_ist
from engine.quality import CheckSummary, InstrumentQuality
from engine.snapshot import HealthReport

WIDE_LAYOUT_MIN_WIDTH = 150
POLICY_STYLE = {"quarantine": "bold red", "flag": "yellow", "pass": "dim"}
STATUS_STYLE = {"quarantined": "bold red", "flagged": "yellow", "stale": "magenta", "ok": "green"}
Columns = Sequence[tuple[str, str, int]]
"""``(key, label, width)`` of each column."""


def _right(value: object, style: str = "") -> Text:
    return Text(str(value), style=style, justify="right")


def _clock(ns: int) -> str:
    return ns_to_ist(ns).strftime("%H:%M:%S") if ns else "—"


def _duration(seconds: float) -> str:
    whole = max(int(seconds), 0)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _score_style(score: float) -> str:
    return "green" if score >= 99.0 else "yellow" if score >= 95.0 else "bold red"


class KeyedTable(DataTable[Any]):
    """A DataTable kept in step with keyed rows: changed cells are updated in place."""

    def __init__(self, title: str, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.border_title = title
        self._values: dict[str, tuple[Any, ...]] = {}
        self._keys: tuple[str, ...] = ()
        self._column_keys: tuple[str, ...] = ()

    def set_columns(self, columns: Columns) -> None:
        """Replace the columns (fixed widths) and forget every row."""
        self.clear(columns=True)
        self._values = {}
        self._column_keys = tuple(key for key, _, _ in columns)
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)

    def sync(self, rows: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        """Show exactly ``rows`` (key, cells) in order, touching only what changed."""
        rows = list(rows)
        keys = tuple(key for key, _ in rows)
        if set(keys) != set(self._values) or keys != self._keys:
            self.clear()
            self._values = {}
            for key, cells in rows:
                self.add_row(*cells, key=key)
                self._values[key] = cells
            self._keys = keys
            return
        for key, cells in rows:
            old = self._values[key]
            for column, new, was in zip(self._column_keys, cells, old, strict=True):
                if new != was:
                    self.update_cell(key, column, new)
            self._values[key] = cells


class HealthScreen(Screen[None]):
    """The desk's health at a glance; refreshed from ``client.health()`` every second."""

    CSS_PATH = "health.tcss"
    BINDINGS = [("r", "refresh", "Refresh")]

    def __init__(self, interval_s: float = 1.0) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.report: HealthReport | None = None
        """The latest report shown."""
        self.wide: bool | None = None
        self._pulling = False

    def compose(self) -> ComposeResult:
        yield DeskHeader("Health")
        yield Static("waiting for the engine…", id="summary")
        with Horizontal(id="body"):
            with Vertical(id="left"):
                yield KeyedTable("Components", id="components")
                yield KeyedTable("Queues", id="queues")
                yield KeyedTable("Connections", id="connections")
            with Vertical(id="right"):
                yield KeyedTable("Data quality", id="checks")
                yield KeyedTable("Worst instruments", id="worst")
        yield Footer()

    def on_mount(self) -> None:
        self._layout(self.size.width)
        self._timer = self.set_interval(self.interval_s, self.refresh_health)
        self.call_later(self.refresh_health)
        self.query_one("#checks", KeyedTable).focus()

    def on_screen_suspend(self) -> None:
        self._timer.pause()

    def on_screen_resume(self) -> None:
        self._timer.resume()

    def on_resize(self, event: Resize) -> None:
        self._layout(event.size.width)

    def action_refresh(self) -> None:
        """Pull a report now."""
        self.run_worker(self.refresh_health(), group="health")

    async def refresh_health(self) -> None:
        """Pull one report and show it; at most one request in flight."""
        if self._pulling:
            return
        self._pulling = True
        try:
            report = await self.app.client.health()
        except Exception as exc:
            self.query_one("#summary", Static).update(
                Text(f"engine unreachable: {type(exc).__name__}", style="bold white on red")
            )
            return
        finally:
            self._pulling = False
        with self.app.batch_update():
            self.show(report)

    def _layout(self, width: int) -> None:
        wide = width >= WIDE_LAYOUT_MIN_WIDTH
        if wide == self.wide:
            return
        self.wide = wide
        self.set_class(wide, "-wide")
        tables = {t.id: t for t in self.query(KeyedTable)}
        tables["components"].set_columns(
            [("name", "Component", 12 if wide else 10), ("state", "State", 9 if wide else 8)]
            + [("since", "Since", 8)]
            + ([("detail", "Last error", 21)] if wide else [])
        )
        tables["queues"].set_columns(
            [("name", "Consumer", 18 if wide else 12), ("depth", "Depth", 6), ("drops", "Drops", 8)]
        )
        tables["connections"].set_columns(
            [("name", "Connection", 12 if wide else 10), ("state", "State", 30 if wide else 15)]
        )
        tables["checks"].set_columns(
            [
                ("name", "Check", 23),
                ("policy", "Policy" if wide else "Pol.", 10 if wide else 4),
                ("count", "Count", 7 if wide else 6),
                ("last", "Last", 8),
                ("detail", "Detail", 38 if wide else 12),
            ]
        )
        tables["worst"].set_columns(
            [
                ("name", "Instrument", 14),
                ("status", "Status", 11),
                ("score", "Score", 7),
                ("ticks", "Ticks", 7),
                ("flagged", "Flagged", 7),
                ("quarantined", "Quarant.", 8),
                ("last", "Last check", 23),
            ]
        )
        if self.report is not None:
            self.show(self.report)

    def show(self, report: HealthReport) -> None:
        """Bring every panel up to date with ``report``."""
        self.report = report
        self.query_one("#summary", Static).update(self._summary(report))
        tables = {t.id: t for t in self.query(KeyedTable)}
        wide = bool(self.wide)
        tables["components"].sync(
            (
                c.name,
                (
                    c.name,
                    Text(c.state.value, style=HEALTH_STYLE.get(c.state.value, "")),
                    _clock(c.since_ns),
                    *([Text(c.detail or "—", style="red" if c.detail else "dim")] if wide else []),
                ),
            )
            for c in report.components
        )
        queues = [
            (q.consumer, (q.consumer, _right(q.depth), _right(f"{q.drops:,}")))
            for q in report.queues
        ]
        tables["queues"].sync(queues or [("", (Text("none", style="dim"), "", ""))])
        tables["connections"].sync(
            (name, (name, Text(state, style=FEED_STYLE.get(state, ""))))
            for name, state in report.connections
        )
        tables["checks"].sync((c.name, self._check_cells(c, wide)) for c in report.quality.checks)
        tables["worst"].sync(
            (str(q.instrument_token), self._worst_cells(q)) for q in report.quality.worst
        )

    def _symbol(self, token: int) -> str:
        if token == 0:
            return "feed"
        row = getattr(self.app, "quotes", {}).get(token)
        return row.tradingsymbol if row is not None else f"#{token}"

    def _check_cells(self, check: CheckSummary, wide: bool) -> tuple[Any, ...]:
        policy = check.policy if wide else check.policy[:4]
        if not check.enabled:
            policy = "off"
        detail = ""
        if check.count:
            detail = f"{self._symbol(check.last_token)}: {check.last_detail}"
        return (
            Text(check.name, style="" if check.count else "dim"),
            Text(policy, style=POLICY_STYLE.get(check.policy, "") if check.enabled else "dim"),
            _right(f"{check.count:,}", "bold" if check.count else "dim"),
            _clock(check.last_fired_ns),
            Text(detail, no_wrap=True, overflow="ellipsis"),
        )

    def _worst_cells(self, q: InstrumentQuality) -> tuple[Any, ...]:
        return (
            self._symbol(q.instrument_token),
            Text(q.status, style=STATUS_STYLE.get(q.status, "")),
            _right(f"{q.score:.1f}", _score_style(q.score)),
            _right(f"{q.ticks:,}"),
            _right(f"{q.flagged:,}"),
            _right(f"{q.quarantined:,}"),
            q.last_check or "—",
        )

    def _summary(self, r: HealthReport) -> Text:
        q = r.quality
        sep = (" │ ", "dim")
        worst = ("none", "dim")
        if q.worst:
            worst = (f"{self._symbol(q.worst[0].instrument_token)} {q.worst[0].score:.1f}%", "")
        if r.storage_lag_s is None:
            storage: tuple[tuple[str, str], ...] = (("off", "dim"),)
        else:
            storage = (
                (f"lag {r.storage_lag_s:.1f}s · pending {r.storage_pending:,} · ", ""),
                (f"dropped {r.storage_dropped:,}", "bold red" if r.storage_dropped else ""),
            )
        gap = ((" ", ""), (" FEED GAP ", "bold white on red")) if q.feed_gap else ()
        return Text.assemble(
            ("Up ", "dim"),
            _duration((r.now_ns - r.started_ns) / NS_PER_SECOND),
            (f" since {_clock(r.started_ns)}", "dim"),
            sep,
            f"{r.ticks_per_second:,.0f} ticks/s · {r.ticks_total:,} total",
            sep,
            ("Storage ", "dim"),
            *storage,
            "\n",
            ("Quality ", "dim"),
            (f"{q.score:.2f}%", _score_style(q.score)),
            (" worst ", "dim"),
            worst,
            sep,
            ("flagged ", "dim"),
            f"{q.flagged:,}",
            (" quarantined ", "dim"),
            f"{q.quarantined:,}",
            (" stale ", "dim"),
            f"{len(q.stale)}",
            sep,
            ("alerts ", "dim"),
            f"{q.alerts_raised:,} +{q.alerts_suppressed:,} held",
            *gap,
        )
