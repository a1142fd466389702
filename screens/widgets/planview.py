"""The preview of a plan: commands, file diffs, no-ops and checklists, syntax-highlighted.

Everything shown comes from the action objects' masked forms (`Command.display`,
`FileChange.diff()`, `render()`), so no secret reaches the screen.
"""
from __future__ import annotations

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from wizard.i18n import _, ngettext

THEME = "ansi_dark"
NOTE = "ℹ"          # a section's note: something to know, not something wrong


def _syntax(code: str, lexer: str) -> Syntax:
    return Syntax(code.rstrip("\n"), lexer, theme=THEME, background_color="default",
                  word_wrap=True, indent_guides=False)


def render_action(action) -> list[RenderableType]:
    """One action as renderables (masked)."""
    from wizard.plan import Checklist, Command, FileChange, HttpRequest, NoOp

    if isinstance(action, Command):
        tag = "" if action.changes else "  " + _("(read-only check)")
        return [Text.assemble(("• ", "bold"), action.description, (tag, "dim")),
                _syntax(f"$ {action.display}", "bash")]
    if isinstance(action, FileChange):
        head, _sep, diff = action.render().partition("\n")
        out: list[RenderableType] = [Text.assemble(("• ", "bold"), action.description),
                                     Text("  " + head, style="italic")]
        if action.base_unknown:
            note, _sep, diff = diff.partition("\n")
            out.append(Text(note, style="dim"))
        out.append(_syntax(diff or _("(no textual change: mode/owner only)"), "diff"))
        return out
    if isinstance(action, NoOp):
        return [Text.assemble(("= ", "green bold"), (action.description, "green"))]
    if isinstance(action, Checklist):
        table = Table(title=action.description, title_justify="left", show_header=True,
                      header_style="bold", expand=False)
        table.add_column(_("setting"))
        table.add_column(_("value"))
        lines = action.render().splitlines()[1:]
        for (k, _value), line in zip(action.items, lines):
            table.add_row(k, line.strip()[len(k):].strip())
        return [Text.assemble(("☐ ", "yellow bold"), _("set by hand in the portal UI")), table]
    if isinstance(action, HttpRequest):
        return [Text.assemble(("• ", "bold"), action.description), _syntax(action.render(), "http")]
    return [Text(str(action))]


def render_section(section) -> RenderableType:
    """A SectionPlan: notes, then per host its actions."""
    parts: list[RenderableType] = [Text(section.title, style="bold underline")]
    for note in section.notes:          # information, calmer than a problem ("! …", red)
        parts.append(Text.assemble((f"{NOTE} ", "bold cyan"), note))
    for hp in section.hosts:
        parts.append(Text(f"── {hp.host}", style="bold cyan"))
        for a in hp.actions:
            parts.extend(render_action(a))
    if not section.hosts and not section.notes:
        parts.append(Text(_("nothing to do here"), style="dim"))
    return Group(*parts)


def render_plan(plan, sections: list[str] | None = None) -> RenderableType:
    """Several sections (all by default), with the count of changing actions."""
    chosen = [s for s in plan.sections if sections is None or s.name in sections]
    parts: list[RenderableType] = []
    for s in chosen:
        parts += [render_section(s), Text("")]
    n = sum(1 for s in chosen for hp in s.hosts for a in hp.actions if a.changes)
    parts.append(Text(ngettext("{n} changing action.", "{n} changing actions.", n).format(n=n) if n else
                      _("Nothing to change: every step is already done."), style="bold"))
    return Group(*parts)


class PlanView(VerticalScroll, can_focus=True):
    """A scrollable preview."""

    DEFAULT_CSS = """
    PlanView { height: auto; max-height: 100%; border: round $secondary; padding: 0 1; }
    PlanView:focus { border: round $accent; }
    PlanView > Static { width: 100%; }
    """

    def compose(self):
        yield Static(Text(_("Press F5 to preview."), style="dim"), id="plan-body")

    def show(self, renderable: RenderableType) -> None:
        if isinstance(renderable, str):
            renderable = Text(renderable)
        self.query_one("#plan-body", Static).update(renderable)
        self.scroll_home(animate=False)
