"""Shell command text from argv-like parts: the one place a value is quoted for sh.

    from wizard.shell import Raw, cmd, join, quote, assign
    cmd("chown", "-h", "--", f"{owner}:{group}", path)      # every str part quoted
    cmd("rpm", "-q", pkg, Raw("2>/dev/null"), Raw("||"), "true")
    join(["ls", "-l", path])                                # the same as cmd(*argv)
    assign("dst", path)                                     # dst='…'  (then use "$dst")

A value is never pasted into shell text any other way: `quote()` wraps it in single quotes
(POSIX sh, bash, dash, busybox; `'` becomes '"'"'), so `$(…)`, backticks, `"`, `;`, globs
and newlines reach the command as plain characters. A NUL cannot be passed to a command at
all: it raises ValueError. `Raw` marks text written by the program itself (operators,
redirects, `"$var"` references) that must stay shell syntax.
"""
from __future__ import annotations

import os
import re
import shlex
from typing import Iterable, Union

__all__ = ["Raw", "quote", "join", "cmd", "assign"]


class Raw(str):
    """Shell syntax written by the program (never a value from a file, a host or a person)."""


Part = Union[str, int, "os.PathLike[str]", Raw]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote(value: Part) -> str:
    """`value` as one shell word that the shell reads back exactly (ints as digits)."""
    if isinstance(value, Raw):
        raise TypeError("quote(): Raw text is shell syntax, not a value")
    if isinstance(value, bool) or not isinstance(value, (str, int, os.PathLike)):
        raise TypeError(f"quote(): expected str, int or path, not {type(value).__name__}")
    text = os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if "\0" in text:
        raise ValueError(f"a NUL character cannot be passed to a command: {text!r}")
    return shlex.quote(text)


def join(argv: Iterable[Part]) -> str:
    """argv as one command line: each part quoted (Raw parts kept as they are)."""
    return " ".join(p if isinstance(p, Raw) else quote(p) for p in argv)


def cmd(*parts: Part) -> str:
    """join(parts): cmd("rm", "-f", "--", path)."""
    return join(parts)


def assign(name: str, value: Part) -> str:
    """`name=<quoted value>`, a shell variable assignment (name checked, value quoted)."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a shell variable name: {name!r}")
    return f"{name}={quote(value)}"
