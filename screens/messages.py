"""Messages the workers post to the screens, named for what happened.

Runner events are plain dataclasses from wizard.events; the run screen wraps each
in the message of the same meaning.
"""
from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class PageLeft:
    """What a screen returns with dismiss(): its slice of the answers and where to go."""

    page: str
    data: object                  # the slice (None: the page holds no answers)
    goto: str | None


class ConnectionTested(Message):
    """A host's connection test finished."""

    def __init__(self, host: str, ok: bool, text: str) -> None:
        super().__init__()
        self.host, self.ok, self.text = host, ok, text


class HostsDetected(Message):
    """Detection finished: facts per host and the portal version in use."""

    def __init__(self, facts: dict, portal, errors: dict | None = None) -> None:
        super().__init__()
        self.facts, self.portal, self.errors = facts, portal, dict(errors or {})


class PlanBuilt(Message):
    """A plan (or a preview of some sections of it) is ready."""

    def __init__(self, plan, sections: list[str] | None, resume: list[str] | None = None) -> None:
        super().__init__()
        self.plan, self.sections, self.resume = plan, sections, list(resume or ())


class WorkFailed(Message):
    """Connecting, detecting or planning stopped with a message for the engineer."""

    def __init__(self, what: str, text: str) -> None:
        super().__init__()
        self.what, self.text = what, text


class RunEventHappened(Message):
    """Base of the runner's events as messages; `.event` is the wizard.events dataclass."""

    def __init__(self, event) -> None:
        super().__init__()
        self.event = event


class SectionStarted(RunEventHappened):
    """The runner began a section."""


class StepStarted(RunEventHappened):
    """A command or file write began on a host."""


class FileWritten(RunEventHappened):
    """A file was replaced (with its backup path)."""


class StepSkipped(RunEventHappened):
    """A step was skipped (done in an interrupted run, per the journal)."""


class StepFinished(RunEventHappened):
    """A step succeeded."""


class StepFailed(RunEventHappened):
    """A step failed: the command, exit code and output tail are in the event."""


class RunFinished(Message):
    """The runner returned (or raised: `error`)."""

    def __init__(self, result, error: str | None = None) -> None:
        super().__init__()
        self.result, self.error = result, error


def wrap(event) -> RunEventHappened | None:
    """The message for a runner event (None for events shown another way)."""
    from wizard import events as ev
    kind = {ev.SectionStarted: SectionStarted, ev.StepStarted: StepStarted, ev.FileWritten: FileWritten,
            ev.StepSkipped: StepSkipped, ev.StepDone: StepFinished, ev.StepFailed: StepFailed}.get(type(event))
    return kind(event) if kind else None
