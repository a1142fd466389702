"""An in-process stand-in for a host connection, for unit tests of steps and the runner.

    t = FakeTransport(HostSpec("chat1", "10.0.0.5"),
                      files={"/etc/redhat-release": b"CentOS release 6.10 (Final)\\n"},
                      handlers={r"^rpm -q (\\S+)": lambda call: (1, f"package {call.match[1]} is not installed\\n"),
                                r"^yum ": 0})
    step.apply(t)
    assert t.commands[0].command == "rpm -q haproxy"
    assert t.files["/etc/haproxy/haproxy.cfg"] == b"..."
    assert t.writes[-1].mode == 0o644

Commands: the first handler whose regex matches (re.search) answers. A handler is a
callable taking a FakeCall (command, sudo, stdin, match, transport) or a constant, and
returns (or is) one of:
    None            exit 0, no output
    int             that exit code, no output
    str             exit 0 with that stdout
    (code, out) or (code, out, err)
    CommandResult   used as is (its `command` is replaced by the displayed command)
A handler may raise (e.g. TransportError, to simulate a dropped connection). A command no
handler matches exits 0 with no output, or raises AssertionError when strict=True.

Files live in `files` (path -> bytes); `modes` and `owners` hold what write_file set.
write_file backs an existing file up to BACKUP_ROOT/<UTC timestamp>/<path> inside `files`,
as the real transport does. Nothing here touches the network or the disk.
"""
from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from wizard.masking import mask
from wizard.transport.base import (BACKUP_ROOT, CommandResult, FileStat, HostSpec, OutputCallback,
                                   TransportError, WriteResult)


@dataclass
class FakeCall:
    """One run() call as recorded (and as handed to a handler)."""

    command: str
    sudo: bool = False
    stdin: bytes | None = None
    timeout: float | None = None
    display: str = ""
    match: re.Match | None = None
    transport: "FakeTransport | None" = field(default=None, repr=False, compare=False)


@dataclass
class FakeWrite:
    """One write_file() call as recorded."""

    path: str
    data: bytes
    mode: int
    owner: str | None
    group: str | None
    backup: str | None


