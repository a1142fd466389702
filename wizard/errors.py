"""Errors the wizard reports to a person, each with the exit code the CLI returns."""
from __future__ import annotations

from dataclasses import dataclass

# Documented in README.md ("Exit codes"); keep both in step.
EXIT_OK = 0
EXIT_USAGE = 2          # bad command line
EXIT_ANSWERS = 3        # the answers file (or a file it names) is invalid
EXIT_CONNECT = 4        # cannot connect, authenticate, or the host key is unknown/changed
EXIT_STEP = 5           # a step failed on a host; nothing after it ran
EXIT_DECLINED = 6       # the engineer answered no at the confirmation prompt
EXIT_SECRETS = 7        # a secret is missing from the keyring, or no keyring is usable
EXIT_PLAN = 8           # the host holds something the plan cannot handle (bad site file)
EXIT_VERIFY = 9         # `verify` found that something does not work (each failed check says why)
EXIT_INTERNAL = 70     # an unexpected error (a bug): the traceback is in the log file


class WizardError(Exception):
    """Base class: a message for a person, never a traceback."""

    exit_code = EXIT_STEP


@dataclass(frozen=True)
class AnswersProblem:
    """One problem of an answers file: where (file, line, column, key path) and what, kept
    apart so that no one has to parse the message (which is in the engineer's language)."""

    source: str
    line: int | None
    key: str                    # key path ("inventory.hosts.chat1.port"), "" for the whole file
    text: str                   # the problem, translated and masked
    column: int | None = None

    def __str__(self) -> str:
        where = self.source + "".join(f":{n}" for n in (self.line, self.column) if n)
        return f"{where}: {self.key}: {self.text}" if self.key else f"{where}: {self.text}"


class AnswersError(WizardError):
    """The answers file is invalid; carries one message per problem (`problems`: the lines as
    shown; `items`: the same as AnswersProblem where the loader knew the structure)."""

    exit_code = EXIT_ANSWERS

    def __init__(self, problems: "list[str | AnswersProblem] | str | AnswersProblem"):
        self.items = [problems] if isinstance(problems, (str, AnswersProblem)) else list(problems)
        self.problems = [str(p) for p in self.items]
        super().__init__("\n".join(self.problems))


class ConnectError(WizardError):
    """A host cannot be reached, refuses our login, or shows a host key we do not trust."""

    exit_code = EXIT_CONNECT


class HostKeyError(ConnectError):
    """The host key is unknown (needs an explicit yes) or changed (refused)."""

    def __init__(self, message: str, *, host: str, fingerprint: str, changed: bool):
        super().__init__(message)
        self.host, self.fingerprint, self.changed = host, fingerprint, changed


class SecretError(WizardError):
    """A secret the answers refer to is not in the keyring, or no keyring can be used."""

    exit_code = EXIT_SECRETS


class PlanError(WizardError):
    """Something on a host (a site file, a missing folder) stops the plan; names host and file."""

    exit_code = EXIT_PLAN


class StepFailed(WizardError):
    """A command or file change failed while applying; nothing after it ran on that host."""

    exit_code = EXIT_STEP
