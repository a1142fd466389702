"""Write a local file whole or not at all: temp file beside it (mode 0600), fsync, rename."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Replace `path` with `text` atomically (0600: answers, acks and fingerprints are private)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    dfd = os.open(target.parent, os.O_RDONLY)        # the rename itself survives a crash
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    return target
