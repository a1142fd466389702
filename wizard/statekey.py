"""The tool's state folder and this machine's private key for checksums kept there.

A journal records which files a run wrote and which actions it finished, so that the next
apply can resume. A plain sha256 of the init script (which holds the database password)
would let anyone who reads the journal test password guesses offline. Every checksum the
state folder keeps is therefore keyed: HMAC-SHA256 under a random 32-byte key made on first
use, kept in `<state dir>/state.key` (mode 0600, folder 0700), never leaving this machine.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
from pathlib import Path

from .i18n import _

KEY_FILE = "state.key"
PREFIX = "hmac-sha256:"
_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def state_dir() -> Path:
    """The tool's state folder (journals, known_hosts); CHATWIZARD_STATE_DIR overrides."""
    env = os.environ.get("CHATWIZARD_STATE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_state_dir
    return Path(user_state_dir("chatwizard"))


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner may enter (created 0700; an existing one tightened)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def key() -> bytes:
    """This machine's key (made on first use, 0600)."""
    folder = state_dir()
    with _lock:
        k = _cache.get(str(folder))
        if k is not None:
            return k
        private_dir(folder)
        path = folder / KEY_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            k = path.read_bytes()
            if len(k) < 32:
                raise OSError(_("{path} is damaged (shorter than 32 bytes); remove it: the "
                                "journals it keyed are then set aside").format(path=path)) from None
        else:
            k = os.urandom(32)
            with os.fdopen(fd, "wb") as f:
                f.write(k)
                f.flush()
                os.fsync(f.fileno())
        _cache[str(folder)] = k
        return k


def keyed(text: str) -> str:
    """`hmac-sha256:<hex>` of `text` (e.g. a sha256 hex digest) under this machine's key."""
    return PREFIX + hmac.new(key(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def matches(recorded: str, digest: str | None) -> bool:
    """Whether a recorded checksum (keyed, or a plain sha256 from an older journal) is the
    one of content whose sha256 hex digest is `digest` (None: the file is absent)."""
    if digest is None:
        return recorded is None
    if isinstance(recorded, str) and recorded.startswith(PREFIX):
        return hmac.compare_digest(recorded, keyed(digest))
    return recorded == digest
