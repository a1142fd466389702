"""The last-resort safety net for secrets in text the wizard did not build.

What the wizard builds itself (commands, file contents, previews) is masked by
construction (wizard.secret_text): the secret-bearing form and the shown form are rendered
together. What it cannot build — a host's output, an exception's text, a log line quoting
either — passes through `mask()`, which searches for every registered secret form:

- a form of 8 characters or more is masked wherever it appears;
- a shorter one only where it stands as a word of its own (not inside `rooted` nor as the
  `root` of `/root`), so a password `root` does not turn every path into ********;
- a form of 1–2 characters only where a whole line is that form.

Whoever fetches a secret registers it (and any encoded form it will take on a host, e.g.
percent-encoded in a JDBC URL).
"""
from __future__ import annotations

import re
import threading
from urllib.parse import quote, quote_plus

MASK = "********"
LONG = 8                     # forms this long are masked anywhere

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def register(secret: str | None, *forms: str) -> None:
    """Remember a secret and the extra forms it is written in; empty values are ignored."""
    global _pattern
    if not secret:
        return
    derived = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    derived.update(f for f in forms if f)
    with _lock:
        _secrets.update(derived)
        _pattern = None


def _compiled() -> re.Pattern[str] | None:
    global _pattern
    with _lock:
        if _pattern is None and _secrets:
            parts = []
            for f in sorted(_secrets, key=len, reverse=True):
                e = re.escape(f)
                if len(f) >= LONG:
                    parts.append(e)
                elif len(f) >= 3:
                    parts.append(rf"(?<![A-Za-z0-9/_.-]){e}(?![A-Za-z0-9_-])")
                else:
                    parts.append(rf"(?m:^[ \t]*{e}[ \t]*$)")
            _pattern = re.compile("|".join(parts))
        return _pattern


def mask(text: str) -> str:
    """`text` with every registered secret form replaced by ********, longest first."""
    if not text:
        return text
    rx = _compiled()
    return rx.sub(MASK, text) if rx is not None else text


def known() -> frozenset[str]:
    """All registered forms (tests scan files and logs for them)."""
    with _lock:
        return frozenset(_secrets)


def clear() -> None:
    """Forget every secret (tests)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None
