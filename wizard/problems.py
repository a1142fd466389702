"""Problems of the answers as the faces show them (key path + text), and the section names
a command line may use: parsed from the loader's messages, so there is one source."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import EXIT_USAGE, AnswersError, WizardError


# how an answers problem names its key: "SOURCE[:LINE]: KEY: PROBLEM"
_PROBLEM = re.compile(r"^(?P<src>.*?)(?::(?P<line>\d+))?: (?P<key>[A-Za-z_][\w.\-\[\]\"' ]*?): (?P<text>.*)$",
                      re.S)


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
    """The structured problems of an AnswersError (its messages name source, line and key)."""
    out = []
    for p in error.problems:
        text = p[len(source):] if p.startswith(source) else p
        m = _PROBLEM.match("X" + text)
        out.append(Problem(m["key"], m["text"]) if m else Problem("", p))
    return out


def section_names() -> list[str]:
    from .steps import ORDER
    return list(ORDER)


def check_sections(names, what: str) -> None:
    """Unknown section names (a typo in --only / sections.skip) are refused with the list."""
    valid = section_names()
    bad = [n for n in names if n not in valid]
    if bad:
        raise UsageError(f"{what} {bad[0]}: no such section; the sections are: {', '.join(valid)}")


class UsageError(WizardError):
    """A bad command-line value (exit code 2)."""

    exit_code = EXIT_USAGE
