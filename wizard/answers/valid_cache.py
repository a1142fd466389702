"""Answers files the schema already accepted, by content: a replay of the same file skips
the JSON-schema check (and the ~70 ms import of jsonschema on the way to the hosts).

The schema check is a pure function of the data and the schema, so its "no problem" can be
kept: the key is sha256 over the schema's text and the data in canonical JSON. Only clean
results are kept (a file with problems is checked, and explained, every time), only for
files (answers.load; the TUI validating an edit keeps nothing), at most KEEP of them, in
the state folder (0600, written whole). The semantic checks (paths, addresses, the phone
number, …) run every time: some depend on more than the text.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from importlib import resources
from typing import Any

log = logging.getLogger("wizard.answers")

KEEP = 64
NAME = "answers-schema-ok"


def digest(data: Any) -> str:
    h = hashlib.sha256(b"chatwizard answers schema check 1\0")
    h.update(resources.files("answers").joinpath("schema.json").read_bytes())
    h.update(b"\0" + json.dumps(data, sort_keys=True, ensure_ascii=False, default=repr).encode())
    return h.hexdigest()


def _path():
    from ..statekey import state_dir
    return state_dir() / NAME


def _known() -> list[str]:
    try:
        return _path().read_text("ascii").split()
    except (OSError, UnicodeDecodeError):
        return []


def known(key: str) -> bool:
    return key in _known()


def remember(key: str) -> None:
    """Keep `key` (the newest last); a state folder that cannot be written costs nothing."""
    from .. import atomic
    from ..statekey import private_dir
    keys = [k for k in _known() if k != key][-(KEEP - 1):] + [key]
    try:
        path = _path()
        private_dir(path.parent)
        atomic.write_text(path, "\n".join(keys) + "\n")
    except OSError as e:
        log.debug("not kept (%s): %s", os.fspath(_path()), e)
