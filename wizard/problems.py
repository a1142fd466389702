"""Problems of the answers as the faces show them (key path + text), and the section names
a command line may use. The loader hands its problems over structured (AnswersProblem:
file, line, key, text), so nothing here parses its messages, which are translated."""
from __future__ import annotations

from dataclasses import dataclass

from .errors import EXIT_USAGE, AnswersError, AnswersProblem, WizardError
from .i18n import _


@dataclass(frozen=True)
class Problem:
    """One problem of the answers: the key path it is about ("" for the whole file) and what."""

    key: str
    text: str

    @property
    def section(self) -> str:
        """The answers' top-level key the problem belongs to (inventory, portal, java, …)."""
        return self.key.split(".", 1)[0].split("[", 1)[0] if self.key else ""

    def __str__(self) -> str:
        return f"{self.key}: {self.text}" if self.key else self.text


def problems_of(error: AnswersError, source: str) -> list[Problem]:
    """The problems of an AnswersError as key path + text (a message without structure, e.g.
    raised by a step, is about the whole file)."""
    out = []
    for p in error.items:
        if isinstance(p, AnswersProblem):
            out.append(Problem(p.key, p.text))
        else:
            text = p[len(source):].removeprefix(": ") if p.startswith(source + ":") else p
            out.append(Problem("", text))
    return out


def section_names() -> list[str]:
    from .steps import ORDER
    return list(ORDER)


def check_sections(names, what: str) -> None:
    """Unknown section names (a typo in --only / sections.skip) are refused with the list."""
    valid = section_names()
    bad = [n for n in names if n not in valid]
    if bad:
        raise UsageError(_("{option} {name}: no such section; the sections are: {sections}").format(
            option=what, name=bad[0], sections=", ".join(valid)))


class UsageError(WizardError):
    """A bad command-line value (exit code 2)."""

    exit_code = EXIT_USAGE
