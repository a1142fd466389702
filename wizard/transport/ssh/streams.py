"""Per-stream output handling: incremental UTF-8 decoding and line splitting (_LineSink),
the sudo prompt gate on a pty (_SudoGate) and a command's raw outcome (_Raw)."""
from __future__ import annotations

import codecs
import logging
from collections import deque
from dataclasses import dataclass
from typing import Callable

from wizard.masking import mask
from wizard.transport.base import OutputCallback
from wizard.transport.ssh.errors import _Refused

log = logging.getLogger("wizard.transport")


@dataclass
class _Raw:
    """A command's unmasked outcome (internal; run() masks it)."""

    exit_code: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    chatter: str = ""                    # sudo's own output before the command started
    interrupted: bool = False            # Ctrl-C or interrupt(): stopped on the host


class _LineSink:
    """Incremental decoding and line splitting of one stream; calls on_output per line.

    Linear and bounded: newlines are searched only in the new data; a line longer than
    LINE_CAP characters is passed on (and kept) cut, with "… [N more characters]"; of the
    whole output only the last `keep` characters are kept for CommandResult (the failure
    report's tail, the log), with a first line saying how much was left out (keep=None:
    everything, for output the transport parses itself)."""

    LINE_CAP = 64 * 1024
    KEEP = 8 * 1024 * 1024
    _SLACK = 1024            # kept beyond LINE_CAP so that a secret at the cut is masked whole

    def __init__(self, stream: str, on_output: OutputCallback | None, pty: bool,
                 drop: Callable[[str], bool] | None = None, keep: int | None = KEEP):
        self.stream, self.on_output, self.pty, self.drop = stream, on_output, pty, drop
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.keep = keep
        self._line: list[str] = []           # the current line's pieces
        self._line_len = 0                   # characters in _line
        self._over = 0                       # characters of the current line not stored
        self._kept: deque[str] = deque()
        self._kept_len = 0
        self.dropped = 0                     # characters of output not kept (keep)

    def feed(self, data: bytes, final: bool = False) -> None:
        text = self.dec.decode(data, final)
        start = 0
        find = text.find
        while True:
            i = find("\n", start)
            if i < 0:
                break
            self._add(text[start:i])
            self._end(True)
            start = i + 1
        if start < len(text):
            self._add(text[start:])
        if final and (self._line_len or self._over):
            self._end(False)

    def _add(self, piece: str) -> None:
        room = self.LINE_CAP + self._SLACK - self._line_len
        if len(piece) > room:
            self._over += len(piece) - max(room, 0)
            piece = piece[:max(room, 0)]
        if piece:
            self._line.append(piece)
            self._line_len += len(piece)

    def _end(self, newline: bool) -> None:
        line = self._line[0] if len(self._line) == 1 else "".join(self._line)
        over = self._over
        self._line, self._line_len, self._over = [], 0, 0
        if self.pty and not over and line.endswith("\r"):
            line = line[:-1]
        if self.drop is not None and self.drop(line):
            return
        shown = mask(line)
        if over or len(shown) > self.LINE_CAP:
            more = over + max(len(line) - self.LINE_CAP, 0)
            shown = f"{shown[:self.LINE_CAP]} … [{more} more characters]"
            line = shown
        self._store(line + ("\n" if newline else ""))
        if self.on_output is not None:
            try:
                self.on_output(self.stream, shown)
            except Exception:  # a broken display must not break the install
                log.exception("on_output callback failed")

    def _store(self, text: str) -> None:
        self._kept.append(text)
        self._kept_len += len(text)
        if self.keep is None:
            return
        while self._kept_len > self.keep and len(self._kept) > 1:
            old = self._kept.popleft()
            self._kept_len -= len(old)
            self.dropped += len(old)

    @property
    def text(self) -> str:
        body = "".join(self._kept)
        if self.dropped:
            return f"[… {self.dropped} earlier characters of output not kept …]\n" + body
        return body


class _SudoGate:
    """Watches a sudo pty's output until the command starts: answers the password prompt
    once, refuses a second prompt, drops sudo's own chatter."""

    def __init__(self, marker: str, begin: str, send_password: Callable[[], None]):
        self.marker, self.begin = marker.encode(), begin.encode()
        self.send_password = send_password
        self.pre = b""
        self.begun = False
        self.prompts = 0
        self.pid: int | None = None          # the root shell's pid, printed after `begin`

    def feed(self, data: bytes) -> bytes:
        """Bytes that belong to the command (empty while sudo is still talking)."""
        if self.begun:
            return data
        self.pre += data
        while True:
            i = self.pre.find(self.marker)
            if i < 0:
                break
            self.pre = self.pre[:i] + self.pre[i + len(self.marker):]
            self.prompts += 1
            if self.prompts > 1:
                raise _Refused()
            self.send_password()
        i = self.pre.find(self.begin)
        if i >= 0:
            nl = self.pre.find(b"\n", i)
            if nl >= 0:
                rest = self.pre[nl + 1:]
                word = self.pre[i + len(self.begin):nl].strip()
                self.pid = int(word) if word.isdigit() else None
                self.pre = self.pre[:i]
                self.begun = True
                return rest
        return b""

    @property
    def chatter(self) -> str:
        return self.pre.decode("utf-8", "replace").replace("\r\n", "\n").strip("\r\n")


