"""Plain events the runner emits; the CLI prints them, the TUI wraps them in messages."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """Base: every event names the host it concerns ("" for the whole run)."""

    host: str


@dataclass(frozen=True)
class RunStarted(Event):
    total: int                       # changing actions to run


@dataclass(frozen=True)
class SectionStarted(Event):
    section: str
    title: str


@dataclass(frozen=True)
class StepStarted(Event):
    section: str
    description: str
    display: str                     # masked command or "write PATH"
    index: int                       # 1-based among the run's changing actions
    total: int


@dataclass(frozen=True)
class OutputLine(Event):
    stream: str                      # "out" | "err"
    line: str                        # masked


@dataclass(frozen=True)
class FileWritten(Event):
    path: str
    backup: str | None


@dataclass(frozen=True)
class StepSkipped(Event):
    section: str
    description: str
    reason: str


@dataclass(frozen=True)
class StepDone(Event):
    section: str
    description: str
    duration_s: float


@dataclass(frozen=True)
class StepFailed(Event):
    section: str
    description: str
    display: str                     # the masked command (or file) that failed
    exit_code: int | None
    tail: str                        # last lines of output, masked
    reason: str


@dataclass(frozen=True)
class RunFinished(Event):
    ok: bool
    done: int
    failed_hosts: tuple[str, ...]
