"""Hide secrets in every string a person or a file will see.

One process-wide registry: whoever fetches a secret registers it (and any
encoded form it will take on a host, e.g. percent-encoded in a JDBC URL), and
every preview, log line, event and error passes through `mask()`.
"""
from __future__ import annotations

import threading
from urllib.parse import quote, quote_plus

MASK = "********"

_lock = threading.Lock()
_secrets: set[str] = set()


def register(secret: str | None, *forms: str) -> None:
    """Remember a secret and the extra forms it is written in; empty values are ignored."""
    if not secret:
        return
    derived = {secret, quote(secret, safe=""), quote_plus(secret, safe="")}
    derived.update(f for f in forms if f)
    with _lock:
        # very short values would mask ordinary text; a 1-2 char password is still hidden
        # where it stands as a whole line, but not inside words
        _secrets.update(d for d in derived if len(d) >= 3 or d == secret)


def mask(text: str) -> str:
    """`text` with every registered secret form replaced by ********, longest first."""
    if not text:
        return text
    with _lock:
        forms = sorted(_secrets, key=len, reverse=True)
    for f in forms:
        if len(f) >= 3 and f in text:
            text = text.replace(f, MASK)
    return text


def known() -> frozenset[str]:
    """All registered forms (tests scan files and logs for them)."""
    with _lock:
        return frozenset(_secrets)


def clear() -> None:
    """Forget every secret (tests)."""
    with _lock:
        _secrets.clear()
