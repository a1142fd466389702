"""A log view that stays responsive under floods of output.

Worker threads `push()` lines (thread-safe); the view writes them to the full
log on disk at once and shows them in batches a few times a second. The screen
keeps only the last `max_lines`; lines that arrive faster than a batch can show
are counted and dropped from the screen, never from the file.

Long lines wrap at the view's width (a backup path, a yum URL must be readable at
80 columns without scrolling sideways): each line is cut into rows when it is shown,
and the rows are cut again from the kept lines when the width changes. Wrapping is
plain string slicing on the UI thread, cheap next to rendering (textual's Log, not
RichLog, so a flood stays fast).
"""
from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from textual.widgets import Log

from rich.cells import cell_len, chop_cells

from wizard.i18n import _, ngettext
from wizard.termsafe import safe


def wrap(line: str, width: int) -> list[str]:
    """`line` as rows of at most `width` cells, cut at a space where one is near the end;
    continuation rows are indented two more than the line."""
    line = line.expandtabs()
    if width < 8 or cell_len(line) <= width:
        return [line]
    indent = " " * (min(len(line) - len(line.lstrip(" ")), width // 2) + 2)
    rows, rest, first = [], line, True
    while True:
        room = width if first else width - len(indent)
        if cell_len(rest) <= room:
            rows.append(rest if first else indent + rest)
            return rows
        head = chop_cells(rest, room)[0]
        cut = head.rfind(" ")
        if cut > room // 2:             # break after a space, the space stays at the row's end
            head = head[:cut + 1]
        rows.append(head.rstrip() if first else indent + head.rstrip())
        rest, first = rest[len(head):].lstrip(" "), False
        if not rest:
            return rows


class LogView(Log):
    """Bounded, batched, disk-backed log for one host."""

    DEFAULT_CSS = """
    LogView { height: 1fr; border: none; }
    """

    def __init__(self, path: Path | None = None, *, max_lines: int = 5000,
                 interval: float = 1 / 15, **kw) -> None:
        super().__init__(max_lines=max_lines, highlight=False, **kw)
        self.path = path
        self.interval = interval
        self._pending: deque[str] = deque(maxlen=max(1, max_lines - 1))   # room for the notice
        self.limit = max_lines              # rows kept on screen (whole lines: see show())
        self._shown: deque[str] = deque()   # the lines on screen, unwrapped
        self._rows: deque[int] = deque()    # how many rows each of them takes
        self._wrap_width = 0
        self._lock = threading.Lock()
        self._dropped = 0
        self.total = 0                   # lines pushed, shown or not
        self._file = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(path, "a", encoding="utf-8")

    def on_mount(self) -> None:
        self.set_interval(self.interval, self.flush)

    def push(self, line: str) -> None:
        """Queue a line (any thread); control characters are shown escaped (wizard.termsafe)."""
        line = safe(line)
        with self._lock:
            if len(self._pending) == self._pending.maxlen:
                self._dropped += 1
            self._pending.append(line)
            self.total += 1
            if self._file is not None:
                self._file.write(line + "\n")

    def push_many(self, lines: list[str]) -> None:
        for line in lines:
            self.push(line)

    def flush(self) -> None:
        """Show what arrived since the last batch (UI thread)."""
        with self._lock:
            if not self._pending:
                return
            lines = list(self._pending)
            self._pending.clear()
            dropped, self._dropped = self._dropped, 0
            if self._file is not None:
                self._file.flush()
        self.show(lines, self.wrap_width(), dropped)

    def notice(self, dropped: int) -> str:
        text = ngettext("{n} line not shown", "{n} lines not shown", dropped).format(n=dropped)
        where = " " + _("(full log: {path})").format(path=self.path) if self.path else ""
        return f"… {text}{where}"

    def show(self, lines: list[str], width: int, dropped: int = 0) -> None:
        """Write `lines` as rows, at most `limit` rows on screen. Lines leave the screen
        whole, the oldest first; when a batch alone is too tall, its oldest lines are not
        shown either and the notice at its top counts them (the file has them all)."""
        batch = [wrap(line, width) for line in lines]
        rows = sum(map(len, batch))
        notice_rows = 0
        if dropped or rows > self.limit:        # its room, for the largest count it could say
            notice_rows = len(wrap(self.notice(dropped + len(lines)), width))
        total = sum(self._rows) + rows + notice_rows
        while total > self.limit and self._rows:
            total -= self._rows.popleft()
            self._shown.popleft()
        cut = 0
        while total > self.limit and cut < len(batch) - 1:
            total -= len(batch[cut])
            cut += 1
        lines, batch = lines[cut:], batch[cut:]
        if dropped + cut:
            text = self.notice(dropped + cut)
            lines.insert(0, text)
            batch.insert(0, wrap(text, width))
        self._shown.extend(lines)
        self._rows.extend(len(r) for r in batch)
        self.max_lines = max(sum(self._rows), 1)    # Log drops the rows of the lines gone
        self.write_lines([row for r in batch for row in r])

    def wrap_width(self) -> int:
        """The columns a row may use (the vertical scrollbar's are kept free)."""
        width = self.size.width - self.styles.scrollbar_size_vertical
        self._wrap_width = width
        return width

    def on_resize(self) -> None:
        """Another width: the kept lines are cut into rows again."""
        if self.size.width - self.styles.scrollbar_size_vertical == self._wrap_width:
            return
        at_end = self.is_vertical_scroll_end       # following the output: still after
        lines = list(self._shown)
        self.clear()
        self.show(lines, self.wrap_width())
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def clear(self):
        self._shown.clear()
        self._rows.clear()
        return super().clear()

    def on_unmount(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
