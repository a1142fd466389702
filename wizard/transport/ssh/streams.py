"""Per-stream output handling: incremental UTF-8 decoding and line splitting (_LineSink),
the sudo prompt gate on a pty (_SudoGate) and a command's raw outcome (_Raw)."""
from __future__ import annotations

import codecs
import logging
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


class _LineSink:
    """Incremental decoding and line splitting of one stream; calls on_output per line."""

    def __init__(self, stream: str, on_output: OutputCallback | None, pty: bool,
                 drop: Callable[[str], bool] | None = None):
        self.stream, self.on_output, self.pty, self.drop = stream, on_output, pty, drop
        self.dec = codecs.getincrementaldecoder("utf-8")("replace")
        self.buf = ""
        self.parts: list[str] = []

    def feed(self, data: bytes, final: bool = False) -> None:
        self.buf += self.dec.decode(data, final)
        while True:
            i = self.buf.find("\n")
            if i < 0:
                break
            line, self.buf = self.buf[:i], self.buf[i + 1:]
            self._emit(line, True)
        if final and self.buf:
            line, self.buf = self.buf, ""
            self._emit(line, False)

    def _emit(self, line: str, newline: bool) -> None:
        if self.pty and line.endswith("\r"):
            line = line[:-1]
        if self.drop is not None and self.drop(line):
            return
        self.parts.append(line + ("\n" if newline else ""))
        if self.on_output is not None:
            try:
                self.on_output(self.stream, mask(line))
            except Exception:  # a broken display must not break the install
                log.exception("on_output callback failed")

    @property
    def text(self) -> str:
        return "".join(self.parts)


class _SudoGate:
    """Watches a sudo pty's output until the command starts: answers the password prompt
    once, refuses a second prompt, drops sudo's own chatter."""

    def __init__(self, marker: str, begin: str, send_password: Callable[[], None]):
        self.marker, self.begin = marker.encode(), begin.encode()
        self.send_password = send_password
        self.pre = b""
        self.begun = False
        self.prompts = 0

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
                self.pre = self.pre[:i]
                self.begun = True
                return rest
        return b""

    @property
    def chatter(self) -> str:
        return self.pre.decode("utf-8", "replace").replace("\r\n", "\n").strip("\r\n")


