"""Render a plan as the text the engineer reads before anything runs."""
from __future__ import annotations

from . import masking
from .plan import Command, FileChange, HttpRequest, Plan

TRAINING_BANNER = "TRAINING MODE: simulated CentOS 7 host in memory; nothing here touches a real server"


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
    if plan.training:
        out += [f"*** {TRAINING_BANNER} ***", ""]
    if facts and plan.facts:
        out.append("== Detected")
        for host, f in plan.facts.items():
            out.append(f"-- {host}")
            out += [f"   {line}" for line in f.summary()]
        out.append("")
    for section in plan.sections:
        out.append(f"== {section.title}")
        for note in section.notes:
            out.append(f"!! {note}")
        for hp in section.hosts:
            out.append(f"-- {hp.host}")
            for a in hp.actions:
                tag = "" if a.changes or not isinstance(a, Command) else "  (read-only check)"
                text = a.render()
                lines = text.splitlines() or [""]
                first = f"   {a.description}{tag}" if isinstance(a, (Command, FileChange, HttpRequest)) else None
                if first:
                    out.append(first)
                for line in lines:
                    out.append("     " + (_colour(line) if colour and isinstance(a, FileChange) else line))
        out.append("")
    n = plan.changing_count
    out.append(f"{n} changing action{'s' if n != 1 else ''}." if n else
               "Nothing to change: every step is already done.")
    return masking.mask("\n".join(out))
