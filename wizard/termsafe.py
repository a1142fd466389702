"""Text from hosts and answers made safe for a terminal, in one place.

A host's output, a file's content or an answers value may hold terminal control
sequences: `ESC ] 0 ; title BEL` retitles the window, `ESC [ 2 J` clears the screen,
`ESC [ 8 m` hides what follows, a CR or backspaces overwrite what was printed, OSC 52
writes the clipboard. Everything the CLI prints, the TUI shows and the logs keep passes
through `safe()`, which shows every control character as a visible escape instead:

    safe("\\x1b]0;TITLE\\x07\\x1b[2J") == "\\\\x1b]0;TITLE\\\\x07\\\\x1b[2J"

Kept as they are: printable text, and the tab and newline where lines are expected
(`keep`). Escaped: the other C0 controls (NUL, BEL, BS, CR, ESC, ...), DEL, the C1
controls (U+0080–U+009F, e.g. the one-byte CSI U+009B), Unicode line/paragraph
separators and the bidirectional overrides that reorder what is shown (U+202A–U+202E,
U+2066–U+2069). A backslash stays a backslash (the escapes are for reading, not for
round-tripping).
"""
from __future__ import annotations

import dataclasses
import re

_BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_NAMED = {"\r": "\\r", "\t": "\\t", "\n": "\\n"}


def _escape(m: re.Match) -> str:
    c = m.group(0)
    if c in _NAMED:
        return _NAMED[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def safe(text: str | None, *, keep: str = "\t\n") -> str:
    """`text` with every control character shown escaped (`\\x1b`, `\\r`, `\\u202e`), except
    the ones in `keep` (default: tab and newline). None gives ""."""
    if not text:
        return "" if text is None else text
    if not _UNSAFE.search(text):
        return text
    if keep:
        return _UNSAFE.sub(lambda m: m.group(0) if m.group(0) in keep else _escape(m), text)
    return _UNSAFE.sub(_escape, text)


def safe_line(text: str | None) -> str:
    """One line: newlines and tabs escaped too."""
    return safe(text, keep="")


def lines(text: str) -> list[str]:
    """`text` split into lines at newlines only (str.splitlines also splits at CR, VT, FF,
    FS/GS/RS, NEL and U+2028, which a host can use to forge a line), each line safe."""
    parts = text.split("\n")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()                   # a final newline ends the last line, it opens none
    return [safe(part, keep="\t") for part in parts]


def safe_event(event):
    """A copy of a runner event (wizard.events) with every text field made safe; the
    multi-line ones (the failure's tail) keep their newlines, the others become one line."""
    if not dataclasses.is_dataclass(event):
        return event
    changes = {}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, str):
            changes[f.name] = safe(value) if f.name in ("tail", "display", "reason") else safe_line(value)
    return dataclasses.replace(event, **changes) if changes else event
