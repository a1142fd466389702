"""A log view that stays responsive under floods of output.

Worker threads `push()` lines (thread-safe); the view writes them to the full
log on disk at once and shows them in batches a few times a second. The screen
keeps only the last `max_lines`; lines that arrive faster than a batch can show
are counted and dropped from the screen, never from the file.
"""
from __future__ import annotations

import threading
from collections import deque
from pathlib import Path

from textual.widgets import Log

from wizard.i18n import _, ngettext
from wizard.termsafe import safe


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
        if dropped:
            text = ngettext("{n} line not shown", "{n} lines not shown", dropped).format(n=dropped)
            where = " " + _("(full log: {path})").format(path=self.path) if self.path else ""
            lines.insert(0, f"… {text}{where}")
        self.write_lines(lines)

    def on_unmount(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
