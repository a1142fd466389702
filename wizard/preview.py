"""Render a plan as the text the engineer reads before anything runs.

Every line is made safe for a terminal (wizard.termsafe) before the diff colours are
added, so the only escape sequences in the output are those colours. Secret-bearing
actions render their shown (masked) form by construction (wizard.secret_text); the
process-wide masking registry is not applied here, so a short password such as `root`
is masked where it is used and nowhere else.
"""
from __future__ import annotations

from .plan import Command, FileChange, HttpRequest, Plan
from .steps import host_label
from .termsafe import safe
from .i18n import N_, _, ngettext

TRAINING_BANNER = N_("TRAINING MODE: simulated host in memory; nothing here touches a real server")


def _colour(line: str) -> str:
    if line.startswith("+") and not line.startswith("+++"):
        return f"\x1b[32m{line}\x1b[0m"
    if line.startswith("-") and not line.startswith("---"):
        return f"\x1b[31m{line}\x1b[0m"
    if line.startswith("@@"):
        return f"\x1b[36m{line}\x1b[0m"
    return line


def render(plan: Plan, *, colour: bool = False, facts: bool = True) -> str:
    """The full preview: facts per host, then each section's actions per host."""
    out: list[str] = []

    def add(line: str) -> None:
        out.extend(safe(line).split("\n"))

    if plan.training:
        add(f"*** {_(TRAINING_BANNER)} ***")
        add("")
    if facts and plan.facts:
        add("== " + _("Detected"))
        for host, f in plan.facts.items():
            add(f"-- {host}")
            for line in f.summary():
                add(f"   {line}")
        add("")
    for section in plan.sections:
        add(f"== {section.title}")
        for note in section.notes:
            add(f"!! {note}")
        for hp in section.hosts:
            add(f"-- {host_label(hp.host)}")
            for a in hp.actions:
                tag = "" if a.changes or not isinstance(a, Command) else "  " + _("(read-only check)")
                lines = a.render().split("\n")
                if lines[-1:] == [""] and len(lines) > 1:
                    lines.pop()
                if isinstance(a, (Command, FileChange, HttpRequest)):
                    add(f"   {a.description}{tag}")
                for line in lines:
                    if isinstance(a, FileChange):   # coloured only once it is safe, one line each
                        shown = safe(line, keep="\t")
                        out.append("     " + (_colour(shown) if colour else shown))
                    else:
                        add("     " + line)
        add("")
    n = plan.changing_count
    add(ngettext("{n} changing action.", "{n} changing actions.", n).format(n=n) if n else
        _("Nothing to change: every step is already done."))
    return "\n".join(out)
