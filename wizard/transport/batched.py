"""A transport for planning that answers reads from a host's batch (wizard.batch).

`stat`, `read_file` and `run` of a check the batch holds are answered from it: no round trip.
Anything else still works (the real transport is asked) and is counted in `misses`, so a test
can insist that the sample sites need none. Writes never happen while planning; they, and
every other attribute, go to the real transport.
"""
from __future__ import annotations

import logging
import threading

from ..batch import Batch
from .base import CommandResult, FileStat

log = logging.getLogger("wizard.transport")


class BatchedTransport:
    """The real transport `t`, its reads served from `batch`."""

    def __init__(self, t, batch: Batch):
        self._real = t
        self.batch = batch
        self.spec = t.spec
        self.training = getattr(t, "training", False)
        self.misses: list[str] = []          # reads the batch could not answer
        self.checks: list[str] = []          # commands given input (bash -n): never batched
        self.detect_round_trips = batch.round_trips
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._real, name)

    @property
    def real(self):
        return self._real

    def _miss(self, what: str, bucket: list[str] | None = None) -> None:
        with self._lock:
            (self.misses if bucket is None else bucket).append(what)
        if bucket is None:
            log.debug("%s: not in the batch, read from the host: %s", self.spec.name, what)

    def stat(self, path: str) -> FileStat:
        entry = self.batch.files.get(path)
        if entry is not None:
            return entry.stat
        self._miss(f"stat {path}")
        return self._real.stat(path)

    def read_file(self, path: str, *, sudo: bool = False) -> bytes | None:
        entry = self.batch.files.get(path)
        if entry is not None:
            if entry.state == "missing":
                return None
            if entry.state == "ok":
                return entry.content
        self._miss(f"read {path}" + (f" ({entry.state})" if entry is not None else ""))
        return self._real.read_file(path, sudo=sudo)

    def run(self, command: str, *, sudo: bool = False, stdin: bytes | None = None,
            timeout: float | None = None, on_output=None, display: str | None = None) -> CommandResult:
        if stdin is None:
            res = self.batch.commands.get((command, sudo))
            if res is not None:
                if on_output is not None:
                    for line in res.stdout.splitlines():
                        on_output("out", line)
                return res
            self._miss(f"run {display or command}")
        else:
            self._miss(f"check {display or command}", self.checks)
        return self._real.run(command, sudo=sudo, stdin=stdin, timeout=timeout,
                              on_output=on_output, display=display)
