"""A virtual table for live quotes: only the rows on screen are ever rendered.

Textual's DataTable refreshes once per ``update_cell``; at 1,000 rows changing
four times a second that costs hundreds of milliseconds a frame. This widget
keeps the rows as plain objects and renders a line only when it is visible
(the Line API), so a frame costs the same at 50 rows or 5,000.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip


@dataclass(frozen=True, slots=True)
class Column:
    """One column: key, header label, fixed width, sort value and cell renderer."""

    key: str
    label: str
    width: int
    value: Callable[[Any], Any]
    render: Callable[[Any], Text | str]
    justify: str = "right"


class QuoteTable(ScrollView, can_focus=True):
    """Fixed-width columns over rows keyed by any hashable; a cursor row; a fixed header."""

    COMPONENT_CLASSES = {
        "quote-table--header",
        "quote-table--cursor",
        "quote-table--odd",
    }
    DEFAULT_CSS = """
    QuoteTable {
        background: $surface;
    }
    QuoteTable > .quote-table--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    QuoteTable > .quote-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: bold;
    }
    QuoteTable > .quote-table--odd {
        background: $surface-lighten-1;
    }
    """
    BINDINGS = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
    ]

    cursor_row: reactive[int] = reactive(0)
    """Index of the highlighted row."""

    class HeaderClicked(Message):
        """The header of ``column_key`` was clicked."""

        def __init__(self, column_key: str) -> None:
            super().__init__()
            self.column_key = column_key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: list[Column] = []
        self.row_keys: list[Hashable] = []
        self._rows: dict[Hashable, Any] = {}
        self._lines: dict[Hashable, tuple[Any, int, list[Segment]]] = {}
        self._combined: dict[tuple[Style, str | Style], Style] = {}
        # Until the trader moves the cursor it stays on the first row, even as rows arrive.
        self._pinned = False

    # -- data ------------------------------------------------------------------

    def set_columns(self, columns: Sequence[Column]) -> None:
        """Replace the columns (a layout change)."""
        self.columns = list(columns)
        self._lines.clear()
        self._resize()

    def set_rows(self, keys: Sequence[Hashable], rows: dict[Hashable, Any]) -> None:
        """Show ``keys`` in this order, each rendered from ``rows[key]``."""
        cursor_key = self.cursor_key
        self.row_keys = list(keys)
        self._rows = {key: rows[key] for key in self.row_keys}
        if self._pinned and cursor_key in self._rows:
            self.cursor_row = self.row_keys.index(cursor_key)
        self.cursor_row = max(0, min(self.cursor_row, len(self.row_keys) - 1))
        self._resize()
        self.refresh()

    def update_rows(self, rows: dict[Hashable, Any]) -> None:
        """New values for rows already shown; repaints only if one of them is on screen."""
        shown = self._rows
        changed = False
        for key, row in rows.items():
            if key in shown:
                shown[key] = row
                changed = True
        if changed:
            self.refresh()

    @property
    def row_count(self) -> int:
        """Rows shown."""
        return len(self.row_keys)

    @property
    def cursor_key(self) -> Hashable | None:
        """Key of the highlighted row."""
        if not self.row_keys:
            return None
        return self.row_keys[min(self.cursor_row, len(self.row_keys) - 1)]

    def cells_at(self, index: int) -> list[str]:
        """The plain text of each cell of row ``index`` (for tests and copy)."""
        row = self._rows[self.row_keys[index]]
        return [str(column.render(row)) for column in self.columns]

    # -- rendering -------------------------------------------------------------

    def _resize(self) -> None:
        width = sum(column.width + 2 for column in self.columns)
        self.virtual_size = Size(width, len(self.row_keys) + 1)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            style = self.get_component_rich_style("quote-table--header")
            segments = self._segments([c.label for c in self.columns], style)
            return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        if index >= len(self.row_keys):
            return Strip.blank(width, self.rich_style)
        key = self.row_keys[index]
        row = self._rows[key]
        if index == self.cursor_row:
            style = self.get_component_rich_style("quote-table--cursor")
        elif index % 2:
            style = self.get_component_rich_style("quote-table--odd")
        else:
            style = self.rich_style
        cached = self._lines.get(key)
        if cached is not None and cached[0] is row and cached[1] == hash(style):
            segments = cached[2]
        else:
            segments = self._segments([c.render(row) for c in self.columns], style)
            self._lines[key] = (row, hash(style), segments)
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)

    def _segments(self, cells: list[Text | str], base: Style) -> list[Segment]:
        # Built straight from the cells, not through a rich Text per line: on the UI thread
        # this was most of a frame at 45 visible rows. Same output: runs of one style merge.
        segments: list[Segment] = []
        run: list[str] = []
        run_style = base
        styled = self._styled
        for column, cell in zip(self.columns, cells, strict=True):
            if isinstance(cell, Text):
                if cell.spans:
                    # Rich text with spans (none today): let rich lay it out.
                    text = cell.copy()
                    text.truncate(column.width)
                    pad = " " * (column.width - text.cell_len)
                    pieces = list(Text.assemble(text, style=base).render(self.app.console))
                else:
                    plain = cell.plain
                    pieces = None
                style = styled(base, cell.style)
            else:
                plain, style, pieces = str(cell), base, None
            if pieces is None:
                if cell_len(plain) > column.width:
                    plain = set_cell_size(plain, column.width)
                pad = " " * (column.width - cell_len(plain))
                pieces = [Segment(plain, style)] if plain else []
            before, after = (" " + pad, " ") if column.justify == "right" else (" ", pad + " ")
            for text, piece_style in (
                (before, base),
                *((p.text, p.style) for p in pieces),
                (after, base),
            ):
                # Identity, not equality (Style.__eq__ hashes): combined styles are cached.
                if piece_style is not run_style:
                    if run:
                        segments.append(Segment("".join(run), run_style))
                    run, run_style = [], piece_style
                run.append(text)
        if run:
            segments.append(Segment("".join(run), run_style))
        return segments

    def _styled(self, base: Style, style: str | Style) -> Style:
        """``base`` with a cell's style on top (parsed styles are cached by rich)."""
        if not style:
            return base
        key = (base, style)
        combined = self._combined.get(key)
        if combined is None:
            parsed = self.app.console.get_style(style) if isinstance(style, str) else style
            combined = self._combined[key] = base + parsed
        return combined

    # -- cursor and mouse ------------------------------------------------------

    def watch_cursor_row(self, old: int, new: int) -> None:
        visible = self.scrollable_content_region.height - 1
        if new < self.scroll_y:
            self.scroll_to(y=new, animate=False)
        elif visible > 0 and new >= self.scroll_y + visible:
            self.scroll_to(y=new - visible + 1, animate=False)
        self.refresh()

    def _move(self, delta: int) -> None:
        self._pinned = True
        if self.row_keys:
            self.cursor_row = max(0, min(len(self.row_keys) - 1, self.cursor_row + delta))

    def action_cursor_up(self) -> None:
        self._move(-1)

    def action_cursor_down(self) -> None:
        self._move(1)

    def action_page_up(self) -> None:
        self._move(-(self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        self._move(self.scrollable_content_region.height - 1)

    def action_first(self) -> None:
        self._move(-len(self.row_keys))

    def action_last(self) -> None:
        self._move(len(self.row_keys))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:
            x = event.x + self.scroll_offset.x
            for column in self.columns:
                if x < column.width + 2:
                    self.post_message(self.HeaderClicked(column.key))
                    return
                x -= column.width + 2
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.row_keys):
            self._pinned = True
            self.cursor_row = index