class FakeTransport:
    """Records commands and file writes; answers commands from regex handlers."""

    training = False

    def __init__(self, spec: HostSpec, files: dict[str, bytes] | None = None,
                 handlers: dict[str, Callable[[FakeCall], Any] | Any] | None = None, *,
                 strict: bool = False, dirs: set[str] | None = None):
        self.spec = spec
        self.files: dict[str, bytes] = dict(files or {})
        self.dirs: set[str] = set(dirs or ())          # extra (empty) folders that exist
        self.handlers = [(re.compile(k), v) for k, v in (handlers or {}).items()]
        self.strict = strict
        self.commands: list[FakeCall] = []
        self.writes: list[FakeWrite] = []
        self.modes: dict[str, int] = {}
        self.owners: dict[str, tuple[str | None, str | None]] = {}
        self.closed = False
        self._stamp_n = 0

    def on(self, pattern: str, handler: Callable[[FakeCall], Any] | Any) -> "FakeTransport":
        """Add a handler after construction (checked after the earlier ones)."""
        self.handlers.append((re.compile(pattern), handler))
        return self

    def commands_matching(self, pattern: str) -> list[FakeCall]:
        """Recorded calls whose command matches `pattern` (re.search)."""
        rx = re.compile(pattern)
        return [c for c in self.commands if rx.search(c.command)]

    # -- Transport ------------------------------------------------------------------
    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output: OutputCallback | None = None,
            display: str | None = None) -> CommandResult:
        self._check_open()
        shown = display if display is not None else mask(command)
        call = FakeCall(command, sudo, stdin, timeout, shown, None, self)
        self.commands.append(call)
        answer: Any = None
        for rx, handler in self.handlers:
            m = rx.search(command)
            if m:
                call.match = m
                answer = handler(call) if callable(handler) else handler
                break
        else:
            if self.strict:
                raise AssertionError(f"FakeTransport({self.spec.name}): no handler for {command!r}")
        result = self._result(shown, answer)
        if on_output is not None:
            for stream, text in (("out", result.stdout), ("err", result.stderr)):
                for line in text.splitlines():
                    on_output(stream, mask(line))
        return result

    @staticmethod
    def _result(shown: str, answer: Any) -> CommandResult:
        if isinstance(answer, CommandResult):
            return CommandResult(shown, answer.exit_code, mask(answer.stdout), mask(answer.stderr),
                                 answer.duration_s)
        code, out, err = 0, "", ""
        if answer is None:
            pass
        elif isinstance(answer, bool):
            code = 0 if answer else 1
        elif isinstance(answer, int):
            code = answer
        elif isinstance(answer, str):
            out = answer
        elif isinstance(answer, tuple):
            code, out, err = (tuple(answer) + ("", ""))[:3]
        else:
            raise TypeError(f"FakeTransport handler returned {type(answer).__name__}")
        return CommandResult(shown, code, mask(out), mask(err), 0.0)

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        self._check_open()
        return self.files.get(path)

    # set True to answer a batch's commands from the handlers too (their calls are then
    # recorded in `batches`, not in `commands`); by default only files are batched
    batch_commands = False

    def probe_items(self, items: list) -> "Batch":
        """wizard.batch.fetch on the fake: one round trip (recorded in `batches`)."""
        from wizard.batch import Batch, CmdItem, FileEntry
        self._check_open()
        self.batches = getattr(self, "batches", [])
        self.batches.append(list(items))
        b = Batch(round_trips=1)
        for item in items:
            if isinstance(item, CmdItem):
                if not self.batch_commands:
                    continue
                answer, matched = None, False
                for rx, handler in self.handlers:
                    m = rx.search(item.command)
                    if m:
                        call = FakeCall(item.command, item.sudo, None, None, item.command, m, self)
                        answer, matched = (handler(call) if callable(handler) else handler), True
                        break
                if matched or not self.strict:
                    b.commands[(item.command, item.sudo)] = self._result(item.command, answer)
                continue
            st = self.stat(item.path)
            if not st.exists:
                b.files[item.path] = FileEntry(st, "missing")
            elif st.is_dir:
                b.files[item.path] = FileEntry(st, "dir")
            else:
                b.files[item.path] = FileEntry(st, "ok", self.files[item.path])
        return b

    def _is_dir(self, path: str) -> bool:
        p = path.rstrip("/") or "/"
        if p == "/" or p in self.dirs:
            return True
        prefix = p + "/"
        return any(f.startswith(prefix) for f in self.files) or any(d.startswith(prefix) for d in self.dirs)

    def stat(self, path: str) -> FileStat:
        self._check_open()
        if path in self.files:
            owner, group = self.owners.get(path, ("root", "root"))
            return FileStat(path, True, False, self.modes.get(path, 0o644), owner or "root",
                            group or owner or "root")
        if self._is_dir(path):
            return FileStat(path, True, True, 0o755, "root", "root")
        return FileStat(path, False)

    def write_file(self, path: str, data: bytes, *, mode: int = 0o644, owner: str | None = None,
                   group: str | None = None, backup: bool = True) -> WriteResult:
        self._check_open()
        if not path.startswith("/"):
            raise TransportError(f"{self.spec.name}: write_file needs an absolute path, not {path!r}")
        saved = None
        if backup and path in self.files:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            saved = f"{BACKUP_ROOT}/{stamp}{path}"
            while saved in self.files:       # same second: like the real one, .1, .2, ...
                self._stamp_n += 1
                saved = f"{BACKUP_ROOT}/{stamp}.{self._stamp_n}{path}"
            self.files[saved] = self.files[path]
        if owner is None and group is None and path in self.owners:
            owner, group = self.owners[path]
        self.files[path] = bytes(data)
        self.modes[path] = mode
        self.owners[path] = (owner, group)
        self.dirs.add(posixpath.dirname(path))
        self.writes.append(FakeWrite(path, bytes(data), mode, owner, group, saved))
        return WriteResult(path=path, backup=saved)

    def interrupt(self) -> None:
        """Nothing runs in the background here: commands finish before run() returns."""

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise TransportError(f"{self.spec.name}: connection closed")
